import Foundation
import RiftChecker
import RiftClient
import RiftCore
import RiftProxy
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A twemproxy fleet's processes: the memcached nodes, as a memcached pool runs them, and one
/// nutcracker, started once they answer and stopped with the fleet. nutcracker listens on its
/// own port behind `client-twemproxy` and reaches each node through `twemproxy-to-nX`, so a
/// partition cuts what nutcracker sees. Its config (`nutcracker.yml`), log (`nutcracker.log`)
/// and output (`stdio.log`) are in the fleet's `twemproxy/` folder. It runs in the foreground
/// (no `-d`), so Rift owns it: it dies with rift as the servers do.
final class TwemproxyServers: FleetServers, Sendable {
    let topology: Topology
    let settings: TwemproxySettings
    /// The nodes' arguments and probe, as a memcached pool's.
    private let memcached: MemcachedServers
    private struct State {
        var listenPort: UInt16 = 0
        var statsPort: UInt16 = 0
        /// Each node's `twemproxy-to-nX` proxy port: the server address in nutcracker's config.
        var serverPorts: [String: UInt16] = [:]
        var clientPort: UInt16 = 0
        var process: ChildProcess?
    }
    private let state = Mutex(State())

    /// The pool's name in nutcracker's config and stats.
    static let pool = "rift"
    static let folder = Twemproxy.proxyNode
    /// nutcracker aggregates its stats this often (`-i`, default 30 s); a scrape waits for two.
    static let statsIntervalMs = 100
    /// Where Debian's package `nutcracker` puts the binary, then other usual places.
    static let executables = ["/usr/sbin/nutcracker", "/usr/bin/nutcracker", "/usr/local/sbin/nutcracker", "/usr/local/bin/nutcracker"]

    /// The first of `paths` that is an executable, or why there is none.
    static func locate(_ paths: [String]) -> Result<String, FleetError> {
        if let path = paths.first(where: { access($0, X_OK) == 0 }) { return .success(path) }
        return .failure(FleetError("nutcracker not found (looked in \(paths.joined(separator: ", "))): install Debian's package nutcracker (ci/setup does)"))
    }

    init(topology: Topology, settings: TwemproxySettings) {
        self.topology = topology
        self.settings = settings
        memcached = MemcachedServers(nodes: topology.nodes.map(\.name))
    }

    var executableName: String { memcached.executableName }
    var logFile: String { memcached.logFile }
    var extraLogFiles: [String] { ["\(Self.folder)/nutcracker.log"] }
    var replication: ReplicationMarker? { nil }

    func arguments(_ node: Topology.Node, port: UInt16, directory: String, proxies: ProxyServer) -> [String] {
        memcached.arguments(node, port: port, directory: directory, proxies: proxies)
    }

    func answers(_ connection: ProbeConnection, deadlineNs: Int64) -> Bool { memcached.answers(connection, deadlineNs: deadlineNs) }

    /// nutcracker's listening port and its stats port.
    func reservePorts(_ reservation: PortReservation) throws {
        let listen = reservation.reserve(), stats = reservation.reserve()
        guard listen != 0, stats != 0 else { throw FleetError("no free loopback port") }
        state.withLock { $0.listenPort = listen; $0.statsPort = stats }
    }

    /// `client-twemproxy` forwards to nutcracker's own port.
    func upstreamPort(of link: Topology.Link, nodePort: UInt16?) -> UInt16? {
        link.to == Twemproxy.proxyNode ? state.withLock { $0.listenPort } : nodePort
    }

    /// No routers: notes the proxies nutcracker and the clients go through.
    func startRouters(_ proxies: ProxyServer) async throws {
        var ports: [String: UInt16] = [:]
        for n in topology.nodes {
            guard let p = proxies.proxy(named: "\(Twemproxy.proxyNode)-to-\(n.name)") else { throw FleetError("no proxy \(Twemproxy.proxyNode)-to-\(n.name)") }
            ports[n.name] = UInt16(p.port)
        }
        guard let client = proxies.proxy(named: "client-\(Twemproxy.proxyNode)") else { throw FleetError("no proxy client-\(Twemproxy.proxyNode)") }
        state.withLock { $0.serverPorts = ports; $0.clientPort = UInt16(client.port) }
    }

