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
              # fault proxies in front of real servers, driven like Toxiproxy's
              rift server --config proxies.yaml
              rift fault add redis-n1 latency latency=100ms --for 30s
              rift partition n1 --from n2,n3 --for 10s
              rift status
              # what clients saw: linearizability, staleness, sessions
              rift check history.jsonl
              # a real fleet, a workload, a fault timeline, a verdict
              rift run faults/replica-partition.yaml
              # variants side by side
              rift compare faults/outage-miss-storm.yaml \\
                --vary workload.cap_origin_concurrency=none,100
              # traffic as a history
              rift record --interface lo --port 6379 --duration 30s -o history.jsonl
              # the HTML report of a run or of any history
              rift report runs/<run> -o report.html
            """,
        subcommands: [
            ServerCommand.self,
            ProxyCommand.self,
            FaultCommand.self,
            PartitionCommand.self,
            HealCommand.self,
            ResetCommand.self,
            StatusCommand.self,
            CheckCommand.self,
            RunCommand.self,
            CompareCommand.self,
            RecordCommand.self,
            ReportCommand.self,
        ]
    )

    /// Bad input exits 2 with one line on stderr, as the whole CLI promises.
    static func main() async {
        // A parent (a test runner, a supervisor) may have left SIGINT/SIGTERM blocked, and
        // children inherit the mask: unblock them so that `rift server` stops when asked.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        do {
            var command = try parseAsRoot(try ToxiproxyFlags.rewrite(Array(CommandLine.arguments.dropFirst())))
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
                // One line: what is wrong, and where the help is.
                let message = message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
                FileHandle.standardError.write(Data("rift: \(message) (see rift --help, or rift COMMAND --help)\n".utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
