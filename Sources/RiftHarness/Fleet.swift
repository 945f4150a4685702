import Foundation
import RiftClient
import RiftCore
import RiftFaults
import RiftProxy
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Why a fleet could not start or a node action failed.
public struct FleetError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// The user's input is at fault (an external node that does not answer at its address):
    /// `rift run` exits 2.
    public var isBadInput: Bool
    public init(_ message: String, isBadInput: Bool = false) {
        self.message = message
        self.isBadInput = isBadInput
    }
    public var description: String { message }
}

/// A fleet's servers as child processes in a run folder, on free loopback ports, with every link
/// (each client link, each replication link, a kind's own links) through its own Rift proxy.
/// What differs by kind (arguments, probes, readiness, a cluster's routers) is the kind's
/// `FleetServers`.
public final class Fleet: Sendable {
    public let topology: Topology
    public let directory: String
    public let proxies: ProxyServer
    public let executable: String
    private struct State {
        var ports: [String: UInt16] = [:]
        var processes: [String: ChildProcess] = [:]
        /// Nodes stopped with SIGSTOP and not resumed: readiness does not wait on them.
        var paused: Set<String> = []
        /// External nodes killed by their command and not restarted.
        var killed: Set<String> = []
    }
    private let state = Mutex(State())
    /// The kind's side of starting, probing, readying and stopping the servers.
    let servers: any FleetServers

    public init(topology: Topology, directory: String, seed: UInt64, executable: String? = nil) throws {
        let servers = topology.kind.servers(topology)
        let name = servers.executableName
        let exe: String
        if !servers.launchesProcesses {
            exe = ""
        } else if let found = executable ?? ["/usr/bin/\(name)", "/usr/local/bin/\(name)"].first(where: { access($0, X_OK) == 0 }) {
            exe = found
        } else {
            throw FleetError("\(name) not found (run ci/setup)")
        }
        self.topology = topology
        self.directory = directory
        self.executable = exe
        // Two threads: the proxies share the machine with the servers and the workload.
        proxies = ProxyServer(seed: seed, threads: 2)
        self.servers = servers
    }

    /// The direct port of a node (for readiness probes and the harness's own inspection).
    public func port(of node: String) -> UInt16? { state.withLock { $0.ports[node] } }

    /// The port clients use to reach `node`: its client proxy, or what its kind puts in front
    /// of it (a cluster node's announced address, which redirections name).
    public func clientPort(of node: String) -> UInt16? { servers.clientPort(of: node, proxies: proxies) }

    /// A node as the cache clients reach it.
    func target(_ node: String) throws -> CacheTarget {
        guard let port = clientPort(of: node) else { throw FleetError("no client port for \(node)") }
        return CacheTarget(node: node, port: port)
    }

    /// One workload process's cache client per call, routed as the topology's kind routes.
    public func cacheClients(for spec: WorkloadSpec) throws -> MakeCacheClient {
        try topology.kind.cacheClients(topology, fleet: self, spec: spec)
    }

    /// Each node's log (none for an external fleet), then its kind's other processes' (nutcracker's,
    /// the sentinels'), relative to the fleet's directory.
    public static func logFiles(_ topology: Topology) -> [String] {
        let servers = topology.kind.servers(topology)
        return (servers.logFile.isEmpty ? [] : topology.nodes.map { "\($0.name)/" + servers.logFile }) + servers.extraLogFiles
    }

