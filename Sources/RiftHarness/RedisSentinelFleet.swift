import Foundation
import RiftClient
import RiftCore
import RiftProxy
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Redis Sentinel's settings (`kind: redis-sentinel`): how many sentinels watch the primary,
/// how they agree it is down and fail over, and what the primary asks of its replicas before
/// it takes a write. Sentinels are named s1...sN; they monitor the primary as `rift`.
public struct SentinelSettings: Sendable, Equatable {
    public var sentinels: Int
    /// Sentinels that must agree the primary is down before a failover starts.
    public var quorum: Int
    /// `down-after-milliseconds`: how long the primary goes unanswered before a sentinel
    /// thinks it down.
    public var downAfterMs: Int
    /// `failover-timeout`: how long a failover may take, and twice that before it is retried.
    public var failoverTimeoutMs: Int
    /// `min-replicas-to-write` on every node (any may become the primary): a primary with fewer
    /// replicas acknowledging within `minReplicasMaxLagS` refuses writes (0: it never does).
    public var minReplicasToWrite: Int
    /// `min-replicas-max-lag`, in whole seconds as Redis takes it.
    public var minReplicasMaxLagS: Int

    public init(sentinels: Int = 3, quorum: Int = 2, downAfterMs: Int = 1000, failoverTimeoutMs: Int = 10_000,
                minReplicasToWrite: Int = 0, minReplicasMaxLagS: Int = 10) {
        self.sentinels = sentinels
        self.quorum = quorum
        self.downAfterMs = downAfterMs
        self.failoverTimeoutMs = failoverTimeoutMs
        self.minReplicasToWrite = minReplicasToWrite
        self.minReplicasMaxLagS = minReplicasMaxLagS
    }

    /// The name the sentinels monitor the primary by (`SENTINEL get-master-addr-by-name rift`).
    public static let masterName = "rift"

    public var names: [String] { (1...sentinels).map { "s\($0)" } }
}

/// `kind: redis-sentinel`: a primary and its replicas as in `kind: redis`, watched by Redis
/// Sentinel processes (`redis-server CONF --sentinel`) that fail over by themselves; clients
/// find the primary by asking them (SentinelClient.swift).
///
/// Every link is a proxy with `from`/`to` labels: client to each node and each sentinel
/// (`client-n1`, `client-s1`), replication between every ordered pair of nodes (`n2-to-n1`,
/// and `n1-to-n2` for after a failover), each sentinel to each node (`s1-to-n1`) and to each
/// other sentinel (`s1-to-s2`). So `partition: [[n1], [n2, n3, s1, s2, s3]]` cuts n1 from its
/// replicas and the sentinels while clients still reach it.
public struct RedisSentinel: TopologyKind, Equatable {
    public static let name = "redis-sentinel"
    public var settings: SentinelSettings

    public init(settings: SentinelSettings = SentinelSettings()) { self.settings = settings }

