import Foundation
import RiftTestSupport
import Testing

/// Every command's help as an 80-column terminal shows it (ArgumentParser's width when stdout
/// is not a terminal; lines of at most 79 characters): each has examples, and no example line
/// is wrapped, since a command cut in two cannot be pasted; prose is one paragraph per source
/// paragraph, wrapped by the parser, not broken again after a hard line break.
@Suite struct HelpTextTests {
    static let commands: [[String]] = [
        [], ["server"], ["proxy"], ["proxy", "add"], ["fault"], ["fault", "add"], ["partition"], ["heal"], ["reset"],
        ["status"], ["check"], ["run"], ["compare"], ["record"], ["report"],
    ]

    @Test(arguments: commands)
    func examplesFitEightyColumns(_ command: [String]) throws {
        let help = try RiftExecutable.run(command + ["--help"])
        #expect(help.status == 0, "\(command): \(help.stderr)")
        let lines = help.stdout.components(separatedBy: "\n")
        let usage = lines.firstIndex { $0.hasPrefix("USAGE:") } ?? lines.count
        let text = Array(lines[..<usage])
        #expect(text.contains { $0.hasPrefix("Example") }, "\(command): no examples")
        // Inside an example block every line is indented (a command, its continuation or a
        // comment); a line at column 0 there is the tail of a wrapped command.
        var inExamples = false
        for line in text {
            if line.hasPrefix("Example") { inExamples = true; continue }
            if line.isEmpty { inExamples = false; continue }
            if inExamples { #expect(line.hasPrefix("  "), "\(command): a wrapped example line: '\(line)'") }
        }
        // A hard break inside a paragraph shows as a line far shorter than the width followed
        // by more of the same paragraph.
        for (a, b) in zip(text, text.dropFirst()) where !a.hasPrefix(" ") && !b.hasPrefix(" ") && !a.isEmpty && !b.isEmpty {
            let firstWord = b.split(separator: " ").first.map(String.init) ?? ""
            #expect(a.count + 1 + firstWord.count >= 80 || a.hasSuffix(":") || a.hasPrefix("OVERVIEW"),
                    "\(command): '\(a)' is broken before '\(firstWord)', which fits on its line")
        }
    }
}
