import RiftHistory

extension CheckKind {
    public static let lostWrites = CheckKind(rawValue: "lost_writes")
}

/// Jepsen's set checker, per set: each set's final read (its last `ok` read) against the `add`s
/// of unique elements. Only adds that completed `ok` before the final read began are judged
/// (one concurrent with the read may land after it).
public enum LostWritesMeasure {
    /// Most lost and unexpected elements listed per set in the details.
    public static let listedPerSet = 10

    /// One set's counts.
    public struct SetCount: Sendable, Equatable {
        public var key: String
        /// The final read; nil when the set has no ok read (or its last one is not a list).
        public var finalRead: Int?
        /// Ok adds completed before the final read began.
        public var okAdds = 0
        /// Ok adds not judged: concurrent with or after the final read, or every ok add of a set
        /// without one.
        public var concurrentAdds = 0
        public var infoAdds = 0
        public var failAdds = 0
        /// Judged ok adds absent from the final read (operation ids, in invocation order).
        public var lost: [Int] = []
        /// Info adds present in the final read.
        public var recovered = 0
        /// Elements of the final read that no ok or info add wrote (a failed add did not happen).
        public var unexpected: [HistoryValue] = []
        /// Why there is no final read.
        public var missing: String?

        public var lostFraction: Double { okAdds == 0 ? 0 : Double(lost.count) / Double(okAdds) }
    }

    /// A set's name in messages; Jepsen's set workload has one set and no keys.
    static func display(_ key: String) -> String { key.isEmpty ? "(single set)" : key }

    /// The keys with at least one add, sorted, each measured. With `judged`, only those
    /// processes' adds are counted (a region's clients); every add still counts as written,
    /// so another's element in the final read is not unexpected.
    public static func measure(_ ops: [HistoryOperation], judged: ((ProcessID) -> Bool)? = nil) -> [SetCount] {
        var adds: [String: [HistoryOperation]] = [:], written: [String: Set<HistoryValue>] = [:]
        for op in ops where op.f == .add {
            if op.status != .fail { written[op.key, default: []].insert(op.input) }
            if judged?(op.process) ?? true { adds[op.key, default: []].append(op) }
        }
        var lastRead: [String: HistoryOperation] = [:]
        for op in ops where op.f == .read && op.status == .ok && adds[op.key] != nil {
            // Operations are in invocation order: the last one seen began last.
            lastRead[op.key] = op
        }
        return adds.keys.sorted().map { key in
            var c = SetCount(key: key)
            func unjudged(_ why: String) -> SetCount {
                c.missing = why
                c.infoAdds = adds[key]!.filter { $0.status == .info }.count
                c.failAdds = adds[key]!.filter { $0.status == .fail }.count
                c.concurrentAdds = adds[key]!.count - c.infoAdds - c.failAdds
                return c
            }
            guard let read = lastRead[key] else { return unjudged("no ok read of set \(display(key))") }
            let elements: [HistoryValue]
            switch read.output {
            case .list(let items): elements = items
            case .null: elements = []  // a set never created reads as nothing
            default: return unjudged("the final read of set \(display(key)) returned \(read.output), not a list of elements")
            }
            c.finalRead = read.id
            let present = Set(elements)
            var attempted = Set<HistoryValue>()
            for op in adds[key]! {
                switch op.status {
                case .ok:
                    attempted.insert(op.input)
                    if let done = op.completeTime, done < read.invokeTime {
                        c.okAdds += 1
                        if !present.contains(op.input) { c.lost.append(op.id) }
                    } else {
                        c.concurrentAdds += 1
                    }
                case .info:
                    attempted.insert(op.input)
                    c.infoAdds += 1
                    if present.contains(op.input) { c.recovered += 1 }
                case .fail:
                    c.failAdds += 1
                }
            }
            var seen = Set<HistoryValue>()
            attempted.formUnion(written[key] ?? [])
            c.unexpected = elements.filter { !attempted.contains($0) && seen.insert($0).inserted }
            return c
        }
    }
}

/// `lost_writes`: Jepsen's set workload checked, per set, against its final read. Lost: ok adds
/// absent from it (count and fraction of judged ok adds); recovered: `info` adds present;
/// unexpected: elements no ok or info add wrote. Invalid on any unexpected element, and on lost
/// adds beyond `max_lost` / `max_lost_fraction`; with neither bound, on any lost add (Jepsen's
/// default: an acknowledged write must survive). Unknown when a set has no ok final read. Judges
/// the whole history: the final read comes after every window. Scoped to a region (`region:
/// eu`), it judges that region's clients' adds.
public struct LostWritesCheck: Check {
    public static let kind = CheckKind.lostWrites
    public var maxLost: Int?
    public var maxLostFraction: Double?

    public init() {}
    public init(maxLost: Int?, maxLostFraction: Double? = nil) {
        self.maxLost = maxLost
        self.maxLostFraction = maxLostFraction
    }

    public static var fields: [CheckField<Self>] {
        [.init("max_lost", .count(\.maxLost, 0...Int.max)), .init("max_lost_fraction", .number(\.maxLostFraction, 0...1))]
    }

