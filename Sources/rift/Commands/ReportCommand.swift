import ArgumentParser
import Foundation
import Rift
import RiftHarness

/// `rift report`: parse, call `RunReport.build`, write the file, say where.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Make report.html from a run folder or any history file.",
        discussion: """
            From a run folder (history.jsonl, result.json), exactly the run's checks are run \
            again with the bounds the run used (origin_load on the origin gauge in result.json); from a bare history (Rift JSON Lines, Jepsen/Knossos EDN, \
            Porcupine kv or etcd logs), the checks `rift check` runs by default. The report is \
            one self-contained HTML file: the verdict of each check, the fault timeline over the \
            operations per node and per process, anomalies marked and listed with their \
            operations, staleness over time and latency percentiles per node.

            Exit status: 0 when the report is written (whatever its verdict), 2 on a bad path, \
            an unreadable history or an option error.

            Examples:
              rift report runs/replica-partition-20260101-120000 -o /tmp/report.html
              rift report history.jsonl -o report.html
              rift report etcd_002.log --format porcupine-etcd -o etcd.html
            """)

    @Argument(help: "A run folder or a history file.")
    var source: String

    @Option(name: [.short, .long], help: "The HTML file to write.")
    var output: String

    @Option(help: "History format: auto, jsonl, edn, porcupine-kv, porcupine-etcd.")
    var format: String = "auto"

    func run() async throws {
        guard let historyFormat = HistoryFormat(rawValue: format) else {
            throw CLIFailure.badInput("unknown format '\(format)' (auto, jsonl, edn, porcupine-kv, porcupine-etcd)")
        }
        let built: RunReport.Built
        do { built = try RunReport.build(path: source, format: historyFormat) } catch {
            throw CLIFailure.badInput(error.description)
        }
        do {
            try built.html.write(toFile: output, atomically: true, encoding: .utf8)
        } catch {
            throw CLIFailure.badInput("\(output): cannot write the report: \(error.localizedDescription)")
        }
        for c in built.changed { say("rift report: warning: verdict differs from the run's result.json: \(c)") }
        print("report: \(output) (\(built.fromRunResult ? "the run's checks" : "default checks") on \(built.historyPath)), verdict: \(built.verdict.label)")
    }
}
