import Foundation
import RiftClient
import RiftCore
import RiftProxy
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What a Redis cluster fleet needs beyond a replicated one: each node's cluster bus port, the
/// routers that stand on the addresses nodes announce, and the steps that form the cluster.
///
/// Each node announces `127.0.0.1:<client router>` and `<bus router>` (`cluster-announce-*`),
/// and dials from its own source address (`bind-source-addr 127.0.0.N`). The client router
/// sends 127.0.0.1 (the workload, the harness) to `client-nX` and a node's address to its
/// replication link (`n4-to-n1`); the bus router sends each node's address to its bus link
/// (`n2-to-n1-bus`). A region's clients dial their region's client links directly
/// (`ClusterClient.dial`: `client-eu-n1` for n1's announced port). So every link is a proxy with `from`/`to` labels, and
/// `partition: [[n1], [n2, n3]]` cuts the bus between n1 and the others and nothing else.
final class ClusterServers: FleetServers, Sendable {
    let executableName = "redis-server"
    let logFile = "redis.log"
    let topology: Topology
    let settings: ClusterSettings
    private struct State {
        var busPorts: [String: UInt16] = [:]
        var clientRouters: [String: SourceRouter] = [:]
        var busRouters: [String: SourceRouter] = [:]
    }
    private let state = Mutex(State())

    init(topology: Topology, settings: ClusterSettings) {
        self.topology = topology
        self.settings = settings
    }

    func reservePorts(_ reservation: PortReservation) throws {
        for n in topology.nodes {
            let p = reservation.reserve()
            guard p != 0 else { throw FleetError("no free loopback port") }
            state.withLock { $0.busPorts[n.name] = p }
        }
    }

    /// The server port a link's proxy forwards to: the bus port for bus links.
    func upstreamPort(of link: Topology.Link, nodePort: UInt16?) -> UInt16? {
        link.proxy.hasSuffix("-bus") ? state.withLock { $0.busPorts[link.to] } : nodePort
    }

    /// The port clients dial for `node`: the address the node announces, whose router
    /// sends clients to its client proxy (redirections name it).
    func clientPort(of node: String, proxies: ProxyServer) -> UInt16? { state.withLock { $0.clientRouters[node].map { UInt16($0.port) } } }

    func startRouters(_ proxies: ProxyServer) async throws {
        func port(_ proxy: String) -> Int? { proxies.proxy(named: proxy)?.port }
        for n in topology.nodes {
            var clientRoutes = ["127.0.0.1": port("client-\(n.name)")!]
            var busRoutes: [String: Int] = [:]
            for peer in topology.nodes where peer.name != n.name {
                let ip = topology.sourceAddress(of: peer.name)!
                if let p = port("\(peer.name)-to-\(n.name)") { clientRoutes[ip] = p }
                busRoutes[ip] = port("\(peer.name)-to-\(n.name)-bus")!
            }
            let client = try await proxies.startRouter(name: "announce-\(n.name)", routes: clientRoutes)
            state.withLock { $0.clientRouters[n.name] = client }
            let bus = try await proxies.startRouter(name: "announce-\(n.name)-bus", routes: busRoutes)
            state.withLock { $0.busRouters[n.name] = bus }
        }
    }

    /// A Redis node's arguments (no `--replicaof`: `form` makes replicas) and the cluster's.
    func arguments(_ n: Topology.Node, port: UInt16, directory: String, proxies: ProxyServer) -> [String] {
        let node = n.name
        let (bus, client, busRouter) = state.withLock { ($0.busPorts[node]!, $0.clientRouters[node]!.port, $0.busRouters[node]!.port) }
        return RedisServers.arguments(port: port, directory: directory) + [
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", String(bus),
            "--cluster-node-timeout", String(settings.nodeTimeoutMs),
            "--cluster-announce-ip", "127.0.0.1", "--cluster-announce-port", String(client), "--cluster-announce-bus-port", String(busRouter),
            "--bind-source-addr", topology.sourceAddress(of: node)!,
            // A replica cut off for a while may still take over (the failover the scenarios provoke).
            "--cluster-replica-validity-factor", "0",
        ]
    }