    /// `nodes` as `kind: redis` (one primary, replicas of it), and `sentinels` (1-7, default 3),
    /// `quorum` (1 to sentinels, default 2), `down_after` (100ms-60s, default 1s),
    /// `failover_timeout` (1s-10min, default 10s), `min_replicas_to_write` (0 to the number of
    /// replicas, default 0), `min_replicas_max_lag` (whole seconds, 1s-60m, default 10s).
    /// `regions` places the nodes and the sentinels, `wan` delays the links between regions
    /// (ScenarioParser.parseRegions).
    public static func parse(_ root: LocatedNode) throws -> Topology {
        let keys = ["sentinels", "quorum", "down_after", "failover_timeout", "min_replicas_to_write", "min_replicas_max_lag"]
        let (name, nodes, nodesNode) = try ScenarioParser.parseNodeList(root, settings: keys + ["regions", "wan"])
        try RedisReplicated.checkOnePrimary(nodes, nodesNode)
        var settings = SentinelSettings()
        var quorumNode: LocatedNode?, minReplicasNode: LocatedNode?
        for (key, value) in try root.mapping() where keys.contains(key) {
            switch key {
            case "sentinels": settings.sentinels = Int(try value.int(range: 1...7))
            case "quorum":
                settings.quorum = Int(try value.int(range: 1...7))
                quorumNode = value
            case "down_after": settings.downAfterMs = try milliseconds(value, in: 100_000_000...60_000_000_000, "100ms to 60s")
            case "failover_timeout": settings.failoverTimeoutMs = try milliseconds(value, in: 1_000_000_000...600_000_000_000, "1s to 10min")
            case "min_replicas_to_write":
                settings.minReplicasToWrite = Int(try value.int(range: 0...Int64(nodes.count)))
                minReplicasNode = value
            default:
                let ns = try ScenarioParser.duration(value)
                guard ns % 1_000_000_000 == 0, (1_000_000_000...3_600_000_000_000).contains(ns) else {
                    throw value.error("expected whole seconds from 1s to 60m (Redis counts min-replicas-max-lag in seconds)")
                }
                settings.minReplicasMaxLagS = Int(ns / 1_000_000_000)
            }
        }
        if let quorumNode, settings.quorum > settings.sentinels {
            throw quorumNode.error("quorum \(settings.quorum) is more than the \(settings.sentinels) sentinels: no failover could start")
        }
        let replicas = nodes.count - 1
        if let minReplicasNode, settings.minReplicasToWrite > replicas {
            throw minReplicasNode.error("\(settings.minReplicasToWrite) is more than the \(replicas) replicas: the primary would refuse every write")
        }
        for s in settings.names where nodes.contains(where: { $0.name == s }) {
            throw nodesNode.error("node name '\(s)' is a sentinel's (sentinels are s1...s\(settings.sentinels)); pick another")
        }
        let (regions, wan) = try ScenarioParser.parseRegions(root, nodes: nodes, others: ("sentinel", settings.names))
        return Topology(name: name, kind: RedisSentinel(settings: settings), nodes: nodes, regions: regions, wan: wan)
    }

    private static func milliseconds(_ value: LocatedNode, in range: ClosedRange<Int64>, _ text: String) throws -> Int {
        let ns = try ScenarioParser.duration(value)
        guard range.contains(ns), ns % 1_000_000 == 0 else { throw value.error("expected whole milliseconds from \(text)") }
        return Int(ns / 1_000_000)
    }

    /// Clients to each sentinel, replication between every ordered pair of nodes not linked
    /// already (Sentinel may make any node the primary), each sentinel to each node and to
    /// each other sentinel. Every process dials one announced address per peer; a
    /// `SourceRouter` there tells the links apart by the dialler's source address
    /// (`RedisSentinel.sourceAddress`).
    public func extraLinks(_ nodes: [Topology.Node]) -> [Topology.Link] {
        let sentinels = settings.names
        var links = sentinels.map { Topology.Link(proxy: "client-\($0)", from: Topology.client, to: $0) }
        for a in nodes {
            for b in nodes where a.name != b.name && a.replicaOf != b.name {
                links.append(Topology.Link(proxy: "\(a.name)-to-\(b.name)", from: a.name, to: b.name))
            }
        }
        for s in sentinels {
            links += nodes.map { Topology.Link(proxy: "\(s)-to-\($0.name)", from: s, to: $0.name) }
            links += sentinels.filter { $0 != s }.map { Topology.Link(proxy: "\(s)-to-\($0)", from: s, to: $0) }
        }
        return links
    }

    public func refusal(of directive: Directive) -> String? {
        switch directive {
        case .promote: "promote would race Sentinel, which elects a new primary itself"
        case .replicaOf: "replicaof would race Sentinel, which re-points the replicas itself"
        case .rebalance: "rebalance moves a Redis cluster's slots (kind: redis-cluster); every node of a primary and its replicas holds every key"
        case .partition, .fault, .heal, .kill, .pause, .resume, .restart: nil
        }
    }

    public func refusal(of workload: WorkloadKind) -> String? {
        switch workload {
        case .nearCache: "the near-cache workload keeps its tracking connection on the primary it starts with; it does not follow Sentinel's failover"
        case .register, .set, .cacheAside: nil
        }
    }

    public func servers(_ topology: Topology) -> any FleetServers { SentinelServers(topology: topology, settings: settings) }

    /// Clients that ask the sentinels where the primary is (SentinelClient.swift) at their first
    /// operation and whenever it may have moved; until a sentinel answers them they write where
    /// the sentinels say now. Throws when no sentinel names a node.
    public func cacheClients(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec) throws -> MakeCacheClient {
        let (sentinels, nodes) = try addresses(topology, fleet: fleet)
        return try Self.clients(sentinels: sentinels, nodes: nodes, dial: [:], local: [], reads: spec.reads)
    }

