import RiftHistory

/// Splits operations into independently checkable partitions: the connected components of the
/// keys that operations touch together.
///
/// Linearizability is compositional per object (Herlihy and Wing), but a `txn` over x and y is one
/// object operation on the pair, so x and y must be searched together, and so must every key a
/// txn links to them (union-find over the keys of each operation). A history without txns keeps
/// one partition per key, as before.
enum KeyComponents {
    struct Partition: Sendable {
        /// The key, or the component's keys sorted and joined by commas.
        var name: String
        var keys: [String]
        var operations: [HistoryOperation]
    }

    /// The keys `op` touches: its key, or its txn steps' keys (first appearance order); nil for
    /// a malformed txn, which stays alone under its own key so the model reports it.
    static func keys(of op: HistoryOperation) -> [String]? {
        guard op.f == .txn else { return [op.key] }
        guard let steps = op.txnSteps else { return nil }
        var seen = Set<String>()
        return steps.map(\.key).filter { seen.insert($0).inserted }
    }

    /// The partitions of the operations that pass `include`.
    static func partition(_ all: [HistoryOperation], where include: (HistoryOperation) -> Bool) -> [Partition] {
        guard all.contains(where: { $0.f == .txn }) else {
            var byKey: [String: [HistoryOperation]] = [:]
            for op in all where include(op) { byKey[op.key, default: []].append(op) }
            return byKey.map { Partition(name: $0.key, keys: [$0.key], operations: $0.value) }
        }
        var index: [String: Int] = [:]
        var parent: [Int] = []
        func id(_ key: String) -> Int {
            if let i = index[key] { return i }
            index[key] = parent.count
            parent.append(parent.count)
            return parent.count - 1
        }
        func find(_ x: Int) -> Int {
            var r = x
            while parent[r] != r { r = parent[r] }
            var c = x
            while parent[c] != r {
                let n = parent[c]
                parent[c] = r
                c = n
            }
            return r
        }
        let operations = all.filter(include)
        var opKeys: [[String]?] = []
        opKeys.reserveCapacity(operations.count)
        for op in operations {
            let ks = keys(of: op)
            opKeys.append(ks)
            guard let ks, let first = ks.first else { continue }
            let a = find(id(first))
            for k in ks.dropFirst() {
                let b = find(id(k))
                if a != b { parent[b] = a }
            }
        }
        var groups: [Int: [HistoryOperation]] = [:]
        var malformed: [String: [HistoryOperation]] = [:]
        for (op, ks) in zip(operations, opKeys) {
            guard let ks else {
                malformed[op.key, default: []].append(op)
                continue
            }
            guard let first = ks.first else { continue }  // an empty txn: no effect, no constraint
            groups[find(index[first]!), default: []].append(op)
        }
        var members: [Int: [String]] = [:]
        for (key, i) in index { members[find(i), default: []].append(key) }
        var out: [Partition] = groups.map { root, ops in
            let keys = members[root]!.sorted()
            return Partition(name: keys.joined(separator: ","), keys: keys, operations: ops)
        }
        for (key, ops) in malformed { out.append(Partition(name: key, keys: [key], operations: ops)) }
        return out
    }
}