    /// Slots to the masters, one config epoch each, MEET through the routers, REPLICATE, then
    /// wait until every node says `cluster_state:ok` with all 16384 slots ok. Whether the
    /// replicas' streams flow is the fleet's readiness (`Fleet.waitUntilReady`).
    func form(port: (String) -> UInt16?, directory: String, executable: String, deadlineNs deadline: Int64) throws {
        let masters = topology.clusterMasters
        for (i, n) in topology.nodes.enumerated() {
            try expectOK(n.name, port(n.name)!, ["CLUSTER", "SET-CONFIG-EPOCH", String(i + 1)])
        }
        for (i, m) in masters.enumerated() {
            let r = settings.slots(ofMaster: i)
            try expectOK(m, port(m)!, ["CLUSTER", "ADDSLOTSRANGE", String(r.lowerBound), String(r.upperBound)])
        }
        let first = topology.nodes[0].name
        for n in topology.nodes.dropFirst() {
            let (client, bus) = state.withLock { ($0.clientRouters[n.name]!.port, $0.busRouters[n.name]!.port) }
            try expectOK(first, port(first)!, ["CLUSTER", "MEET", "127.0.0.1", String(client), String(bus)])
        }
        let count = topology.nodes.count
        try waitUntil("every node knows all \(count) nodes", deadline: deadline) {
            topology.nodes.allSatisfy { n in info(port(n.name)!).contains("cluster_known_nodes:\(count)\r\n") }
        }
        for n in topology.nodes {
            guard let master = n.replicaOf else { continue }
            guard let id = try request(master, port(master)!, ["CLUSTER", "MYID"]).string else { throw FleetError("\(master): CLUSTER MYID gave no id") }
            // The replica may not have the master's id from gossip yet: retry until it has.
            var last = ""
            try waitUntil("\(n.name) replicates \(master) (last reply: \(last))", deadline: deadline) {
                let r = try? request(n.name, port(n.name)!, ["CLUSTER", "REPLICATE", id])
                last = "\(String(describing: r))"
                return r == .simpleString("OK")
            }
        }
        try waitUntil("cluster_state:ok with 16384 slots on every node", deadline: deadline) {
            topology.nodes.allSatisfy { n in
                let i = info(port(n.name)!)
                return i.contains("cluster_state:ok\r\n") && i.contains("cluster_slots_ok:16384\r\n")
            }
        }
    }

    func answers(_ connection: ProbeConnection, deadlineNs: Int64) -> Bool { RedisServers.answersPing(connection, deadlineNs: deadlineNs) }

    /// Markers keyed in a slot the root serves; replicas read after `READONLY`.
    var replication: ReplicationMarker? {
        ReplicationMarker(markerKey: { node, port, deadline in try Self.markerKey(node, port: port, deadlineNs: deadline) }, readPreamble: ["READONLY"])
    }

    /// A key in the first slot range `node` serves by its own `CLUSTER NODES` line (asked on
    /// `port`), for the readiness marker: a master takes a write only for its own slots. Nil
    /// when it serves none.
    static func markerKey(_ node: String, port: UInt16, deadlineNs: Int64) throws -> String? {
        let conn = RESPClient(reconnectingTo: port)
        defer { conn.close() }
        let reply: RESPValue
        do { reply = try conn.request(["CLUSTER", "NODES"], deadlineNs: deadlineNs) } catch {
            throw FleetError("\(node): CLUSTER NODES: \(error)")
        }
        guard let text = reply.string, let me = text.split(separator: "\n").first(where: { $0.contains("myself") }) else {
            throw FleetError("\(node): CLUSTER NODES: \(reply)")
        }
        let ranges = slotRanges(ofLine: me)
        guard let range = ranges.first else { return nil }
        // A slot is hit by about one tag in 16384: the search ends well within this bound.
        for tag in 0..<1_000_000 where range.contains(ClusterHash.slot("rift:ready:{\(tag)}")) { return "rift:ready:{\(tag)}" }
        return nil
    }

    /// The slot ranges of one `CLUSTER NODES` line: fields 9 on are `0-5460` or `42`; `[...]`
    /// marks a slot in migration, which the node does not serve alone.
    static func slotRanges(ofLine line: Substring) -> [ClosedRange<Int>] {
        line.split(separator: " ").dropFirst(8).compactMap { field -> ClosedRange<Int>? in
            let ends = field.split(separator: "-").compactMap { Int($0) }
            guard !field.hasPrefix("["), let lo = ends.first, let hi = ends.last, ends.count <= 2, lo <= hi else { return nil }
            return lo...hi
        }
    }