    /// The clients of `region`: they ask the region's sentinels first, then the others; reach
    /// nodes and sentinels through the region's client links (`client-eu-n1` across the WAN);
    /// write to the primary the sentinels name and read from the region's nodes as `reads:`
    /// allows (every allowed node when none is in the region). Throws when no sentinel names a
    /// node.
    public func cacheClients(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec, region: String) throws -> MakeCacheClient {
        func port(_ member: String) throws -> UInt16 {
            guard let p = fleet.proxies.proxy(named: topology.clientProxy(of: member, from: region)) else {
                throw FleetError("no client link to \(member) for region \(region)")
            }
            return UInt16(p.port)
        }
        let (_, nodes) = try addresses(topology, fleet: fleet)
        let ordered = settings.names.filter { topology.region(of: $0) == region } + settings.names.filter { topology.region(of: $0) != region }
        let sentinels = try ordered.map { CacheTarget(node: $0, port: try port($0)) }
        let dial = try Dictionary(uniqueKeysWithValues: topology.nodes.map { ($0.name, try port($0.name)) })
        let local = Set(topology.nodes.map(\.name).filter { topology.region(of: $0) == region })
        return try Self.clients(sentinels: sentinels, nodes: nodes, dial: dial, local: local, reads: spec.reads)
    }

    /// Asks the sentinels once now (throwing when none names a node), and makes clients that
    /// start from that primary and ask again at their first operation.
    private static func clients(sentinels: [CacheTarget], nodes: [CacheTarget], dial: [String: UInt16], local: Set<String>, reads: ReadTarget) throws -> MakeCacheClient {
        let first = try SentinelClient(sentinels: sentinels, nodes: nodes, dial: dial, local: local, reads: reads)
        let primary = first.primary
        first.close()
        return { SentinelClient(sentinels: sentinels, nodes: nodes, dial: dial, local: local, reads: reads, primary: primary) }
    }

    /// A client of the primary the sentinels name now; throws when none answers with a node.
    public func currentClient(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec) throws -> any CacheClient {
        let (sentinels, nodes) = try addresses(topology, fleet: fleet)
        return try SentinelClient(sentinels: sentinels, nodes: nodes, reads: .primary)
    }

    /// The sentinels as clients reach them, and each node's announced address.
    private func addresses(_ topology: Topology, fleet: Fleet) throws -> (sentinels: [CacheTarget], nodes: [CacheTarget]) {
        guard let servers = fleet.servers as? SentinelServers else { throw FleetError("the fleet was not started as \(Self.name)") }
        let sentinels = try settings.names.map { s in
            guard let port = servers.sentinelClientPort(s) else { throw FleetError("no client port for \(s)") }
            return CacheTarget(node: s, port: port)
        }
        return (sentinels, try topology.nodes.map { try fleet.target($0.name) })
    }

    /// The loopback address a node's or a sentinel's outgoing connections come from
    /// (`bind-source-addr`): the nodes as `Topology.sourceAddress(of:)` numbers them, then the
    /// sentinels; clients use 127.0.0.1.
    func sourceAddress(of member: String, _ topology: Topology) -> String? {
        if let node = topology.sourceAddress(of: member) { return node }
        return settings.names.firstIndex(of: member).map { "127.0.0.\(topology.nodes.count + $0 + 2)" }
    }
}

/// The nodes (redis-server on a config file it may rewrite, `nX/redis.conf`, replicating
/// through their link proxies as `kind: redis`) and the sentinels (`redis-server sentinel.conf
/// --sentinel`, each in its own folder `sN/` with a config it may rewrite and its log,
/// `sentinel.log`).
///
/// Each node and sentinel announces `127.0.0.1:<router>` (`replica-announce-*`,
/// `sentinel announce-*`), and the sentinels are told the primary at its router; so every
/// address a sentinel reports or dials, and every address a node replicates from after a
/// failover, is a router. Each process dials from its own source address, and the router of
/// `n1` sends 127.0.0.1 (the workload, the harness) to `client-n1`, n2's address to `n2-to-n1`,
/// s1's to `s1-to-n1`.
final class SentinelServers: FleetServers, Sendable {
    let executableName = "redis-server"
    let logFile = "redis.log"
    let topology: Topology
    let settings: SentinelSettings
    private struct State {
        var sentinelPorts: [String: UInt16] = [:]
        /// `announce-n1`, `announce-s1`...: the addresses processes announce and dial.
        var routers: [String: SourceRouter] = [:]
        var sentinels: [String: ChildProcess] = [:]
    }
    private let state = Mutex(State())

