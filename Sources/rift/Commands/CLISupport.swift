import ArgumentParser
import Dispatch
import Foundation
import Rift

/// Errors the CLI reports on one line with exit status 2 (bad input) or 1 (failure).
enum CLIFailure: Error, CustomStringConvertible {
    case badInput(String)
    case failed(String)

    var description: String {
        switch self {
        case .badInput(let message), .failed(let message): return message
        }
    }

    var exitCode: Int32 {
        switch self {
        case .badInput: return 2
        case .failed: return 1
        }
    }
}

/// Waits for the first of some signals without letting them kill the process.
enum SignalWaiter {
    static func wait(for signals: [Int32]) async -> Int32 {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            let fired = SignalOnce(continuation)
            for number in signals {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { fired.fire(number) }
                source.resume()
                fired.keep(source)
            }
        }
    }

    private final class SignalOnce: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Int32, Never>?
        private var sources: [DispatchSourceSignal] = []
        init(_ continuation: CheckedContinuation<Int32, Never>) { self.continuation = continuation }
        func keep(_ source: DispatchSourceSignal) { lock.withLock { sources.append(source) } }
        func fire(_ number: Int32) {
            let c = lock.withLock { () -> CheckedContinuation<Int32, Never>? in
                defer { continuation = nil }
                return continuation
            }
            c?.resume(returning: number)
        }
    }
}

/// The proxies as a readable table.
enum ProxyTable {
    static func render(_ proxies: [Proxy.Snapshot]) -> String {
        var rows = [["NAME", "LISTEN", "UPSTREAM", "LINK", "STATE", "CONNS", "TOXICS"]]
        for p in proxies {
            let link = p.config.from.map { "\($0) -> \(p.config.to ?? "?")" } ?? "-"
            let state = !p.config.enabled ? "disabled" : (p.listening ? "listening" : "down")
            let toxics = (p.faults + p.partitionFaults).map { "\($0.name)(\($0.type) \($0.stream.rawValue))" }
            rows.append([p.config.name, p.listen, p.config.upstream, link, state, String(p.openConnections),
                         toxics.isEmpty ? "-" : toxics.joined(separator: ", ")])
        }
        return TextTable.render(rows)
    }
}

enum TextTable {
    /// Left-aligned columns separated by two spaces; the first row is the header.
    static func render(_ rows: [[String]]) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: width)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Writes a line to stdout unbuffered, so that progress shows at once even through a pipe.
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