    /// Starts proxies and servers and waits until the fleet is ready (`waitUntilReady`: every
    /// replica reads back a write made on its primary, through the proxies; a memcached node
    /// answers through its client proxy). On failure whatever started is stopped.
    public func start(timeoutNs: Int64 = 15_000_000_000) async throws {
        // Held until the servers start: the proxies below bind port 0 too.
        let reservation = PortReservation()
        do {
            try servers.agents?.checkReachable()
            if servers.launchesProcesses {
                for n in topology.nodes {
                    let p = reservation.reserve()
                    guard p != 0 else { throw FleetError("no free loopback port") }
                    state.withLock { $0.ports[n.name] = p }
                }
            } else {
                // The harness's own way to each node, never faulted: what a started node's port is.
                for n in topology.nodes {
                    guard let upstream = address(of: n.name) else {
                        throw FleetError("no address for \(n.name)")
                    }
                    let control = try await proxies.createProxy(ProxyConfig(name: "control-\(n.name)", listen: "127.0.0.1:0", upstream: upstream))
                    state.withLock { $0.ports[n.name] = UInt16(control.port) }
                }
            }
            try servers.reservePorts(reservation)
            for link in topology.links {
                guard let upstream = servers.upstream(of: link, nodePort: port(of: link.to)) else {
                    throw FleetError("no server port for link \(link.proxy) (to \(link.to))")
                }
                if let agents = servers.agents, agents.placement[link.proxy] != nil {
                    _ = try agents.create(link: link.proxy, upstream: upstream)
                    continue
                }
                let host = link.from == Topology.client ? "127.0.0.1" : servers.linkListenHost
                _ = try await proxies.createProxy(ProxyConfig(
                    name: link.proxy, listen: "\(host):0", upstream: upstream, from: link.from, to: link.to))
            }
            try await startWAN()
            try await servers.startRouters(proxies)
            reservation.release()
            for n in topology.nodes where servers.launchesProcesses {
                let dir = "\(directory)/\(n.name)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let arguments = servers.arguments(n, port: port(of: n.name)!, directory: dir, proxies: proxies)
                let child = ChildProcess(executable: executable, arguments: arguments, directory: dir)
                try child.launch()
                state.withLock { $0.processes[n.name] = child }
            }
            let deadline = monotonicNs() + timeoutNs
            for n in topology.nodes { try waitUntilAnswering(n.name, port: port(of: n.name), deadlineNs: deadline) }
            try servers.form(port: { self.port(of: $0) }, directory: directory, executable: executable, deadlineNs: deadline)
            try waitUntilReady(deadlineNs: deadline)
        } catch {
            await stop()
            throw error
        }
    }

    /// The topology's standing WAN fault (`wan:`) on every link between regions, both
    /// directions, before any server starts: replication between regions lags from its first
    /// byte. Named `wan-upstream` / `wan-downstream`; a heal leaves them (they are the network).
    private func startWAN() async throws {
        guard let config = topology.wan else { return }
        for link in topology.links where topology.crossesRegions(link) {
            guard let proxy = proxies.proxy(named: link.proxy) else { continue }
            for stream in StreamDirection.allCases {
                try await proxy.addFault(Fault(name: "wan-\(stream.rawValue)", stream: stream, config: config))
            }
        }
    }

    /// Until the node answers on `port` (its own, or its client proxy), as its kind asks
    /// (`FleetServers.answers`).
    func waitUntilAnswering(_ node: String, port: UInt16?, deadlineNs deadline: Int64) throws {
        guard let port else { throw FleetError("no node \(node)") }
        let log = "\(directory)/\(node)/\(servers.logFile)"
        let connection = ProbeConnection(port: port)
        defer { connection.close() }
        while monotonicNs() < deadline {
            if let child = state.withLock({ $0.processes[node] }), !child.isRunning {
                throw FleetError("\(node) exited during startup; see \(log)")
            }
            if servers.answers(connection, deadlineNs: monotonicNs() + 200_000_000) { return }
            usleep(20_000)
        }
        if !servers.launchesProcesses {
            throw FleetError("\(node) (\(address(of: node) ?? "?")) did not answer in time: is it running and reachable from here?", isBadInput: true)
        }
        throw FleetError("\(node) did not answer\(port == self.port(of: node) ? "" : " through its client proxy") in time; see \(log)")
    }

    /// A node Rift does not start (an external one): where it is, as its kind says.
    private func address(of node: String) -> String? {
        servers.upstream(of: Topology.Link(proxy: "", from: "", to: node), nodePort: nil)
    }