    public func run(_ context: CheckContext, window: TimeWindow) -> CheckResult? {
        let ops = context.operations
        let regions = context.region == nil ? [:] : context.history.clientRegions
        let sets = LostWritesMeasure.measure(ops, judged: context.region.map { r in { regions[$0] == r } })
        if sets.isEmpty {
            return context.named ? CheckResult(kind: Self.kind, verdict: .unknown, summary: "needs add operations on sets (Jepsen's set workload); this history has none") : nil
        }
        let okAdds = sets.map(\.okAdds).reduce(0, +)
        let lost = sets.map(\.lost.count).reduce(0, +)
        let unexpected = sets.map(\.unexpected.count).reduce(0, +)
        let recovered = sets.map(\.recovered).reduce(0, +)
        let fraction = okAdds == 0 ? 0 : Double(lost) / Double(okAdds)
        func int(_ n: Int) -> HistoryValue { .int(Int64(n)) }
        var details: [String: HistoryValue] = [
            "lost": int(lost), "lost_fraction": .double(fraction), "ok_adds": int(okAdds), "recovered": int(recovered),
            "unexpected": int(unexpected), "info_adds": int(sets.map(\.infoAdds).reduce(0, +)),
            "fail_adds": int(sets.map(\.failAdds).reduce(0, +)), "concurrent_adds": int(sets.map(\.concurrentAdds).reduce(0, +)),
            "per_key": .object(Dictionary(uniqueKeysWithValues: sets.map { s in
                var o: [String: HistoryValue] = [
                    "lost": int(s.lost.count), "lost_fraction": .double(s.lostFraction), "ok_adds": int(s.okAdds),
                    "recovered": int(s.recovered), "unexpected": int(s.unexpected.count), "info_adds": int(s.infoAdds),
                    "fail_adds": int(s.failAdds), "concurrent_adds": int(s.concurrentAdds),
                    "first_lost": .list(s.lost.prefix(LostWritesMeasure.listedPerSet).map { ops[$0].input }),
                    "first_unexpected": .list(Array(s.unexpected.prefix(LostWritesMeasure.listedPerSet))),
                ]
                if let missing = s.missing { o["missing"] = .string(missing) }
                return (s.key, HistoryValue.object(o))
            })),
        ]
        if let maxLost { details["max_lost"] = int(maxLost) }
        if let maxLostFraction { details["max_lost_fraction"] = .double(maxLostFraction) }

        // Unexpected elements first: rare, and always invalid.
        var anomalies: [Anomaly] = []
        for s in sets where !s.unexpected.isEmpty {
            let read = ops[s.finalRead!]
            for e in s.unexpected where anomalies.count < context.maxAnomalies {
                anomalies.append(Anomaly(
                    kind: "unexpected-element",
                    message: "the final read of set \(LostWritesMeasure.display(s.key)) by process \(read.process) holds \(e), which no ok or info add wrote",
                    operations: [read]))
            }
        }
        for s in sets {
            for id in s.lost where anomalies.count < context.maxAnomalies {
                let add = ops[id]
                var message = "add of \(add.input) to set \(LostWritesMeasure.display(s.key)) by process \(add.process) was acknowledged"
                if let node = add.node { message += " by \(node)" }
                message += " but is absent from the final read (operation \(s.finalRead!))"
                anomalies.append(Anomaly(kind: "lost-write", message: message, operations: [add, ops[s.finalRead!]], roles: ["add", "final read"]))
            }
        }

        var summary = "\(lost) of \(okAdds) acknowledged adds lost (\(percent(fraction))), \(recovered) indeterminate adds recovered, \(unexpected) unexpected elements, \(sets.count) sets"
        var verdict = Verdict.valid
        var broken: [String] = []
        if unexpected > 0 { broken.append("unexpected elements") }
        switch (maxLost, maxLostFraction) {
        case (nil, nil):
            if lost > 0 { broken.append("acknowledged adds lost (no bound set)") }
        default:
            if let maxLost, lost > maxLost { broken.append("\(lost) lost > max_lost \(maxLost)") }
            if let maxLostFraction, fraction > maxLostFraction { broken.append("lost fraction \(percent(fraction)) > max_lost_fraction \(percent(maxLostFraction))") }
        }
        if !broken.isEmpty {
            verdict = .invalid
            summary += ": " + broken.joined(separator: ", ")
        }
        let missing = sets.compactMap(\.missing)
        if !missing.isEmpty {
            verdict = verdict.combined(with: .unknown)
            summary += "; unknown: " + missing.prefix(3).joined(separator: "; ") + (missing.count > 3 ? " and \(missing.count - 3) more" : "")
        }
        return CheckResult(kind: Self.kind, verdict: verdict, summary: summary, details: details, anomalies: anomalies, anomalyCount: lost + unexpected)
    }

    private func percent(_ f: Double) -> String {
        let p = (f * 1000).rounded() / 10
        return "\(p)%"
    }
}
