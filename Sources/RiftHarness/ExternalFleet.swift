import Foundation
import RiftClient
import RiftCore
import RiftProxy
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `kind: external`: a fleet the user already runs (a docker-compose stack, VMs, pods), given
/// by address. Rift starts no server: it puts its proxies in front of the nodes, and carries
/// out node actions with the user's own commands.
///
/// ```yaml
/// name: my-redis
/// kind: external
/// protocol: redis              # or memcached (every node speaks it)
/// route_replication: true      # replicas stream through Rift's proxies (REPLICAOF, restored after)
/// advertise: 127.0.0.1         # where nodes reach Rift's link proxies
/// nodes:
///   - {name: n1, address: 10.1.2.3:6379}
///   - {name: n2, address: 10.1.2.4:6379, replicaof: n1}
/// actions:
///   n2: {kill: "docker kill redis-2", restart: "docker start redis-2"}
/// action_timeout: 30s
/// ```
///
/// With `hosts:` the nodes live on hosts whose agents (`rift server --api ... --token FILE`)
/// hold the links that leave them: `hosts: {h1: {api: "http://10.0.0.1:8474", token_file:
/// h1.token}}` and `host: h1` on a node. A replica's replication link is then created on its
/// host's agent, listening on that host's address (`advertise` is for nodes without a host).
public struct External: TopologyKind, Equatable {
    public static let name = "external"

    public enum NodeProtocol: String, Sendable, CaseIterable { case redis, memcached }

    public var nodeProtocol: NodeProtocol
    /// Each node's `host:port`.
    public var addresses: [String: String]
    public var routeReplication: Bool
    /// The host nodes dial to reach Rift's replication-link proxies.
    public var advertise: String
    /// Per node, action name (`kill`, `restart`, `pause`, `resume`) to shell command.
    public var actions: [String: [String: String]]
    public var actionTimeoutNs: Int64
    /// Host name to its agent.
    public var hosts: [String: AgentHost] = [:]
    /// Node name to its host, for the nodes that name one.
    public var nodeHosts: [String: String] = [:]

    public static let actionNames = ["kill", "restart", "pause", "resume"]