    /// Migrates the slots of those of `keys` that `node` serves to `to` while the workload
    /// runs, as `redis-cli --cluster reshard` does: `SETSLOT IMPORTING` on `to`, `SETSLOT
    /// MIGRATING` on `node`, `MIGRATE` of the slot's keys to `to`'s own port (the migration
    /// link has no proxy), `holdNs` with the slot still in migration (clients asking `node`
    /// for a moved key get ASK), then `SETSLOT NODE` on `to`, `node` and the other masters
    /// (clients still routing to `node` get MOVED). Done when every master maps each slot to `to`.
    func rebalance(from node: String, to: String, keys: [String], holdNs: Int64, port: (String) -> UInt16?) throws -> [String] {
        guard let src = port(node), let dst = port(to) else { throw FleetError("rebalance: no node \(node) or \(to)") }
        let masters = topology.clusterMasters
        guard masters.contains(node), masters.contains(to) else { throw FleetError("rebalance: \(node) and \(to) must both be masters") }
        func id(_ n: String, _ p: UInt16) throws -> String {
            guard let id = try request(n, p, ["CLUSTER", "MYID"]).string else { throw FleetError("\(n): CLUSTER MYID gave no id") }
            return id
        }
        let (srcID, dstID) = (try id(node, src), try id(to, dst))
        guard let mine = try request(node, src, ["CLUSTER", "NODES"]).string?.split(separator: "\n").first(where: { $0.contains("myself") }) else {
            throw FleetError("\(node): CLUSTER NODES gave no line for itself")
        }
        let owned = Self.slotRanges(ofLine: mine)
        let moving = keys.filter { k in owned.contains { $0.contains(ClusterHash.slot(k)) } }
        let slots = Set(moving.map(ClusterHash.slot)).sorted()
        for slot in slots.map(String.init) {
            try expectOK(to, dst, ["CLUSTER", "SETSLOT", slot, "IMPORTING", srcID])
            try expectOK(node, src, ["CLUSTER", "SETSLOT", slot, "MIGRATING", dstID])
            while true {
                guard case .array(let batch?) = try request(node, src, ["CLUSTER", "GETKEYSINSLOT", slot, "100"]) else {
                    throw FleetError("\(node): CLUSTER GETKEYSINSLOT \(slot): not an array")
                }
                let names = batch.compactMap(\.string)
                if names.isEmpty { break }
                let reply = try request(node, src, ["MIGRATE", "127.0.0.1", String(dst), "", "0", "5000", "KEYS"] + names)
                guard reply == .simpleString("OK") || reply == .simpleString("NOKEY") else {
                    throw FleetError("\(node): MIGRATE slot \(slot) to \(to): \(reply)")
                }
            }
            if holdNs > 0 { usleep(useconds_t(min(holdNs / 1000, Int64(UInt32.max)))) }
            for n in [to, node] + masters.filter({ $0 != to && $0 != node }) {
                try expectOK(n, port(n)!, ["CLUSTER", "SETSLOT", slot, "NODE", dstID])
            }
        }
        try waitUntil("every master maps slots \(slots) to \(to)", deadline: monotonicNs() + 10_000_000_000) {
            try masters.allSatisfy { m in
                guard let line = try request(m, port(m)!, ["CLUSTER", "NODES"]).string?.split(separator: "\n")
                    .first(where: { $0.hasPrefix(dstID) }) else { return false }
                let ranges = Self.slotRanges(ofLine: line)
                return slots.allSatisfy { s in ranges.contains { $0.contains(s) } }
            }
        }
        return moving
    }

    /// Closes every router once: `Fleet.stop()` may run twice, and a second close would wait
    /// on event loops that are gone.
    func stop() async {
        let all = state.withLock { s in
            defer { s.clientRouters.removeAll(); s.busRouters.removeAll() }
            return Array(s.clientRouters.values) + Array(s.busRouters.values)
        }
        for r in all { await r.close() }
    }

    // MARK: Commands on a node's own port

    private func request(_ node: String, _ port: UInt16, _ args: [String]) throws -> RESPValue {
        let conn = RESPClient(reconnectingTo: port)
        defer { conn.close() }
        do { return try conn.request(args, deadlineNs: monotonicNs() + 2_000_000_000) } catch {
            throw FleetError("\(node): \(args.joined(separator: " ")): \(error)")
        }
    }

    private func expectOK(_ node: String, _ port: UInt16, _ args: [String]) throws {
        let reply = try request(node, port, args)
        guard reply == .simpleString("OK") else { throw FleetError("\(node): \(args.joined(separator: " ")): \(reply)") }
    }

    private func info(_ port: UInt16) -> String {
        guard let s = (try? request("", port, ["CLUSTER", "INFO"]))?.string else { return "" }
        return s
    }

    private func waitUntil(_ what: @autoclosure () -> String, deadline: Int64, _ done: () throws -> Bool) throws {
        while monotonicNs() < deadline {
            if try done() { return }
            usleep(50_000)
        }
        throw FleetError("cluster not ready in time: \(what())")
    }
}
