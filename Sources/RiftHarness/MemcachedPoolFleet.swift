import RiftClient
import RiftCore
import RiftProxy
#if canImport(Glibc)
import Glibc
#endif

/// `kind: memcached`: independent memcached nodes that replicate nothing; clients spread keys
/// over them on a ketama ring. A restart loses the node's data, and there is no primary to
/// promote or re-point.
public struct MemcachedPool: TopologyKind, Equatable {
    public static let name = "memcached"

    public init() {}

    public static func parse(_ root: LocatedNode) throws -> Topology {
        let (name, nodes, nodesNode) = try ScenarioParser.parseNodeList(root)
        try checkNoReplicas(nodes, nodesNode)
        return Topology(name: name, kind: MemcachedPool(), nodes: nodes)
    }

    /// memcached nodes replicate nothing: no `replicaof`; errors at `nodes`. (Every memcached
    /// kind: a pool, twemproxy's, an external one.)
    static func checkNoReplicas(_ nodes: [Topology.Node], _ nodesNode: LocatedNode) throws {
        if let n = nodes.first(where: { $0.replicaOf != nil }) { throw nodesNode.error("\(n.name): memcached nodes do not replicate (no replicaof)") }
    }

    /// The steps every memcached kind refuses: they need Redis (data kept across a restart, a
    /// primary to promote or re-point).
    static func redisOnlyRefusal(of directive: Directive) -> String? {
        switch directive {
        case .restart(_, true): "restart with data: keep needs a Redis topology (memcached keeps no data across a restart)"
        case .promote: "promote needs a Redis topology"
        case .replicaOf: "replicaof needs a Redis topology"
        case .partition, .fault, .heal, .kill, .pause, .resume, .restart, .rebalance: nil
        }
    }

    public func refusal(of directive: Directive) -> String? {
        if let why = Self.redisOnlyRefusal(of: directive) { return why }
        if case .rebalance(_, _, _, let hold) = directive, hold > 0 {
            return "hold is for a cluster's slot migration; a memcached pool's rebalance changes ring weights at once"
        }
        return nil
    }

    public func refusal(of workload: WorkloadKind) -> String? {
        switch workload {
        case .nearCache: "the near-cache workload needs a Redis primary with replicas (redis-replicated)"
        case .set: "the set workload needs Redis sets (SADD, SMEMBERS): a Redis primary with replicas or a Redis cluster"
        case .register, .cacheAside: nil
        }
    }

    /// Every node: a key's reads go to whichever node the ring gives it.
    public func readNodes(_ topology: Topology, reads: ReadTarget) -> [String] { topology.nodes.map(\.name) }

    public func servers(_ topology: Topology) -> any FleetServers { MemcachedServers(nodes: topology.nodes.map(\.name)) }

    /// Both reads and writes to the key's node on the process's ring (KetamaClient.swift),
    /// weighted as the pool's last `rebalance` left it.
    public func cacheClients(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec) throws -> MakeCacheClient {
        let nodes = try topology.nodes.map { try fleet.target($0.name) }
        let weights = (fleet.servers as? MemcachedServers)?.weights
        return { KetamaClient(nodes: nodes, spec: spec, weights: weights) }
    }
}

/// memcached processes; a node is ready when it answers `version` through its client proxy.
final class MemcachedServers: FleetServers {
    let executableName = "memcached"
    let logFile = "stdio.log"
    let nodes: [String]
    /// The clients' ring weights (all 1 until a `rebalance`).
    let weights: RingWeights

    init(nodes: [String]) {
        self.nodes = nodes
        weights = RingWeights(count: nodes.count)
    }

    /// Shifts ring weight from `node` to `to` until none of those of `keys` on `node` stays
    /// there (`KetamaRing.weights(moving:)`); the clients take the new ring on their next
    /// request. The moved keys start cold on their new nodes: a memcached pool hands nothing over.
    func rebalance(from node: String, to: String, keys: [String], holdNs: Int64, port: (String) -> UInt16?) throws -> [String] {
        guard let from = nodes.firstIndex(of: node), let target = nodes.firstIndex(of: to) else { throw FleetError("rebalance: no node \(node) or \(to)") }
        let current = weights.current.weights
        let ring = KetamaRing(servers: nodes, weights: current)
        let moving = keys.filter { ring.server(for: $0) == from }
        guard !moving.isEmpty else { return [] }
        weights.set(KetamaRing.weights(moving: moving, servers: nodes, weights: current, from: from, to: target))
        return moving
    }

    func arguments(_ node: Topology.Node, port: UInt16, directory: String, proxies: ProxyServer) -> [String] {
        // -U 0: no UDP; -v: connection events in stdio.log.
        // memcached refuses to run as root without -u.
        ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "64", "-t", "1", "-v"] + (getuid() == 0 ? ["-u", "root"] : [])
    }

    func answers(_ connection: ProbeConnection, deadlineNs: Int64) -> Bool {
        (try? connection.memcached.version(deadlineNs: deadlineNs)) != nil
    }

    let replication: ReplicationMarker? = nil
}
