import RiftCore
import RiftProxy

/// How nutcracker spreads keys over its servers and when it takes one out: the pool settings of
/// its config that decide what a fault does to reads. Defaults are nutcracker's own, except
/// `timeout`, which nutcracker leaves unset (a request to a silent server then waits forever and
/// never counts as a failure).
public struct TwemproxySettings: Sendable, Equatable {
    /// `auto_eject_hosts`: take a server out of the ring after `serverFailureLimit` failures in a
    /// row, so its keys rehash to the others until `serverRetryTimeoutMs` has passed.
    public var autoEjectHosts = false
    public var serverFailureLimit = 2
    public var serverRetryTimeoutMs = 30_000
    /// The key hash (`hash`), one of `hashes`.
    public var hash = "fnv1a_64"
    /// `distribution`: `ketama` (consistent hashing), `modula` or `random`.
    public var distribution = "ketama"
    /// `timeout`: how long nutcracker waits on a server before it answers `SERVER_ERROR` and
    /// counts a failure.
    public var timeoutMs = 1000

    public init(autoEjectHosts: Bool = false, serverFailureLimit: Int = 2, serverRetryTimeoutMs: Int = 30_000,
                hash: String = "fnv1a_64", distribution: String = "ketama", timeoutMs: Int = 1000) {
        self.autoEjectHosts = autoEjectHosts
        self.serverFailureLimit = serverFailureLimit
        self.serverRetryTimeoutMs = serverRetryTimeoutMs
        self.hash = hash
        self.distribution = distribution
        self.timeoutMs = timeoutMs
    }

    /// The hashes nutcracker 0.5 knows.
    public static let hashes = ["one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64", "fnv1a_64", "fnv1_32", "fnv1a_32", "hsieh", "murmur", "jenkins"]
    public static let distributions = ["ketama", "modula", "random"]
}

/// `kind: twemproxy`: independent memcached nodes behind one nutcracker (twemproxy) that routes
/// each key to a node; clients talk to nutcracker only (TwemproxyFleet.swift,
/// TwemproxyClient.swift). Unlike `kind: memcached`, where each client keeps its own ring, every
/// client here sees one ring and one ejection state: nutcracker's.
///
/// Links: `client-twemproxy` (clients to nutcracker), `twemproxy-to-nX` (nutcracker to each
/// node), and each node's `client-nX`, which only the harness's readiness probes use. A
/// partition names nutcracker `twemproxy`: `[[twemproxy, n1, n3], [n2]]` cuts n2 from it.
public struct Twemproxy: TopologyKind, Equatable {
    public static let name = "twemproxy"
    /// nutcracker's name as a link end and in the history (the node that answered, as clients see it).
    public static let proxyNode = "twemproxy"
    public var settings: TwemproxySettings

    public init(settings: TwemproxySettings = TwemproxySettings()) { self.settings = settings }

    static let settingKeys = ["auto_eject_hosts", "server_failure_limit", "server_retry_timeout", "hash", "distribution", "timeout"]

    /// `nodes` as for a memcached pool, and the pool settings: `auto_eject_hosts` (default
    /// false), `server_failure_limit` (1-1000, default 2), `server_retry_timeout` (10ms-10m,
    /// default 30s), `hash` (default fnv1a_64), `distribution` (default ketama), `timeout`
    /// (10ms-60s, default 1s).
    public static func parse(_ root: LocatedNode) throws -> Topology {
        let (name, nodes, nodesNode) = try ScenarioParser.parseNodeList(root, settings: settingKeys)
        try MemcachedPool.checkNoReplicas(nodes, nodesNode)
        if nodes.contains(where: { $0.name == proxyNode }) {
            throw nodesNode.error("'\(proxyNode)' names nutcracker's side of links; pick another node name")
        }
        var s = TwemproxySettings()
        for (key, value) in try root.mapping() where settingKeys.contains(key) {
            switch key {
            case "auto_eject_hosts": s.autoEjectHosts = try value.bool()
            case "server_failure_limit": s.serverFailureLimit = Int(try value.int(range: 1...1000))
            case "server_retry_timeout": s.serverRetryTimeoutMs = try milliseconds(value, 10_000_000...600_000_000_000, "10ms to 10m")
            case "timeout": s.timeoutMs = try milliseconds(value, 10_000_000...60_000_000_000, "10ms to 60s")
            case "hash":
                s.hash = try value.string()
                if !TwemproxySettings.hashes.contains(s.hash) { throw value.error("unknown hash '\(s.hash)' (known: \(TwemproxySettings.hashes.joined(separator: ", ")))") }
            default:
                s.distribution = try value.string()
                if !TwemproxySettings.distributions.contains(s.distribution) {
                    throw value.error("unknown distribution '\(s.distribution)' (known: \(TwemproxySettings.distributions.joined(separator: ", ")))")
                }
            }
        }
        return Topology(name: name, kind: Twemproxy(settings: s), nodes: nodes)
    }

    /// A duration in `range` (nanoseconds) as whole milliseconds, nutcracker's unit.
    private static func milliseconds(_ value: LocatedNode, _ range: ClosedRange<Int64>, _ words: String) throws -> Int {
        let ns = try ScenarioParser.duration(value)
        if !range.contains(ns) || ns % 1_000_000 != 0 { throw value.error("expected \(words) in whole milliseconds") }
        return Int(ns / 1_000_000)
    }

    /// Clients to nutcracker, and nutcracker to each node.
    public func extraLinks(_ nodes: [Topology.Node]) -> [Topology.Link] {
        [Topology.Link(proxy: "client-\(Self.proxyNode)", from: Topology.client, to: Self.proxyNode)]
            + nodes.map { Topology.Link(proxy: "\(Self.proxyNode)-to-\($0.name)", from: Self.proxyNode, to: $0.name) }
    }

    public func refusal(of directive: Directive) -> String? {
        if let why = MemcachedPool.redisOnlyRefusal(of: directive) { return why }
        if case .rebalance = directive {
            return "rebalance needs ring weights in the clients (kind: memcached) or a cluster's slots; nutcracker's ring is set by its config"
        }
        return nil
    }

    /// As a memcached pool's: the same servers behind one more hop.
    public func refusal(of workload: WorkloadKind) -> String? { MemcachedPool().refusal(of: workload) }

    /// A workload's own ring settings are a client-side pool's: here nutcracker ejects.
    public func refusal(of workload: WorkloadSpec) -> String? {
        if workload.autoEject { return "workload auto_eject is for a client-side ring (kind: memcached); here nutcracker ejects: set auto_eject_hosts in the topology" }
        return refusal(of: workload.kind)
    }

    /// nutcracker, which Debian's package `nutcracker` installs.
    public func missingProgram() -> String? {
        if case .failure(let e) = TwemproxyServers.locate(TwemproxyServers.executables) { return e.message }
        return nil
    }

    /// nutcracker: clients cannot tell which node served a read (see TwemproxyClient).
    public func readNodes(_ topology: Topology, reads: ReadTarget) -> [String] { [Self.proxyNode] }

    public func servers(_ topology: Topology) -> any FleetServers { TwemproxyServers(topology: topology, settings: settings) }

    /// Every operation to nutcracker through `client-twemproxy`.
    public func cacheClients(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec) throws -> MakeCacheClient {
        let target = try fleet.target(Self.proxyNode)
        return { TwemproxyClient(target: target) }
    }
}
