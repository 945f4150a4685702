import RiftHistory

/// How a run's operations spread over nodes and keys: the runbook's "inspect the key
/// distribution" on a hot partition. Every operation with a node counts (ok, fail and info
/// alike: a timed-out request loaded its node too).
public struct KeyLoad: Sendable, Equatable, Codable {
    public struct NodeShare: Sendable, Equatable, Codable {
        public var operations: Int
        /// Of all counted operations, 0-1.
        public var share: Double
    }

    public struct KeyShare: Sendable, Equatable, Codable {
        public var key: String
        public var operations: Int
        public var share: Double
        /// The nodes that served it, by operation count (several after a rebalance).
        public var nodes: [String: Int]
    }

    public var operations: Int
    public var perNode: [String: NodeShare]
    /// The most frequent keys, most frequent first (at most `topCount`).
    public var topKeys: [KeyShare]
    /// The busiest node's share over an even share (1 / nodes): 1 is even, `nodes` is every
    /// operation on one node.
    public var skew: Double

    public static let topCount = 10

    enum CodingKeys: String, CodingKey {
        case operations, skew
        case perNode = "per_node", topKeys = "top_keys"
    }

    /// Counts `ops` per node and per key; `nodes` are the fleet's (a node that served
    /// nothing has share 0 and still counts toward the even share).
    public static func measure(_ ops: [HistoryOperation], nodes: [String]) -> KeyLoad {
        var byNode: [String: Int] = Dictionary(uniqueKeysWithValues: nodes.map { ($0, 0) })
        var byKey: [String: [String: Int]] = [:]
        var total = 0
        for op in ops {
            guard let node = op.node else { continue }
            total += 1
            byNode[node, default: 0] += 1
            byKey[op.key, default: [:]][node, default: 0] += 1
        }
        func share(_ n: Int) -> Double { total == 0 ? 0 : Double(n) / Double(total) }
        let keys = byKey.map { key, nodes in KeyShare(key: key, operations: nodes.values.reduce(0, +), share: 0, nodes: nodes) }
            .sorted { ($0.operations, $1.key) > ($1.operations, $0.key) }
            .prefix(topCount)
            .map { k in var k = k; k.share = share(k.operations); return k }
        let busiest = byNode.values.max() ?? 0
        return KeyLoad(operations: total, perNode: byNode.mapValues { NodeShare(operations: $0, share: share($0)) }, topKeys: Array(keys),
                       skew: byNode.isEmpty || total == 0 ? 0 : share(busiest) * Double(byNode.count))
    }
}
