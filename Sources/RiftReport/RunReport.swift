import Foundation
import RiftChecker
import RiftCore
import RiftHistory

/// `rift report`: report.html from any history. A run folder (history.jsonl and result.json)
/// gets exactly the run's checks again, as result.json records them (bounds as the run scaled
/// them, the origin's gauge for `origin_load`); a bare history, in any format `rift check`
/// reads, gets the checks `rift check` runs by default.
public enum RunReport {
    /// Why no report could be made: the path and what is wrong with it.
    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// What the report was built from, for the CLI's message.
    public struct Built: Sendable {
        public var html: String
        public var verdict: Verdict
        public var historyPath: String
        /// The checks came from the run's result.json (else: the defaults of `rift check`).
        public var fromRunResult: Bool
        /// Checks whose verdict now differs from the one result.json recorded (a search that
        /// ran out of time on one machine and not on another), as `name: RUN -> NOW`.
        public var changed: [String]
    }

    public static func build(path: String, format: HistoryFormat = .auto) throws(Failure) -> Built {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Failure(message: "\(path): no such file or run folder")
        }
        let historyPath = isDirectory.boolValue ? path + "/history.jsonl" : path
        if isDirectory.boolValue, !FileManager.default.fileExists(atPath: historyPath) {
            throw Failure(message: "\(path): not a run folder (no history.jsonl in it)")
        }
        let paired: PairedHistory
        do throws(HistoryError) {
            paired = try HistoryReader.read(path: historyPath, format: format).paired()
        } catch {
            var e = error
            if e.file == nil { e.file = historyPath }
            throw Failure(message: e.description)
        }
        let resultPath = path + "/result.json"
        if isDirectory.boolValue, let data = FileManager.default.contents(atPath: resultPath) {
            let run: RunRecord
            do { run = try RunRecord.read(data) } catch {
                throw Failure(message: "\(resultPath): \(describe(error))")
            }
            let context = CheckContext(paired, series: run.series)
            var record = run
            record.checks = Checker.run(run.checks.map(\.spec), context)
            let changed = zip(run.checks, record.checks).filter { $0.verdict != $1.verdict }
                .map { "\($1.spec.name): \($0.verdict.label) -> \($1.verdict.label)" }
            return Built(html: HTMLReport.render(record, history: paired, staleness: context.readStaleness), verdict: record.verdict,
                         historyPath: historyPath, fromRunResult: true, changed: changed)
        }
        let context = CheckContext(paired, named: false)
        let report = Checker.check(context, CheckRegistry.defaults, window: .all)
        let record = RunRecord(
            scenario: paired.metadata["scenario"]?.stringValue ?? (historyPath as NSString).lastPathComponent,
            topology: paired.metadata["topology"]?.stringValue ?? "-",
            seed: paired.metadata["seed"]?.intValue.map { UInt64(bitPattern: $0) } ?? 0,
            operations: counts(paired), history: (historyPath as NSString).lastPathComponent,
            latencyPerNode: LatencyChecker.perNode(paired.operations), keyLoad: KeyLoad.measure(paired.operations, nodes: []),
            divergence: Divergence.measure(paired), checks: Checker.outcomes(of: report))
        return Built(html: HTMLReport.render(record, history: paired, staleness: context.readStaleness), verdict: record.verdict,
                     historyPath: historyPath, fromRunResult: false, changed: [])
    }

    static func counts(_ history: PairedHistory) -> RunRecord.OperationCounts {
        var s = RunRecord.OperationCounts()
        for op in history.operations {
            switch op.status {
            case .ok: s.ok += 1
            case .fail: s.fail += 1
            case .info: s.info += 1
            }
        }
        return s
    }

    /// A decoding error as a field path and a reason.
    static func describe(_ error: any Error) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return (p.hasPrefix(".") ? String(p.dropFirst()) : p) + ": " + c.debugDescription
        }
        switch error as? DecodingError {
        case .dataCorrupted(let c)?: return path(c)
        case .keyNotFound(let k, let c)?: return path(c) + " (missing \(k.stringValue))"
        case .typeMismatch(_, let c)?: return path(c)
        case .valueNotFound(_, let c)?: return path(c)
        default: return "\(error)"
        }
    }
}
