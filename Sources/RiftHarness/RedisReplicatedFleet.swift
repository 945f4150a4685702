import RiftClient
import RiftCore
import RiftProxy

/// `kind: redis` (the default): one primary and its replicas, each replica replicating through
/// its own link proxy (`n2-to-n1`). Takes every node action and every workload.
public struct RedisReplicated: TopologyKind, Equatable {
    public static let name = "redis"

    public init() {}

    /// `nodes`: exactly one primary (no `replicaof`); every replica replicates from it.
    /// `regions` and `wan` place the nodes (ScenarioParser.parseRegions).
    public static func parse(_ root: LocatedNode) throws -> Topology {
        let (name, nodes, nodesNode) = try ScenarioParser.parseNodeList(root, settings: ["regions", "wan"])
        let (regions, wan) = try ScenarioParser.parseRegions(root, nodes: nodes)
        try checkOnePrimary(nodes, nodesNode)
        return Topology(name: name, kind: RedisReplicated(), nodes: nodes, regions: regions, wan: wan)
    }

    /// Exactly one primary (no `replicaof`), and every replica replicates from it; errors at `nodes`.
    static func checkOnePrimary(_ nodes: [Topology.Node], _ nodesNode: LocatedNode) throws {
        let primaries = nodes.filter { $0.replicaOf == nil }
        if primaries.count != 1 { throw nodesNode.error("expected exactly one primary (a node without replicaof), found \(primaries.count)") }
        for n in nodes where n.replicaOf != nil && n.replicaOf != primaries[0].name {
            throw nodesNode.error("\(n.name) replicates from '\(n.replicaOf!)'; replicas must replicate from the primary \(primaries[0].name)")
        }
    }

    public func refusal(of directive: Directive) -> String? {
        guard case .rebalance = directive else { return nil }
        return "rebalance moves a Redis cluster's slots (kind: redis-cluster); every node of a primary and its replicas holds every key"
    }
    public func refusal(of workload: WorkloadKind) -> String? { nil }

    public func servers(_ topology: Topology) -> any FleetServers { RedisServers() }

    /// Writes to the primary, reads as `reads:` says (ReplicatedClient.swift).
    public func cacheClients(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec) throws -> MakeCacheClient {
        guard let primary = topology.primary, let port = fleet.clientPort(of: primary) else { throw FleetError("the topology has no primary") }
        let replicas = try topology.replicas.map { try fleet.target($0) }
        let primaryTarget = CacheTarget(node: primary, port: port)
        return { ReplicatedClient(primary: primaryTarget, replicas: replicas, reads: spec.reads) }
    }

    /// The clients of `region`: each node through the proxy for that region's clients; writes
    /// to the primary wherever it is, reads to the region's own nodes as `reads:` allows them
    /// (every allowed node when none of them is in the region).
    public func cacheClients(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec, region: String) throws -> MakeCacheClient {
        func target(_ node: String) throws -> CacheTarget {
            guard let p = fleet.proxies.proxy(named: topology.clientProxy(of: node, from: region)) else { throw FleetError("no client link to \(node) for region \(region)") }
            return CacheTarget(node: node, port: UInt16(p.port))
        }
        guard let primary = topology.primary else { throw FleetError("the topology has no primary") }
        let primaryTarget = try target(primary)
        let allowed = readNodes(topology, reads: spec.reads)
        let local = allowed.filter { topology.region(of: $0) == region }
        let reads = try (local.isEmpty ? allowed : local).map(target)
        return { ReplicatedClient(primary: primaryTarget, readTargets: reads) }
    }

    /// Writes to the node that is the primary now (after a `promote`, not the topology's), through
    /// its client proxy.
    public func currentClient(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec) throws -> any CacheClient {
        let asked = topology.nodes.compactMap { n in fleet.isUp(n.name) ? fleet.port(of: n.name).map { (n.name, $0) } : nil }
        guard let primary = Self.currentPrimary(asked: asked, deadlineNs: monotonicNs() + 1_000_000_000) else {
            throw FleetError("no running node says it is a master (ROLE)")
        }
        return ReplicatedClient(primary: try fleet.target(primary), replicas: [], reads: .primary)
    }

    /// The node that says `master` to `ROLE` (asked on each node's own port); with several (a
    /// `promote` and no `replicaof` after it), the one with the most replicas, the first asked on
    /// a tie. Nil when none answers as a master by the deadline.
    static func currentPrimary(asked: [(node: String, port: UInt16)], deadlineNs: Int64) -> String? {
        var best: (node: String, replicas: Int)?
        for (name, port) in asked {
            let conn = RESPClient(reconnectingTo: port)
            defer { conn.close() }
            guard case .array(let role?)? = try? conn.request(["ROLE"], deadlineNs: deadlineNs),
                  role.count >= 3, role[0] == .bulk("master"), case .array(let replicas?) = role[2] else { continue }
            if replicas.count > best?.replicas ?? -1 { best = (name, replicas.count) }
        }
        return best?.node
    }
}

/// redis-server processes; a replica starts replicating through its link proxy. Ready when
/// every replica reads back a marker written on its primary (`FleetReadiness.swift`).
final class RedisServers: FleetServers {
    let executableName = "redis-server"
    let logFile = "redis.log"

    /// What every Redis node runs with: no persistence unless asked (`SAVE`), diskless sync.
    static func arguments(port: UInt16, directory dir: String) -> [String] {
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", "--dir", dir,
         "--logfile", "\(dir)/redis.log", "--daemonize", "no"]
    }

    func arguments(_ node: Topology.Node, port: UInt16, directory: String, proxies: ProxyServer) -> [String] {
        var args = Self.arguments(port: port, directory: directory)
        if let upstream = node.replicaOf, let link = proxies.proxy(named: "\(node.name)-to-\(upstream)") {
            args += ["--replicaof", "127.0.0.1", String(link.port)]
        }
        return args
    }

    func answers(_ connection: ProbeConnection, deadlineNs: Int64) -> Bool { Self.answersPing(connection, deadlineNs: deadlineNs) }

    /// Whether a Redis node answers PING.
    static func answersPing(_ connection: ProbeConnection, deadlineNs: Int64) -> Bool {
        (try? connection.redis.request(["PING"], deadlineNs: deadlineNs)) == .simpleString("PONG")
    }

    let replication: ReplicationMarker? = ReplicationMarker(markerKey: { _, _, _ in "rift:ready" }, readPreamble: nil)
}
