import Foundation
import RiftChecker
import RiftCore
import RiftHistory

/// `rift report`: report.html from any history. A run folder (history.jsonl, and result.json
/// when there) gets its scenario's checks again, with the bounds the run used; a bare history,
/// in any format `rift check` reads, gets the checks `rift check` runs by default.
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
        var result = RunResult(
            scenario: paired.metadata["scenario"]?.stringValue ?? (historyPath as NSString).lastPathComponent,
            seed: paired.metadata["seed"]?.intValue.map { UInt64(bitPattern: $0) } ?? 0,
            directory: isDirectory.boolValue ? path : (historyPath as NSString).deletingLastPathComponent,
            outcomes: [], stats: stats(paired), interrupted: false)
        let resultPath = isDirectory.boolValue ? path + "/result.json" : ""
        var fromRun = false
        if isDirectory.boolValue, let data = FileManager.default.contents(atPath: resultPath) {
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw Failure(message: "\(resultPath): not a JSON object")
            }
            result.interrupted = json["interrupted"] as? Bool ?? false
            result.outcomes = try runChecks(json["checks"] as? [[String: Any]] ?? [], paired, file: resultPath)
            fromRun = true
        } else {
            result.outcomes = defaultChecks(paired)
        }
        result.latency = LatencyChecker.perNode(paired.operations)
        let topology = Topology(name: paired.metadata["topology"]?.stringValue ?? "-", nodes: nodes(paired).map { Topology.Node(name: $0) })
        return Built(html: HTMLReport.render(result, history: paired, topology: topology), verdict: result.verdict,
                     historyPath: historyPath, fromRunResult: fromRun)
    }

    static func stats(_ history: PairedHistory) -> RegisterWorkload.Stats {
        var s = RegisterWorkload.Stats()
        for op in history.operations {
            switch op.status {
            case .ok: s.ok += 1
            case .fail: s.fail += 1
            case .info: s.info += 1
            }
        }
        return s
    }

    /// The nodes that answered, in natural order (n2 before n10).
    static func nodes(_ history: PairedHistory) -> [String] {
        Set(history.operations.compactMap(\.node)).sorted { $0.count != $1.count ? $0.count < $1.count : $0 < $1 }
    }

    /// What `rift check` runs with no check named: every check the history supports, each as
    /// its own outcome.
    static func defaultChecks(_ history: PairedHistory) -> [CheckOutcome] {
        let report: CheckReport
        do { report = try Checker.check(history, CheckOptions()) } catch {
            return [CheckOutcome(spec: CheckSpec(name: "checks", kind: .linearizability), report: nil, error: "\(error)")]
        }
        return report.checks.map { c in
            var one = report
            one.checks = [c]
            one.verdict = c.verdict
            return CheckOutcome(spec: CheckSpec(name: c.kind.rawValue, kind: c.kind), report: one)
        }
    }

    /// The run's checks again, from result.json's `checks` (bounds as the run scaled them).
    static func runChecks(_ entries: [[String: Any]], _ history: PairedHistory, file: String) throws(Failure) -> [CheckOutcome] {
        let readNodes = Array(Set(history.operations.filter { $0.f == .read }.compactMap(\.node))).sorted()
        var outcomes: [CheckOutcome] = []
        for (i, e) in entries.enumerated() {
            guard let kindText = e["check"] as? String, let kind = CheckKind(rawValue: kindText) else {
                throw Failure(message: "\(file): checks[\(i)].check: missing or unknown check")
            }
            func ns(_ k: String) -> Int64? { (e[k] as? NSNumber)?.int64Value }
            var spec = CheckSpec(name: e["name"] as? String ?? kindText, kind: kind, from: e["from"] as? String, until: e["until"] as? String,
                                 maxStalenessNs: ns("max_staleness_ns"), maxVersionsBehind: ns("max_versions_behind").map { Int($0) },
                                 convergeWithinNs: ns("converge_within_ns"))
            spec.latencyNode = e["node"] as? String
            spec.minP99Ns = ns("min_p99_ns")
            spec.othersMaxP99Ns = ns("others_max_p99_ns")
            spec.othersMaxP50Ns = ns("others_max_p50_ns")
            if let v = e["initial_value"] as? String { spec.initialValue = .string(v) } else if let v = ns("initial_value") { spec.initialValue = .int(v) }
            do {
                let report = try Checker.check(history, try spec.options(scale: 1))
                outcomes.append(CheckOutcome(spec: spec, report: ScenarioRunner.requireReads(report, kind, nodes: readNodes)))
            } catch {
                outcomes.append(CheckOutcome(spec: spec, report: nil, error: "\(error)"))
            }
        }
        return outcomes
    }
}