    init(topology: Topology, settings: SentinelSettings) {
        self.topology = topology
        self.settings = settings
    }

    var extraLogFiles: [String] { settings.names.map { "\($0)/sentinel.log" } }

    private var kind: RedisSentinel { RedisSentinel(settings: settings) }

    func reservePorts(_ reservation: PortReservation) throws {
        for s in settings.names {
            let p = reservation.reserve()
            guard p != 0 else { throw FleetError("no free loopback port") }
            state.withLock { $0.sentinelPorts[s] = p }
        }
    }

    /// A sentinel's own port for links to it.
    func upstreamPort(of link: Topology.Link, nodePort: UInt16?) -> UInt16? {
        nodePort ?? state.withLock { $0.sentinelPorts[link.to] }
    }

    /// The port clients dial for `node`: its router, which the sentinels name.
    func clientPort(of node: String, proxies: ProxyServer) -> UInt16? { routerPort("announce-\(node)") }

    /// The port clients dial for sentinel `s`: its router, which sends them to `client-s1`.
    func sentinelClientPort(_ s: String) -> UInt16? { routerPort("announce-\(s)") }

    private func routerPort(_ name: String) -> UInt16? { state.withLock { $0.routers[name].map { UInt16($0.port) } } }

    /// One router per node and per sentinel, routing by source address to the links into it.
    /// The harness and clients without a region come from 127.0.0.1 and take the member's own
    /// client link; a region's clients dial their region's links directly (`SentinelClient.dial`).
    func startRouters(_ proxies: ProxyServer) async throws {
        let members = topology.nodes.map(\.name) + settings.names
        for target in members {
            var routes: [String: Int] = [:]
            for link in topology.links where link.to == target && link.clientRegion == nil {
                guard let port = proxies.proxy(named: link.proxy)?.port else { continue }
                let ip = link.from == Topology.client ? "127.0.0.1" : kind.sourceAddress(of: link.from, topology)!
                routes[ip] = port
            }
            let router = try await proxies.startRouter(name: "announce-\(target)", routes: routes)
            state.withLock { $0.routers["announce-\(target)"] = router }
        }
    }

    /// A Redis node's command line: its config file, `redis.conf` in its folder, written here:
    /// a Redis node's settings, announcing its router, with the primary's write guard; a replica
    /// replicates from the primary's router. A file, not arguments, as in production: Sentinel
    /// sends `CONFIG REWRITE` after each `REPLICAOF`, so a restarted node comes back with the
    /// role Sentinel gave it, not the topology's. If the file cannot be written, the server says
    /// so in its stdio.log and the fleet reports it did not start.
    func arguments(_ node: Topology.Node, port: UInt16, directory: String, proxies: ProxyServer) -> [String] {
        var args = RedisServers.arguments(port: port, directory: directory) + [
            "--bind-source-addr", kind.sourceAddress(of: node.name, topology)!,
            "--replica-announce-ip", "127.0.0.1", "--replica-announce-port", String(routerPort("announce-\(node.name)")!),
            "--min-replicas-to-write", String(settings.minReplicasToWrite),
            "--min-replicas-max-lag", String(settings.minReplicasMaxLagS),
        ]
        if let upstream = node.replicaOf { args += ["--replicaof", "127.0.0.1", String(routerPort("announce-\(upstream)")!)] }
        let path = "\(directory)/redis.conf"
        try? Self.configFile(args).write(toFile: path, atomically: true, encoding: .utf8)
        return [path]
    }

