import RiftChecker
import RiftClient
import RiftCore
import RiftProxy

/// One kind of fleet a topology file names with `kind:`. A kind owns what sets it apart: how
/// its file reads, the links it proxies beyond the client and replication links, the scenario
/// steps and workloads it takes, its server processes (`FleetServers`) and its cache client.
///
/// Adding a kind is one fleet file (a type conforming to this and its `FleetServers`), one
/// client file (its `CacheClient`) and one line in `TopologyRegistry.all`.
public protocol TopologyKind: Sendable {
    /// The `kind:` value that names it.
    static var name: String { get }
    /// Reads a topology file whose `kind:` names this kind; every error names its field
    /// (`FILE:LINE:COL: field: message`).
    static func parse(_ root: LocatedNode) throws -> Topology
    /// Links beyond each node's client link and each replica's link to its primary.
    func extraLinks(_ nodes: [Topology.Node]) -> [Topology.Link]
    /// Whether each replica's link to its primary runs through a proxy (`n2-to-n1`).
    var proxiesReplication: Bool { get }
    /// Why a timeline step cannot run on this kind, nil when it can (node names are checked
    /// apart). Scenario validation reports it at the step's file:line.
    func refusal(of directive: Directive) -> String?
    /// Why a workload cannot run on this kind, nil when it can.
    func refusal(of workload: WorkloadKind) -> String?
    /// Why a workload's settings do not fit this kind (its type as `refusal(of: WorkloadKind)`
    /// says, then its settings), nil when they do.
    func refusal(of workload: WorkloadSpec) -> String?
    /// What this machine lacks to run the kind (a program, with the package to install); nil
    /// when nothing. `rift run` checks it before it starts anything, as bad input.
    func missingProgram() -> String?
    /// The nodes a workload's reads go to, as `reads:` says.
    func readNodes(_ topology: Topology, reads: ReadTarget) -> [String]
    /// The server processes of one fleet of this kind.
    func servers(_ topology: Topology) -> any FleetServers
    /// Makes one workload process's cache client, once the fleet has started.
    func cacheClients(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec) throws -> MakeCacheClient
    /// Makes the cache clients of one region's workload processes (a topology with
    /// `regions`); kinds that place no nodes in regions keep the default, which throws.
    func cacheClients(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec, region: String) throws -> MakeCacheClient
    /// A cache client whose writes go where the fleet takes them now, after whatever failover
    /// the timeline made: the set workload's final read goes through it.
    func currentClient(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec) throws -> any CacheClient
    /// Same kind and same settings (`Topology` is `Equatable`).
    func isEqual(to other: any TopologyKind) -> Bool
}

extension TopologyKind {
    public func extraLinks(_ nodes: [Topology.Node]) -> [Topology.Link] { [] }
    public func refusal(of workload: WorkloadSpec) -> String? { refusal(of: workload.kind) }
    public func missingProgram() -> String? { nil }
    public var proxiesReplication: Bool { true }

    public func cacheClients(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec, region: String) throws -> MakeCacheClient {
        throw FleetError("\(Self.name) topologies place no nodes in regions")
    }

    /// The workload's own client: a kind whose nodes find the writer themselves (a cluster's
    /// client follows MOVED to a slot's new master).
    public func currentClient(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec) throws -> any CacheClient {
        try cacheClients(topology, fleet: fleet, spec: spec)()
    }

    /// A primary and its replicas: `any` reads every node, `primary` the primary, `replicas`
    /// the replicas (the primary when there are none).
    public func readNodes(_ topology: Topology, reads: ReadTarget) -> [String] {
        switch reads {
        case .any: topology.nodes.map(\.name)
        case .primary: topology.primary.map { [$0] } ?? []
        case .replicas: topology.replicas.isEmpty ? (topology.primary.map { [$0] } ?? []) : topology.replicas
        }
    }
}

extension TopologyKind where Self: Equatable {
    public func isEqual(to other: any TopologyKind) -> Bool { (other as? Self) == self }
}

/// Every topology kind, by its `kind:` name; the first is the default when a file names none.
public enum TopologyRegistry {
    public static let all: [any TopologyKind.Type] = [RedisReplicated.self, MemcachedPool.self, RedisCluster.self, Twemproxy.self, RedisSentinel.self, External.self]

    public static func kind(named name: String) -> (any TopologyKind.Type)? { all.first { $0.name == name } }
    public static var names: [String] { all.map { $0.name } }
}