    public static func parse(_ root: LocatedNode) throws -> Topology {
        var name: String?, proto = NodeProtocol.redis, route = false, advertise = "127.0.0.1", timeout: Int64 = 30_000_000_000
        var nodes: [Topology.Node] = [], addresses: [String: String] = [:], actions: [String: [String: String]] = [:]
        var nodesNode: LocatedNode?, actionsNode: LocatedNode?, routeNode: LocatedNode?
        var hosts: [String: AgentHost] = [:], nodeHosts: [String: (host: String, at: LocatedNode)] = [:]
        for (key, value) in try root.mapping(allowedKeys: ["name", "kind", "protocol", "route_replication", "advertise", "nodes", "actions", "action_timeout", "hosts"]) {
            switch key {
            case "name": name = try value.string()
            case "kind": break
            case "protocol":
                guard let p = NodeProtocol(rawValue: try value.string()) else { throw value.error("expected redis or memcached") }
                proto = p
            case "route_replication": route = try value.bool(); routeNode = value
            case "advertise":
                advertise = try value.string()
                if advertise.isEmpty || advertise.contains(":") { throw value.error("expected a host or IPv4 address the nodes can reach, e.g. 10.0.0.5") }
            case "hosts":
                for (host, entry) in try value.mapping() {
                    do { try RiftName.validate(host) } catch { throw entry.error("\(error)") }
                    hosts[host] = try parseHost(host, entry)
                }
            case "action_timeout":
                timeout = try ScenarioParser.duration(value)
                if timeout < 100_000_000 || timeout > 3_600_000_000_000 { throw value.error("expected 100ms to 1h") }
            case "nodes":
                nodesNode = value
                for n in try value.sequence() {
                    var nodeName: String?, address: String?, replicaOf: String?, host: (String, LocatedNode)?
                    for (k, v) in try n.mapping(allowedKeys: ["name", "address", "replicaof", "host"]) {
                        switch k {
                        case "name":
                            let s = try v.string()
                            do { try RiftName.validate(s) } catch { throw v.error("\(error)") }
                            if s == Topology.client { throw v.error("'client' names the clients' side of links; pick another node name") }
                            if nodes.contains(where: { $0.name == s }) { throw v.error("node name '\(s)' is used twice") }
                            nodeName = s
                        case "address":
                            let s = try v.string()
                            guard let colon = s.lastIndex(of: ":"), !s[..<colon].isEmpty, let port = UInt16(s[s.index(after: colon)...]), port > 0 else {
                                throw v.error("expected host:port, e.g. 10.1.2.3:6379")
                            }
                            address = s
                        case "host": host = (try v.string(), v)
                        default: replicaOf = try v.string()
                        }
                    }
                    guard let nodeName else { throw n.error("missing required field: name", field: n.path + ".name") }
                    guard let address else { throw n.error("missing required field: address", field: n.path + ".address") }
                    nodes.append(Topology.Node(name: nodeName, replicaOf: replicaOf))
                    addresses[nodeName] = address
                    if let host { nodeHosts[nodeName] = host }
                }
            default:
                actionsNode = value
                for (node, list) in try value.mapping() {
                    var commands: [String: String] = [:]
                    for (action, command) in try list.mapping(allowedKeys: actionNames) {
                        let text = try command.string()
                        if text.trimmingCharacters(in: .whitespaces).isEmpty { throw command.error("an empty command") }
                        commands[action] = text
                    }
                    actions[node] = commands
                }
            }
        }
        guard let name else { throw root.error("missing required field: name", field: "name") }
        guard let nodesNode, !nodes.isEmpty else { throw root.error("a topology needs at least one node", field: "nodes") }
        for (node, host) in nodeHosts where hosts[host.host] == nil {
            throw host.at.error("\(node): no host '\(host.host)' (hosts: \(hosts.keys.sorted().joined(separator: ", ")))")
        }
        if let actionsNode, let unknown = actions.keys.sorted().first(where: { a in !nodes.contains { $0.name == a } }) {
            throw actionsNode.error("no node '\(unknown)' (nodes: \(nodes.map(\.name).joined(separator: ", ")))")
        }
        switch proto {
        case .memcached:
            try MemcachedPool.checkNoReplicas(nodes, nodesNode)
            if let routeNode, route { throw routeNode.error("route_replication needs protocol: redis") }
        case .redis:
            try RedisReplicated.checkOnePrimary(nodes, nodesNode)
        }
        let kind = External(nodeProtocol: proto, addresses: addresses, routeReplication: route, advertise: advertise, actions: actions,
                            actionTimeoutNs: timeout, hosts: hosts, nodeHosts: nodeHosts.mapValues(\.host))
        return Topology(name: name, kind: kind, nodes: nodes)
    }

    /// One `hosts:` entry: `api: http://HOST:PORT` and `token_file:` (relative to the topology
    /// file's folder). The token is read here, so a missing or empty file is an error at its line.
    static func parseHost(_ name: String, _ entry: LocatedNode) throws -> AgentHost {
        var api: (String, UInt16, String)?, token: AgentToken?
        for (key, value) in try entry.mapping(allowedKeys: ["api", "token_file"]) {
            switch key {
            case "api":
                let text = try value.string()
                guard let (host, port) = AgentHost.parseAPI(text) else { throw value.error("expected http://HOST:PORT, e.g. http://10.0.0.1:8474") }
                api = (host, port, text)
            default:
                var path = try value.string()
                if !path.hasPrefix("/") {
                    let folder = (entry.file as NSString).deletingLastPathComponent
                    path = folder.isEmpty ? path : folder + "/" + path
                }
                guard let data = FileManager.default.contents(atPath: path) else { throw value.error("cannot read token file \(path)") }
                let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if text.isEmpty { throw value.error("token file \(path) is empty") }
                if text.contains(where: \.isNewline) { throw value.error("token file \(path) holds more than one line") }
                token = AgentToken(file: path, value: text)
            }
        }
        guard let api else { throw entry.error("missing required field: api", field: entry.path + ".api") }
        guard let token else { throw entry.error("missing required field: token_file (the agent's --token file)", field: entry.path + ".token_file") }
        return AgentHost(name: name, api: api.2, host: api.0, port: api.1, token: token)
    }