    /// Command-line options (`--name value...`) as config file lines, every value quoted.
    static func configFile(_ args: [String]) -> String {
        var lines: [String] = []
        for a in args {
            if a.hasPrefix("--") {
                lines.append(String(a.dropFirst(2)))
            } else {
                lines[lines.count - 1] += " \"" + a.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func answers(_ connection: ProbeConnection, deadlineNs: Int64) -> Bool { RedisServers.answersPing(connection, deadlineNs: deadlineNs) }

    let replication: ReplicationMarker? = ReplicationMarker(markerKey: { _, _, _ in "rift:ready" }, readPreamble: nil)

    /// A sentinel's config: Sentinel rewrites it (its state: epochs, the peers it learned), so
    /// it is a file in the sentinel's folder, not arguments.
    func config(_ s: String, port: UInt16, directory dir: String) -> String {
        let m = SentinelSettings.masterName
        let primary = topology.primary.flatMap { routerPort("announce-\($0)") }!
        return """
            port \(port)
            bind 127.0.0.1
            bind-source-addr \(kind.sourceAddress(of: s, topology)!)
            daemonize no
            dir \(dir)
            logfile \(dir)/sentinel.log
            sentinel announce-ip 127.0.0.1
            sentinel announce-port \(routerPort("announce-\(s)")!)
            sentinel monitor \(m) 127.0.0.1 \(primary) \(settings.quorum)
            sentinel down-after-milliseconds \(m) \(settings.downAfterMs)
            sentinel failover-timeout \(m) \(settings.failoverTimeoutMs)
            sentinel parallel-syncs \(m) 1

            """
    }

    /// Starts the sentinels once the nodes answer, and waits until each knows every replica and
    /// every other sentinel (they learn them from the primary's INFO and hello messages, every
    /// 2 s) and holds the primary and every replica up: before that a cut could not be failed
    /// over, and a client asking for replicas to read from would not be given them all (a
    /// replica that syncs across a WAN may miss the primary's first INFO, and then the
    /// sentinels learn it from the next, 10 s later).
    func form(port: (String) -> UInt16?, directory: String, executable: String, deadlineNs deadline: Int64) throws {
        for s in settings.names {
            let dir = "\(directory)/\(s)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let own = state.withLock { $0.sentinelPorts[s]! }
            try config(s, port: own, directory: dir).write(toFile: "\(dir)/sentinel.conf", atomically: true, encoding: .utf8)
            let child = ChildProcess(executable: executable, arguments: ["\(dir)/sentinel.conf", "--sentinel"], directory: dir)
            try child.launch()
            state.withLock { $0.sentinels[s] = child }
        }
        let replicas = topology.replicas.count, peers = settings.sentinels - 1
        for s in settings.names {
            let (own, child) = state.withLock { ($0.sentinelPorts[s]!, $0.sentinels[s]!) }
            let conn = RESPClient(reconnectingTo: own)
            defer { conn.close() }
            var last = "no reply"
            while true {
                if !child.isRunning { throw FleetError("\(s) exited during startup; see \(directory)/\(s)/sentinel.log") }
                if let reply = try? conn.request(["SENTINEL", "MASTER", SentinelSettings.masterName], deadlineNs: monotonicNs() + 500_000_000) {
                    let fields = Self.fields(reply)
                    last = ["flags", "num-slaves", "num-other-sentinels"].map { "\($0)=\(fields[$0] ?? "?")" }.joined(separator: " ")
                    if fields["flags"] == "master", fields["num-slaves"] == String(replicas), fields["num-other-sentinels"] == String(peers),
                       let listed = try? conn.request(["SENTINEL", "REPLICAS", SentinelSettings.masterName], deadlineNs: monotonicNs() + 500_000_000) {
                        let up = SentinelClient.healthyReplicas(listed).count
                        if up == replicas { break }
                        last += " replicas-up=\(up)"
                    }
                }
                if monotonicNs() > deadline {
                    throw FleetError("\(s) did not see the primary up with \(replicas) replicas and \(peers) other sentinels in time "
                        + "(SENTINEL MASTER: \(last)); see \(directory)/\(s)/sentinel.log")
                }
                usleep(50_000)
            }
        }
    }

    /// A Sentinel reply of field names and values (`SENTINEL MASTER`, one entry of `SENTINEL
    /// REPLICAS`) as a dictionary; RESP3 maps too.
    static func fields(_ reply: RESPValue) -> [String: String] {
        var out: [String: String] = [:]
        switch reply {
        case .array(let items?):
            for i in stride(from: 0, to: items.count - 1, by: 2) {
                if let k = items[i].string, let v = items[i + 1].string { out[k] = v }
            }
        case .map(let pairs):
            for pair in pairs { if let k = pair.key.string, let v = pair.value.string { out[k] = v } }
        default: break
        }
        return out
    }

    /// Stops the sentinels and closes the routers, once: `Fleet.stop()` may run twice.
    func stop() async {
        let (sentinels, routers) = state.withLock { s in
            defer { s.sentinels.removeAll(); s.routers.removeAll() }
            return (Array(s.sentinels.values), Array(s.routers.values))
        }
        for c in sentinels { c.stop(graceNs: 2_000_000_000) }
        for r in routers { await r.close() }
    }
}