    /// Running and not paused: a node readiness can wait on.
    func isUp(_ node: String) -> Bool {
        if !servers.launchesProcesses { return state.withLock { !$0.paused.contains(node) && !$0.killed.contains(node) } }
        return state.withLock { $0.processes[node]?.isRunning == true && !$0.paused.contains(node) }
    }

    // MARK: Node actions

    private func child(_ node: String) throws -> ChildProcess {
        guard let c = state.withLock({ $0.processes[node] }) else { throw FleetError("no node \(node)") }
        return c
    }

    /// SIGKILL: the node is gone with whatever it had not replicated. (An external node: its
    /// `kill` command, and each action below likewise.)
    public func kill(_ node: String) throws {
        if !servers.launchesProcesses {
            try servers.run(action: "kill", node: node, directory: directory)
            state.withLock { _ = $0.killed.insert(node) }
            return
        }
        try child(node).kill()
    }
    /// SIGSTOP: sockets stay open, nothing is answered (a hung host).
    public func pause(_ node: String) throws {
        if servers.launchesProcesses { try child(node).signal(SIGSTOP) } else { try servers.run(action: "pause", node: node, directory: directory) }
        state.withLock { _ = $0.paused.insert(node) }
    }
    public func resume(_ node: String) throws {
        if servers.launchesProcesses { try child(node).signal(SIGCONT) } else { try servers.run(action: "resume", node: node, directory: directory) }
        state.withLock { _ = $0.paused.remove(node) }
    }

    /// Start again on the same port and wait until it is ready again (`waitUntilReady`: as a
    /// replica it reads back a write on its primary; as a primary its replicas do). With `keepData` true (Redis only) the
    /// running node first saves its dataset (`SAVE`) and comes back with it, as in a clean
    /// restart; false: it is killed and comes back empty (its RDB file is removed); nil: it is
    /// killed and starts from whatever its folder holds (a replica's last synced RDB).
    public func restart(_ node: String, keepData: Bool? = nil) throws {
        if !servers.launchesProcesses {
            // The user's command, then the same wait as for a node Rift restarts.
            try servers.run(action: "restart", node: node, directory: directory)
            state.withLock { _ = $0.killed.remove(node); _ = $0.paused.remove(node) }
            let deadline = monotonicNs() + 10_000_000_000
            try waitUntilAnswering(node, port: port(of: node), deadlineNs: deadline)
            try waitUntilReady(involving: node, deadlineNs: deadline)
            return
        }
        let c = try child(node)
        let rdb = "\(directory)/\(node)/dump.rdb"
        if keepData == true {
            if let why = topology.kind.refusal(of: .restart(node: node, keepData: true)) { throw FleetError("\(node): \(why)") }
            guard c.isRunning else { throw FleetError("\(node) is not running, so it has no data to keep (use data: lose)") }
            c.signal(SIGCONT)
            try save(node, deadline: monotonicNs() + 10_000_000_000)
        } else if keepData == false {
            try? FileManager.default.removeItem(atPath: rdb)
        }
        c.kill()
        state.withLock { _ = $0.paused.remove(node) }
        try c.launch()
        let deadline = monotonicNs() + 10_000_000_000
        try waitUntilAnswering(node, port: port(of: node), deadlineNs: deadline)
        try waitUntilReady(involving: node, deadlineNs: deadline)
    }

    /// `REPLICAOF NO ONE` on the node's own port: it stops replicating and takes writes; done
    /// when it takes a marker write (and any replica of its own reads it back).
    public func promote(_ node: String) throws {
        try command(node, ["REPLICAOF", "NO", "ONE"])
        try waitUntilReady(involving: node, deadlineNs: monotonicNs() + 10_000_000_000)
    }

