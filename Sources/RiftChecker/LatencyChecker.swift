import RiftHistory

/// Operation latency (completion minus invocation) per node, from the history: what a slow
/// node looks like to its clients. Only operations that completed `ok` count (a timeout's
/// latency is the client's timeout, not the node's).
public enum LatencyChecker {
    public struct Stats: Sendable, Equatable, Codable {
        enum CodingKeys: String, CodingKey {
            case operations, p50Ns = "p50_ns", p99Ns = "p99_ns", maxNs = "max_ns"
        }
        public var operations: Int
        public var p50Ns: Int64
        public var p99Ns: Int64
        public var maxNs: Int64

        public init(operations: Int, p50Ns: Int64, p99Ns: Int64, maxNs: Int64) {
            self.operations = operations
            self.p50Ns = p50Ns
            self.p99Ns = p99Ns
            self.maxNs = maxNs
        }
    }

    /// Percentiles per node of the `ok` operations invoked inside `window`.
    public static func perNode(_ ops: [HistoryOperation], window: TimeWindow = .all) -> [String: Stats] {
        var samples: [String: [Int64]] = [:]
        for op in ops where op.status == .ok && window.contains(op.invokeTime) {
            guard let node = op.node, let done = op.completeTime else { continue }
            samples[node, default: []].append(done - op.invokeTime)
        }
        return samples.mapValues { s in
            let sorted = s.sorted()
            return Stats(operations: sorted.count, p50Ns: percentile(sorted, 0.5), p99Ns: percentile(sorted, 0.99), maxNs: sorted.last!)
        }
    }

    /// The percentiles of every node's `ok` operations together, invoked inside `window`.
    public static func overall(_ ops: [HistoryOperation], window: TimeWindow = .all) -> Stats? {
        let sorted = ops.compactMap { op -> Int64? in
            guard op.status == .ok, window.contains(op.invokeTime), op.node != nil, let done = op.completeTime else { return nil }
            return done - op.invokeTime
        }.sorted()
        guard let slowest = sorted.last else { return nil }
        return Stats(operations: sorted.count, p50Ns: percentile(sorted, 0.5), p99Ns: percentile(sorted, 0.99), maxNs: slowest)
    }

    static func json(_ stats: [String: Stats]) -> HistoryValue {
        .object(stats.mapValues(json))
    }

    static func json(_ s: Stats) -> HistoryValue {
        .object(["operations": .int(Int64(s.operations)), "p50_ns": .int(s.p50Ns), "p99_ns": .int(s.p99Ns), "max_ns": .int(s.maxNs)])
    }