/// A fleet kind's server processes, as `Fleet` starts, probes, readies and stops them. The
/// defaults fit a kind whose nodes are reached through their client proxies only.
public protocol FleetServers: AnyObject, Sendable {
    /// The server executable, looked up in /usr/bin and /usr/local/bin.
    var executableName: String { get }
    /// Each node's log, relative to its folder.
    var logFile: String { get }
    /// Logs of the kind's own processes beyond the nodes' (nutcracker's, the sentinels'), relative to the fleet's folder.
    var extraLogFiles: [String] { get }
    /// Ports each node needs beyond its own (a cluster's bus ports), reserved with the fleet's.
    func reservePorts(_ reservation: PortReservation) throws
    /// The server port a link's proxy forwards to (`nodePort`: the link's `to` node's own port,
    /// nil when `to` is none of the nodes, e.g. nutcracker or a sentinel); nil when there is none.
    func upstreamPort(of link: Topology.Link, nodePort: UInt16?) -> UInt16?
    /// Listeners beyond the link proxies (a cluster's announced addresses), before the servers start.
    func startRouters(_ proxies: ProxyServer) async throws
    /// The port clients use to reach `node`.
    func clientPort(of node: String, proxies: ProxyServer) -> UInt16?
    /// A node's command line; `port` is its own, `directory` its folder.
    func arguments(_ node: Topology.Node, port: UInt16, directory: String, proxies: ProxyServer) -> [String]
    /// Whether the server on `port` answers (one short request on `connection`).
    func answers(_ connection: ProbeConnection, deadlineNs: Int64) -> Bool
    /// Steps once every node answers (a cluster's slots and handshakes, starting nutcracker or
    /// the sentinels); `directory` is the fleet's folder, `executable` the nodes' server (the
    /// sentinels run the same redis-server).
    func form(port: (String) -> UInt16?, directory: String, executable: String, deadlineNs: Int64) throws
    /// How readiness proves replication (`FleetReadiness.swift`); nil: a node is ready when it answers.
    var replication: ReplicationMarker? { get }
    /// Moves those of `keys` that live on `node` to `to`, under load, and returns them (a
    /// `rebalance` step); `port` gives each node's own port. Kinds that refuse the step keep
    /// the default, which throws.
    func rebalance(from node: String, to: String, keys: [String], holdNs: Int64, port: (String) -> UInt16?) throws -> [String]
    /// The counters of the kind's proxy tier at the end of a run (nutcracker's stats port), for
    /// result.json; nil when the kind has none.
    func scrapeStats(deadlineNs: Int64) throws -> TwemproxyStats?
    /// Whether the fleet starts its servers as child processes (an external fleet does not).
    var launchesProcesses: Bool { get }
    /// The address a link's proxy forwards to (`127.0.0.1:<upstreamPort>` unless the kind's
    /// nodes live elsewhere).
    func upstream(of link: Topology.Link, nodePort: UInt16?) -> String?
    /// The host the replication and other node-to-node link proxies listen on.
    var linkListenHost: String { get }
    /// Carries out a node action with the kind's own means (an external fleet's commands);
    /// kinds whose nodes are child processes keep the default, which throws.
    func run(action: String, node: String, directory: String) throws
    /// Closes what `startRouters` opened and stops what `form` started; idempotent.
    func stop() async
    /// The link proxies that live on other hosts' agents (an external fleet with `hosts:`);
    /// nil when every proxy is the harness's own.
    var agents: AgentLinks? { get }
}

extension FleetServers {
    public var extraLogFiles: [String] { [] }
    public func reservePorts(_ reservation: PortReservation) throws {}
    public func upstreamPort(of link: Topology.Link, nodePort: UInt16?) -> UInt16? { nodePort }
    public func startRouters(_ proxies: ProxyServer) async throws {}
    public func clientPort(of node: String, proxies: ProxyServer) -> UInt16? {
        proxies.proxy(named: "client-\(node)").map { UInt16($0.port) }
    }
    public func form(port: (String) -> UInt16?, directory: String, executable: String, deadlineNs: Int64) throws {}
    public var launchesProcesses: Bool { true }
    public func upstream(of link: Topology.Link, nodePort: UInt16?) -> String? { upstreamPort(of: link, nodePort: nodePort).map { "127.0.0.1:\($0)" } }
    public var linkListenHost: String { "127.0.0.1" }
    public func run(action: String, node: String, directory: String) throws {
        throw FleetError("\(action) on \(node): this fleet's nodes are child processes")
    }
    public func rebalance(from node: String, to: String, keys: [String], holdNs: Int64, port: (String) -> UInt16?) throws -> [String] {
        throw FleetError("this topology kind does not rebalance")
    }
    public func scrapeStats(deadlineNs: Int64) throws -> TwemproxyStats? { nil }
    public func stop() async {}
    var agents: AgentLinks? { nil }
}

/// One node's probe connections for `FleetServers.answers`, kept across attempts (each
/// reconnects after a failure), as a client of either protocol.
public final class ProbeConnection {
    public let redis: RESPClient
    public let memcached: MemcachedClient

    init(port: UInt16) {
        redis = RESPClient(reconnectingTo: port)
        memcached = MemcachedClient(reconnectingTo: port)
    }

    func close() {
        redis.close()
        memcached.close()
    }
}

/// How a replicating kind's readiness writes and reads its marker.
public struct ReplicationMarker: Sendable {
    /// The marker key `root` takes writes for, asked on `port`; nil when it takes none (a
    /// cluster master that owns no slot).
    public var markerKey: @Sendable (_ root: String, _ port: UInt16, _ deadlineNs: Int64) throws -> String?
    /// Sent on a replica's connection before it is read (a cluster replica reads after `READONLY`).
    public var readPreamble: [String]?
}
