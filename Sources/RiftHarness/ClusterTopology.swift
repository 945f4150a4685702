import RiftCore
import RiftProxy

/// A Redis cluster fleet (`kind: redis-cluster`): `masters` masters that share the 16384 hash
/// slots evenly, and `replicasPerMaster` replicas of each. Nodes are named n1...nM (masters),
/// then nM+1... (the replicas, in master order: with 3 masters and 1 replica each, n4 follows
/// n1, n5 n2, n6 n3).
public struct ClusterSettings: Sendable, Equatable {
    public var masters: Int
    public var replicasPerMaster: Int
    /// `cluster-node-timeout`: how long a node goes unanswered before its peers suspect it,
    /// and how long a master on the minority side of a partition keeps taking writes.
    public var nodeTimeoutMs: Int

    public init(masters: Int = 3, replicasPerMaster: Int = 0, nodeTimeoutMs: Int = 1000) {
        self.masters = masters
        self.replicasPerMaster = replicasPerMaster
        self.nodeTimeoutMs = nodeTimeoutMs
    }

    public static let slotCount = 16384

    /// The slots master `index` (from 0) is given at creation.
    public func slots(ofMaster index: Int) -> ClosedRange<Int> {
        (index * Self.slotCount / masters)...((index + 1) * Self.slotCount / masters - 1)
    }

    public var nodes: [Topology.Node] {
        let masterNodes = (1...masters).map { Topology.Node(name: "n\($0)") }
        var replicas: [Topology.Node] = []
        for r in 0..<replicasPerMaster {
            for m in 1...masters { replicas.append(Topology.Node(name: "n\(masters * (r + 1) + m)", replicaOf: "n\(m)")) }
        }
        return masterNodes + replicas
    }
}

/// `kind: redis-cluster`: masters that share the hash slots and their replicas, every node
/// talking to every other over the cluster bus, each bus link through its own proxy
/// (ClusterFleet.swift). The cluster fails over by itself, so `promote` and `replicaof` are
/// refused; so are the workloads that need a single primary or a plain key space.
public struct RedisCluster: TopologyKind, Equatable {
    public static let name = "redis-cluster"
    public var settings: ClusterSettings

    public init(settings: ClusterSettings = ClusterSettings()) { self.settings = settings }

    /// `masters` (1-10, default 3), `replicas_per_master` (0 or 1), `node_timeout` (100ms-60s,
    /// default 1s); the nodes follow from these. `regions` and `wan` place the nodes
    /// (ScenarioParser.parseRegions).
    public static func parse(_ root: LocatedNode) throws -> Topology {
        var name: String?, settings = ClusterSettings()
        for (key, value) in try root.mapping(allowedKeys: ["name", "kind", "masters", "replicas_per_master", "node_timeout", "regions", "wan"]) {
            switch key {
            case "name": name = try value.string()
            case "kind", "regions", "wan": break
            case "masters": settings.masters = Int(try value.int(range: 1...10))
            case "replicas_per_master": settings.replicasPerMaster = Int(try value.int(range: 0...1))
            default:
                let ns = try ScenarioParser.duration(value)
                if ns < 100_000_000 || ns > 60_000_000_000 { throw value.error("expected 100ms to 60s") }
                settings.nodeTimeoutMs = Int(ns / 1_000_000)
            }
        }
        guard let name else { throw root.error("missing required field: name", field: "name") }
        let (regions, wan) = try ScenarioParser.parseRegions(root, nodes: settings.nodes)
        return Topology(name: name, kind: RedisCluster(settings: settings), nodes: settings.nodes, regions: regions, wan: wan)
    }

    /// The cluster bus between every ordered pair of nodes (`n1-to-n2-bus`, from n1 to n2),
    /// and each replication link's reverse (`n1-to-n4`), which a failed-over master uses when
    /// it rejoins as a replica. Every node dials one advertised address per peer; a
    /// `SourceRouter` there tells the links apart by the dialling node's source address
    /// (`Topology.sourceAddress(of:)`).
    public func extraLinks(_ nodes: [Topology.Node]) -> [Topology.Link] {
        let reverse = nodes.compactMap { n in n.replicaOf.map { Topology.Link(proxy: "\($0)-to-\(n.name)", from: $0, to: n.name) } }
        var bus: [Topology.Link] = []
        for a in nodes {
            for b in nodes where a.name != b.name { bus.append(Topology.Link(proxy: "\(a.name)-to-\(b.name)-bus", from: a.name, to: b.name)) }
        }
        return reverse + bus
    }

    public func refusal(of directive: Directive) -> String? {
        switch directive {
        case .promote: "promote is for a primary and replicas; a cluster elects a replica itself"
        case .replicaOf: "replicaof is for a primary and replicas; a cluster re-points its nodes itself"
        case .rebalance(let from, let to, _, _):
            [from, to].first { n in settings.nodes.contains { $0.name == n && $0.replicaOf != nil } }
                .map { "rebalance moves slots between masters (n1-n\(settings.masters)); \($0) is a replica" }
        case .partition, .fault, .heal, .kill, .pause, .resume, .restart: nil
        }
    }

    public func refusal(of workload: WorkloadKind) -> String? {
        switch workload {
        case .cacheAside: "the cache-aside workload runs on a memcached pool or a Redis primary with replicas, not on a cluster"
        case .nearCache: "the near-cache workload needs a Redis primary with replicas (redis-replicated)"
        case .register, .set: nil
        }
    }

    public func servers(_ topology: Topology) -> any FleetServers { ClusterServers(topology: topology, settings: settings) }

    /// Each key to the master owning its slot, following redirections (ClusterRouting.swift);
    /// the nodes by the client port they announce.
    public func cacheClients(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec) throws -> MakeCacheClient {
        let nodes = try topology.nodes.map { try fleet.target($0.name) }
        return { ClusterClient(targets: nodes) }
    }

    /// The clients of `region`: every node through the region's client link (`client-eu-n1`
    /// across the WAN), writes to the slot's master wherever it is, reads to the slot's master
    /// or its replicas as `reads:` allows, those in the region first (ClusterClient).
    public func cacheClients(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec, region: String) throws -> MakeCacheClient {
        let nodes = try topology.nodes.map { try fleet.target($0.name) }
        let dial = try Dictionary(uniqueKeysWithValues: nodes.map { n in
            guard let p = fleet.proxies.proxy(named: topology.clientProxy(of: n.node, from: region)) else {
                throw FleetError("no client link to \(n.node) for region \(region)")
            }
            return (n.port, UInt16(p.port))
        })
        let local = Set(topology.nodes.map(\.name).filter { topology.region(of: $0) == region })
        return { ClusterClient(targets: nodes, dial: dial, local: local, reads: spec.reads) }
    }
}

extension Topology {
    /// The loopback address a cluster node's outgoing connections come from
    /// (`bind-source-addr`): 127.0.0.2 for the first node, and so on; clients use 127.0.0.1.
    public func sourceAddress(of node: String) -> String? {
        nodes.firstIndex { $0.name == node }.map { "127.0.0.\($0 + 2)" }
    }

    /// The masters, in slot order.
    public var clusterMasters: [String] { nodes.filter { $0.replicaOf == nil }.map(\.name) }
}