    /// Each node-to-node link on an agent: the agent of the host its `from` node lives on.
    public func linkPlacement(_ topology: Topology) -> [String: AgentHost] {
        var placement: [String: AgentHost] = [:]
        for link in topology.links where link.from != Topology.client {
            if let host = nodeHosts[link.from], let agent = hosts[host] { placement[link.proxy] = agent }
        }
        return placement
    }

    /// The node actions are the configured commands, nothing else; promote, replicaof and
    /// rebalance are not Rift's to do here; a partition between nodes needs their links routed.
    public func refusal(of directive: Directive) -> String? {
        func configured(_ node: String, _ action: String) -> String? {
            actions[node]?[action] != nil ? nil
                : "\(action) on \(node) needs a command: add actions: {\(node): {\(action): \"...\"}} to the topology"
        }
        switch directive {
        case .kill(let n): return configured(n, "kill")
        case .pause(let n): return configured(n, "pause")
        case .resume(let n): return configured(n, "resume")
        case .restart(let n, let keep):
            if keep != nil { return "restart with data: keep or lose is Rift's own restart; an external node restarts as its command does (write restart: \(n))" }
            return configured(n, "restart")
        case .promote: return "promote is not done on an external fleet: give the command as a node action, or let its own failover act"
        case .replicaOf: return "replicaof is not done on an external fleet"
        case .rebalance: return "rebalance is not done on an external fleet"
        case .partition(let groups, _):
            if !routeReplication && !groups.joined().contains(Topology.client) {
                return "a partition between nodes cuts their replication links, which Rift proxies only with route_replication: true (or name client in a group)"
            }
            return nil
        case .fault, .heal: return nil
        }
    }

    /// The kind whose workloads, reads and clients this fleet's nodes take: a primary with
    /// replicas, or a memcached pool.
    var base: any TopologyKind { nodeProtocol == .redis ? RedisReplicated() : MemcachedPool() }

    public func refusal(of workload: WorkloadKind) -> String? { base.refusal(of: workload) }

    public func readNodes(_ topology: Topology, reads: ReadTarget) -> [String] { base.readNodes(topology, reads: reads) }

    public func servers(_ topology: Topology) -> any FleetServers { ExternalServers(topology: topology, kind: self) }

    public func cacheClients(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec) throws -> MakeCacheClient {
        try base.cacheClients(topology, fleet: fleet, spec: spec)
    }

    public func currentClient(_ topology: Topology, fleet: Fleet, spec: WorkloadSpec) throws -> any CacheClient {
        try base.currentClient(topology, fleet: fleet, spec: spec)
    }

    /// A replica's link proxy exists only when Rift routes replication.
    public var proxiesReplication: Bool { routeReplication }
}

/// A node action's command that failed or timed out: the run goes on, the action is recorded
/// as a nemesis `info` event, and the run's verdict is unknown.
public struct ActionFailure: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// An external fleet's side: no process; a control proxy per node (`control-n1`, never
/// faulted, the harness's own way to each node, as a started node's own port is); the
/// replicas re-pointed through their link proxies and back; the actions' commands.
final class ExternalServers: FleetServers {
    let executableName = ""
    let logFile = ""
    let topology: Topology
    let kind: External
    private struct State {
        /// Replicas re-pointed through a proxy, with the command that restores each.
        var rerouted: [(node: String, port: UInt16, restore: [String])] = []
        var actionCount = 0
    }
    private let state = Mutex(State())
    /// The links that live on the hosts' agents (none without `hosts:`).
    let agentLinks: AgentLinks

    init(topology: Topology, kind: External) {
        self.topology = topology
        self.kind = kind
        agentLinks = AgentLinks(placement: kind.linkPlacement(topology))
    }

    var agents: AgentLinks? { agentLinks.placement.isEmpty ? nil : agentLinks }

    var launchesProcesses: Bool { false }

    func arguments(_ node: Topology.Node, port: UInt16, directory: String, proxies: ProxyServer) -> [String] { [] }

    func upstream(of link: Topology.Link, nodePort: UInt16?) -> String? { kind.addresses[link.to] }

    var linkListenHost: String { kind.advertise }

