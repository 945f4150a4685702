import ArgumentParser
import Foundation
import Rift

@main
struct RiftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rift",
        abstract: "Chaos-injection fault proxy and history checker for cache fleets.",
        discussion: """
            Examples:
              rift server --config proxies.yaml     run fault proxies in front of real servers
              rift check history.jsonl              check what clients saw (linearizability, staleness, sessions)
              rift run faults/replica-partition.yaml  a real fleet, a workload, a fault timeline, a verdict
            """,
        subcommands: [
            ServerCommand.self,
            CheckCommand.self,
            RunCommand.self,
        ]
    )

    /// Bad input exits 2 with one line on stderr, as the whole CLI promises.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CLIFailure {
            FileHandle.standardError.write(Data("rift: \(failure.description)\n".utf8))
            Foundation.exit(failure.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure || code.rawValue == 64 {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