    /// With `node`: its p99 must be at least `minP99Ns` and every other node's p99 at most
    /// `othersMaxP99Ns`, its median at most `othersMaxP50Ns` (a spike on that node only). A
    /// cold node has few operations, so its p99 is nearly its slowest one, which a busy machine
    /// can stretch; a fault moves the median too, and one slow operation does not. `maxP50Ns`
    /// and `maxP99Ns` bound all operations together (what the clients saw, whichever node
    /// served them). Without bounds it only reports. A bound with no operation to measure is
    /// unknown, not valid.
    static func check(_ ops: [HistoryOperation], window: TimeWindow, options: LatencyCheck) -> CheckResult {
        let stats = perNode(ops, window: window)
        let all = overall(ops, window: window)
        var details: [String: HistoryValue] = ["per_node": json(stats)]
        if let all { details["overall"] = json(all) }
        if let n = options.node { details["node"] = .string(n) }
        if let b = options.minP99Ns { details["min_p99_ns"] = .int(b) }
        if let b = options.othersMaxP99Ns { details["others_max_p99_ns"] = .int(b) }
        if let b = options.othersMaxP50Ns { details["others_max_p50_ns"] = .int(b) }
        if let b = options.maxP50Ns { details["max_p50_ns"] = .int(b) }
        if let b = options.maxP99Ns { details["max_p99_ns"] = .int(b) }
        func ms(_ ns: Int64) -> String { String(Double(ns / 10_000) / 100) + " ms" }
        var table = stats.keys.sorted().map { "\($0) p50 \(ms(stats[$0]!.p50Ns)) p99 \(ms(stats[$0]!.p99Ns)) max \(ms(stats[$0]!.maxNs))" }.joined(separator: "; ")
        let boundsAll = options.maxP50Ns != nil || options.maxP99Ns != nil
        if boundsAll, let all { table = "all p50 \(ms(all.p50Ns)) p99 \(ms(all.p99Ns)); " + table }
        guard options.node != nil || boundsAll else {
            return CheckResult(kind: .latency, verdict: .valid, summary: table.isEmpty ? "no completed operations" : table, details: details)
        }
        var problems: [String] = []
        var anomalies: [Anomaly] = []
        // The five slowest ok operations in the window on `node` (on any node when nil).
        func slowest(on node: String?) -> [HistoryOperation] {
            Array(ops.filter { $0.status == .ok && window.contains($0.invokeTime) && $0.node != nil && (node == nil || $0.node == node) && $0.completeTime != nil }
                .sorted { $0.completeTime! - $0.invokeTime > $1.completeTime! - $1.invokeTime }.prefix(5))
        }
        if boundsAll {
            guard let all else {
                return CheckResult(kind: .latency, verdict: .unknown, summary: "no completed operation in the window", details: details)
            }
            var over: [String] = []
            if let b = options.maxP50Ns, all.p50Ns > b { over.append("p50 \(ms(all.p50Ns)) > \(ms(b))") }
            if let b = options.maxP99Ns, all.p99Ns > b { over.append("p99 \(ms(all.p99Ns)) > \(ms(b))") }
            if !over.isEmpty {
                problems.append("all operations " + over.joined(separator: ", "))
                anomalies.append(Anomaly(kind: "slow-operations", message: "all operations: " + over.joined(separator: ", ") + "; the slowest:", operations: slowest(on: nil)))
            }
        }
        if let node = options.node {
            guard let hot = stats[node] else {
                return CheckResult(kind: .latency, verdict: .unknown, summary: "no completed operation on \(node) in the window; \(table)", details: details)
            }
            if let b = options.minP99Ns, hot.p99Ns < b {
                problems.append("\(node) p99 \(ms(hot.p99Ns)) < \(ms(b))")
            }
            for (n, s) in stats.sorted(by: { $0.key < $1.key }) where n != node {
                var over: [String] = []
                if let b = options.othersMaxP99Ns, s.p99Ns > b { over.append("p99 \(ms(s.p99Ns)) > \(ms(b))") }
                if let b = options.othersMaxP50Ns, s.p50Ns > b { over.append("p50 \(ms(s.p50Ns)) > \(ms(b))") }
                guard !over.isEmpty else { continue }
                problems.append("\(n) " + over.joined(separator: ", "))
                anomalies.append(Anomaly(kind: "slow-node", message: "\(n): " + over.joined(separator: ", ") + "; its slowest operations:", operations: slowest(on: n)))
            }
        }
        let summary = (problems.isEmpty ? "" : problems.joined(separator: ", ") + "; ") + table
        return CheckResult(kind: .latency, verdict: problems.isEmpty ? .valid : .invalid, summary: summary, details: details,
                           anomalies: anomalies, anomalyCount: problems.count)
    }
}

extension CheckKind {
    /// Operation latency per node; runs only when asked for by name.
    public static let latency = CheckKind(rawValue: "latency")
}

/// `latency`: `node`'s p99 at least `min_p99` while every other node's p99 stays at or under
/// `others_max_p99` and its median at or under `others_max_p50`; all operations together at
/// or under `max_p50` / `max_p99` (not scaled: a fault's latency does not change with the
/// run's length). Without a bound it only reports.
public struct LatencyCheck: Check {
    public static let kind = CheckKind.latency
    public static var runsByDefault: Bool { false }
    public var node: String?
    public var minP99Ns: Int64?
    public var othersMaxP99Ns: Int64?
    public var othersMaxP50Ns: Int64?
    public var maxP50Ns: Int64?
    public var maxP99Ns: Int64?

    public init() {}
    public init(node: String?, minP99Ns: Int64? = nil, othersMaxP99Ns: Int64? = nil, othersMaxP50Ns: Int64? = nil,
                maxP50Ns: Int64? = nil, maxP99Ns: Int64? = nil) {
        self.node = node
        self.minP99Ns = minP99Ns
        self.othersMaxP99Ns = othersMaxP99Ns
        self.othersMaxP50Ns = othersMaxP50Ns
        self.maxP50Ns = maxP50Ns
        self.maxP99Ns = maxP99Ns
    }

    public static var fields: [CheckField<Self>] {
        [
            .init("node", .node(\.node)),
            .init("min_p99", .duration(\.minP99Ns, scales: false)),
            .init("others_max_p99", .duration(\.othersMaxP99Ns, scales: false)),
            .init("others_max_p50", .duration(\.othersMaxP50Ns, scales: false)),
            .init("max_p50", .duration(\.maxP50Ns, scales: false)),
            .init("max_p99", .duration(\.maxP99Ns, scales: false)),
        ]
    }

    public func validate() throws(CheckSettingsError) {
        if node == nil, minP99Ns != nil || othersMaxP99Ns != nil || othersMaxP50Ns != nil {
            throw CheckSettingsError(field: "node", message: "min_p99, others_max_p99 and others_max_p50 need node: the node expected slow")
        }
    }

    public func run(_ context: CheckContext, window: TimeWindow) -> CheckResult? {
        LatencyChecker.check(context.operations, window: window, options: self)
    }
}