    func answers(_ connection: ProbeConnection, deadlineNs: Int64) -> Bool {
        switch kind.nodeProtocol {
        case .redis: RedisServers.answersPing(connection, deadlineNs: deadlineNs)
        case .memcached: (try? connection.memcached.version(deadlineNs: deadlineNs)) != nil
        }
    }

    var replication: ReplicationMarker? {
        kind.nodeProtocol == .redis ? ReplicationMarker(markerKey: { _, _, _ in "rift:ready" }, readPreamble: nil) : nil
    }

    /// With `route_replication`: each replica replicates from its link proxy (`REPLICAOF
    /// <advertise> <proxy port>`, or its host's address when the link is on its host's agent),
    /// and `stop` points it back at its primary's address.
    func form(port: (String) -> UInt16?, directory: String, executable: String, deadlineNs: Int64) throws {
        guard kind.routeReplication else { return }
        for n in topology.nodes {
            guard let primary = n.replicaOf, let control = port(n.name) else { continue }
            let name = "\(n.name)-to-\(primary)"
            guard let link = linkPorts[name] else { continue }
            let (host, primaryPort) = Self.split(kind.addresses[primary]!)
            // Recorded before it is sent: a reply lost on the way still leaves it to restore.
            state.withLock { $0.rerouted.append((n.name, control, ["REPLICAOF", host, primaryPort])) }
            try Fleet.expectOK(n.name, port: control, ["REPLICAOF", agentLinks.host(of: name) ?? kind.advertise, String(link)])
        }
    }

    /// The link proxies' ports, which `Fleet.start` hands over before `form`.
    var linkPorts: [String: UInt16] {
        get { linkState.withLock { $0 } }
        set { linkState.withLock { $0 = newValue } }
    }
    private let linkState = Mutex<[String: UInt16]>([:])

    func startRouters(_ proxies: ProxyServer) async throws {
        var ports: [String: UInt16] = [:]
        for link in topology.links where link.from != Topology.client {
            if let p = agentLinks.port(of: link.proxy) ?? proxies.proxy(named: link.proxy).map({ UInt16($0.port) }) { ports[link.proxy] = p }
        }
        linkPorts = ports
    }

    /// Points every re-routed replica back at its primary's own address, then deletes the
    /// proxies Rift created on the agents; once.
    func stop() async {
        let all = state.withLock { s in
            defer { s.rerouted.removeAll() }
            return s.rerouted
        }
        for r in all { try? Fleet.expectOK(r.node, port: r.port, r.restore) }
        agentLinks.removeAll()
    }

    /// Runs `node`'s command for `action` with `/bin/sh -c`, under the action timeout, its
    /// output in `directory/actions/`; throws `ActionFailure` when it fails or times out.
    func run(action: String, node: String, directory: String) throws {
        guard let command = kind.actions[node]?[action] else {
            throw ActionFailure(message: "\(action) on \(node): no command configured")
        }
        let n = state.withLock { s in s.actionCount += 1; return s.actionCount }
        let dir = directory + "/actions"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let log = "\(dir)/\(n)-\(node)-\(action).log"
        _ = FileManager.default.createFile(atPath: log, contents: Data("$ \(command)\n".utf8))
        let process = ChildProcess(executable: "/bin/sh", arguments: ["-c", command], directory: directory, outputPath: log)
        do { try process.launch() } catch { throw ActionFailure(message: "\(action) on \(node): \(error)") }
        let deadline = monotonicNs() + kind.actionTimeoutNs
        while process.isRunning && monotonicNs() < deadline { usleep(10_000) }
        if process.isRunning {
            process.stop(graceNs: 200_000_000)
            throw ActionFailure(message: "\(action) on \(node): `\(command)` did not finish in \(DurationParser.readable(nanoseconds: kind.actionTimeoutNs)) (see \(log))")
        }
        if let status = process.exitStatus, status != 0 {
            throw ActionFailure(message: "\(action) on \(node): `\(command)` exited with status \(status) (see \(log))")
        }
    }

    static func split(_ address: String) -> (host: String, port: String) {
        let colon = address.lastIndex(of: ":")!
        return (String(address[..<colon]), String(address[address.index(after: colon)...]))
    }
}