    /// `REPLICAOF` the primary's own port (no proxy stands on this new link), then wait until
    /// the node reads back a write made on its new primary, so what it had of its own is gone
    /// and the stream flows when the step is done.
    public func replicaOf(_ node: String, primary: String) throws {
        guard let p = port(of: primary) else { throw FleetError("no node \(primary)") }
        try command(node, ["REPLICAOF", "127.0.0.1", String(p)])
        try waitUntilReady(involving: node, deadlineNs: monotonicNs() + 10_000_000_000)
    }

    /// Moves those of `keys` that live on `node` to `to` (a cluster migrates their slots) and
    /// returns them; throws when none lives on `node`, so a step that moves nothing is not
    /// taken for one that worked.
    public func rebalance(_ node: String, to: String, keys: [String], holdNs: Int64) throws -> [String] {
        let moved = try servers.rebalance(from: node, to: to, keys: keys, holdNs: holdNs) { self.port(of: $0) }
        if moved.isEmpty { throw FleetError("rebalance: none of \(keys.joined(separator: ", ")) lives on \(node)") }
        return moved
    }

    /// `SAVE`, waiting out a background save (a replica's sync forks one) until `deadline`.
    private func save(_ node: String, deadline: Int64) throws {
        while true {
            do {
                try command(node, ["SAVE"])
                return
            } catch let error as FleetError where error.message.contains("in progress") && monotonicNs() < deadline {
                usleep(100_000)
            }
        }
    }

    private func command(_ node: String, _ args: [String]) throws {
        guard let p = port(of: node) else { throw FleetError("no node \(node)") }
        try Self.expectOK(node, port: p, args)
    }

    /// Sends `args` to the node on `port` and expects `+OK`; the error names the node, the
    /// command and what came back.
    static func expectOK(_ node: String, port p: UInt16, _ args: [String]) throws {
        let conn = RESPClient(reconnectingTo: p)
        defer { conn.close() }
        let reply: RESPValue
        do { reply = try conn.request(args, deadlineNs: monotonicNs() + 2_000_000_000) } catch {
            throw FleetError("\(node): \(args.joined(separator: " ")): \(error)")
        }
        guard reply == .simpleString("OK") else { throw FleetError("\(node): \(args.joined(separator: " ")): \(reply)") }
    }

    /// Adds `fault` to the proxy of `link`, on the harness's own proxy server or on the agent
    /// that holds it; throws when there is no such proxy, or the agent does not take it.
    public func addFault(_ fault: Fault, link: String) async throws {
        if let agents = servers.agents, agents.placement[link] != nil {
            try await offThePool { Result { try agents.addFault(fault, link: link) } }.get()
            return
        }
        guard let proxy = proxies.proxy(named: link) else { throw FleetError("no proxy \(link)") }
        try await proxy.addFault(fault)
    }

    /// Removes a fault `addFault` added.
    public func removeFault(named name: String, link: String) async throws {
        if let agents = servers.agents, agents.placement[link] != nil {
            try await offThePool { Result { try agents.removeFault(named: name, link: link) } }.get()
            return
        }
        try await proxies.proxy(named: link)?.removeFault(named: name)
    }

    /// Whether `link`'s proxy exists here or on an agent.
    public func hasLink(_ link: String) -> Bool {
        servers.agents?.placement[link] != nil || proxies.proxy(named: link) != nil
    }

    /// The first agent that stopped answering, if any (nil without agents).
    public func silentAgent() async -> AgentError? {
        guard let agents = servers.agents else { return nil }
        return await offThePool { agents.firstSilent() }
    }

    /// Per agent that stopped answering: what it did not answer, and what may remain on it.
    public var agentFailures: [String] { servers.agents?.failures ?? [] }

    /// Stops every server (SIGTERM, SIGKILL after a grace) and every proxy. Idempotent.
    public func stop() async {
        let all = state.withLock { Array($0.processes.values) }
        for c in all { c.signal(SIGCONT) }
        for c in all { c.stop(graceNs: 2_000_000_000) }
        await servers.stop()
        await proxies.shutdown()
    }
}
