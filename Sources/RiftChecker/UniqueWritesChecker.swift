import RiftHistory

/// Polynomial check for a register of reads and writes whose written values are unique: each
/// read maps to the one write of its value, and the history is linearizable exactly when the
/// clusters (a write with its reads) can be laid out in time (Gibbons and Korach's zones).
///
/// For a cluster, f is the earliest completion and s the latest invocation of its operations.
/// If f < s the cluster must hold the register throughout [f, s] (a forward zone); otherwise it
/// can be placed anywhere in [s, f] (a backward zone). Linearizable iff every read's write
/// exists and was invoked before the read completed, no two forward zones overlap (touching is
/// fine: operations at one instant count as concurrent), and no backward zone lies strictly
/// inside a forward zone. O(n log n).
enum UniqueWritesChecker {
    enum Outcome: Equatable {
        case linearizable
        /// The operations (ids into the partition) that conflict.
        case notLinearizable(conflict: [Int])
    }

    /// nil when the partition is outside this check's scope (cas, delete, unknown outcomes,
    /// repeated or null written values, a write of the initial value): the caller searches
    /// instead. `initial` is the register's value before the history (null: absent).
    static func check(_ ops: [HistoryOperation], initial: HistoryValue = .null) -> Outcome? {
        var writeOf: [HistoryValue: Int] = [:]
        for (i, op) in ops.enumerated() {
            guard op.status == .ok else { return nil }
            switch op.f {
            case .write:
                if op.input.isNull || writeOf[op.input] != nil { return nil }
                writeOf[op.input] = i
            case .read: continue
            case .cas, .delete, .get, .put, .append, .txn, .add: return nil
            }
        }
        if !initial.isNull, writeOf[initial] != nil { return nil }
        // Cluster -1 is the initial value (absent unless given), written before everything.
        struct Cluster {
            var f = Int64.max
            var s = Int64.min
            var members: [Int] = []
        }
        var clusters: [Int: Cluster] = [:]
        for (i, op) in ops.enumerated() where op.f == .write {
            clusters[i] = Cluster(f: op.completeTime!, s: op.invokeTime, members: [i])
        }
        for (i, op) in ops.enumerated() where op.f == .read {
            let c: Int
            if op.output == initial {
                c = -1
                if clusters[-1] == nil { clusters[-1] = Cluster(f: .min, s: .min, members: []) }
            } else {
                guard let w = writeOf[op.output] else { return .notLinearizable(conflict: [i]) }
                if op.completeTime! < ops[w].invokeTime { return .notLinearizable(conflict: [w, i]) }
                c = w
            }
            clusters[c]!.f = min(clusters[c]!.f, op.completeTime!)
            clusters[c]!.s = max(clusters[c]!.s, op.invokeTime)
            clusters[c]!.members.append(i)
        }
        var forward: [(f: Int64, s: Int64, id: Int)] = []
        var backward: [(s: Int64, f: Int64, id: Int)] = []
        for (id, c) in clusters {
            if c.f < c.s { forward.append((c.f, c.s, id)) } else { backward.append((c.s, c.f, id)) }
        }
        forward.sort { $0.f != $1.f ? $0.f < $1.f : $0.s < $1.s }
        var widest: (s: Int64, id: Int)?
        for z in forward {
            if let w = widest, z.f < w.s {
                return .notLinearizable(conflict: (clusters[w.id]!.members + clusters[z.id]!.members).sorted())
            }
            if widest == nil || z.s > widest!.s { widest = (z.s, z.id) }
        }
        for b in backward {
            // The forward zone with the largest start before b's start is the only candidate.
            var lo = 0, hi = forward.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if forward[mid].f < b.s { lo = mid + 1 } else { hi = mid }
            }
            if lo > 0, b.f < forward[lo - 1].s {
                return .notLinearizable(conflict: (clusters[forward[lo - 1].id]!.members + clusters[b.id]!.members).sorted())
            }
        }
        return .linearizable
    }
}