    /// The pool as nutcracker reads it: each server by its proxy's address and the node's name
    /// (ketama places a named server by its name, so the ring does not depend on ports).
    static func config(settings s: TwemproxySettings, listenPort: UInt16, servers: [(name: String, port: UInt16)]) -> String {
        var lines = [
            "\(pool):",
            "  listen: 127.0.0.1:\(listenPort)",
            "  hash: \(s.hash)",
            "  distribution: \(s.distribution)",
            "  auto_eject_hosts: \(s.autoEjectHosts)",
            "  server_failure_limit: \(s.serverFailureLimit)",
            "  server_retry_timeout: \(s.serverRetryTimeoutMs)",
            "  timeout: \(s.timeoutMs)",
            "  servers:",
        ]
        lines += servers.map { "    - 127.0.0.1:\($0.port):1 \($0.name)" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the config, starts nutcracker and waits until it serves through
    /// `client-twemproxy`: probe keys spread over the ring all answer (hit or miss).
    func form(port: (String) -> UInt16?, directory: String, executable: String, deadlineNs deadline: Int64) throws {
        let exe = try Self.locate(Self.executables).get()
        let dir = "\(directory)/\(Self.folder)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (listen, stats, serverPorts, clientPort) = state.withLock { ($0.listenPort, $0.statsPort, $0.serverPorts, $0.clientPort) }
        let conf = Self.config(settings: settings, listenPort: listen, servers: topology.nodes.map { ($0.name, serverPorts[$0.name]!) })
        try conf.write(toFile: dir + "/nutcracker.yml", atomically: true, encoding: .utf8)
        // -v 6: each server connection's end is logged. Debian's build logs no ejections or
        // server errors at any level; the stats port counts them (`scrapeStats`).
        let child = ChildProcess(executable: exe, arguments: [
            "-c", dir + "/nutcracker.yml", "-o", dir + "/nutcracker.log", "-s", String(stats), "-a", "127.0.0.1",
            "-i", String(Self.statsIntervalMs), "-v", "6",
        ], directory: dir)
        try child.launch()
        state.withLock { $0.process = child }
        let client = MemcachedClient(reconnectingTo: clientPort)
        defer { client.close() }
        var last = "no answer"
        while monotonicNs() < deadline {
            guard child.isRunning else { throw FleetError("nutcracker exited during startup; see \(dir)/nutcracker.log and \(dir)/stdio.log") }
            do {
                for i in 0..<32 { _ = try client.get("rift:ready:\(i)", deadlineNs: min(deadline, monotonicNs() + 500_000_000)) }
                return
            } catch {
                last = "\(error)"
            }
            usleep(50_000)
        }
        throw FleetError("nutcracker did not serve through client-\(Twemproxy.proxyNode) in time (last: \(last)); see \(dir)/nutcracker.log")
    }

    /// nutcracker's stats port, read once its counters cover everything sent so far (they are
    /// aggregated every `statsIntervalMs`).
    func scrapeStats(deadlineNs: Int64) throws -> TwemproxyStats? {
        let (port, running) = state.withLock { ($0.statsPort, $0.process?.isRunning == true) }
        guard running else { throw FleetError("nutcracker is not running: no stats to read") }
        usleep(useconds_t(2 * Self.statsIntervalMs * 1000))
        let text: [UInt8]
        do {
            let socket = try BlockingSocket(port: port, deadlineNs: deadlineNs)
            defer { socket.close() }
            text = try socket.receiveUntilClosed(limit: 1 << 20)
        } catch {
            throw FleetError("nutcracker stats on port \(port): \(error)")
        }
        return try Self.parseStats(text, pool: Self.pool)
    }

    /// The pool's counters from the stats port's JSON (`{"pool": {"server_ejects": 1, "n1":
    /// {"requests": ...}, ...}, ...}`): its server entries are the members that are objects.
    static func parseStats(_ json: [UInt8], pool: String) throws -> TwemproxyStats {
        let root = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any]
        guard let p = root?[pool] as? [String: Any] else {
            throw FleetError("nutcracker stats: no pool '\(pool)' in \(String(decoding: json.prefix(200), as: UTF8.self))")
        }
        func int(_ object: [String: Any], _ key: String) throws -> Int {
            guard let n = object[key] as? NSNumber else { throw FleetError("nutcracker stats: no number '\(key)' in pool '\(pool)'") }
            return n.intValue
        }
        var stats = TwemproxyStats(pool: pool, ejections: try int(p, "server_ejects"), forwardErrors: try int(p, "forward_error"),
                                   clientErrors: try int(p, "client_err"))
        for case let (name, server as [String: Any]) in p {
            let ejectedAt = try int(server, "server_ejected_at")
            stats.servers[name] = TwemproxyStats.Server(
                requests: try int(server, "requests"), responses: try int(server, "responses"), errors: try int(server, "server_err"),
                timeouts: try int(server, "server_timedout"), eof: try int(server, "server_eof"), lastEjectedAtUs: ejectedAt > 0 ? Int64(ejectedAt) : nil)
        }
        return stats
    }

    /// Stops nutcracker (SIGTERM, SIGKILL after a grace); idempotent.
    func stop() async {
        state.withLock { $0.process }?.stop(graceNs: 2_000_000_000)
    }
}
