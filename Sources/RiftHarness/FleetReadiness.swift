import Foundation
import RiftClient
import RiftCore
#if canImport(Glibc)
import Glibc
#endif

/// When a fleet is ready: after `start` and after every node action that changes who
/// replicates what (`restart`, `promote`, `replicaof`), for every Redis fleet kind.
///
/// `master_link_status:up` is not ready: after a full sync the primary holds the replication
/// stream until the replica's first `REPLCONF ACK` (replicas send one about once a second), so
/// a replica whose link is up can serve reads a second old. A replica is ready when a marker
/// written on the root of its replication tree (its primary, or its primary's primary) after
/// the replica caught up is read back on it: the stream then flows end to end, through every
/// proxy on the way. Hence two rounds: a marker written while a replica syncs may reach it in
/// the snapshot, not the stream, so the first round only shows it caught up, and the second
/// marker can reach it only through the stream. A root with no replicas is ready when it takes
/// the marker. memcached nodes replicate nothing: a node is ready when it answers `version`
/// (see `Fleet.waitUntilAnswering`).
struct ReplicationReadiness {
    /// One replica to prove: a marker written on `root` must be read back on `replica`.
    struct Pair: Equatable, CustomStringConvertible {
        var root: String
        var replica: String
        var description: String { "\(root) -> \(replica)" }
    }

    /// The port the probe talks to a node on (its client proxy while that link is clear).
    var port: (String) -> UInt16?
    /// The marker key `root` takes writes for, asked on `port`; nil when it takes none (a
    /// cluster master that owns no slot), which leaves its replicas unproved.
    var markerKey: (_ root: String, _ port: UInt16, _ deadlineNs: Int64) throws -> String?
    /// Sent on a replica's connection before it is read (a cluster replica answers reads only
    /// after `READONLY`).
    var readPreamble: [String]?

    /// Every pair to prove in a replication graph (`upstream`: each replica's primary): each
    /// replica with its root, when its whole chain can carry the marker (`carries(replica,
    /// primary)` on every hop; the root must be `up`). `involving`: only replicas whose chain
    /// passes through that node (itself included); nil: every replica.
    static func pairs(upstream: [String: String], involving node: String? = nil,
                      up: (String) -> Bool, carries: (_ replica: String, _ primary: String) -> Bool) -> [Pair] {
        var out: [Pair] = []
        for replica in upstream.keys.sorted() {
            var chain = [replica]
            while let next = upstream[chain.last!], !chain.contains(next) { chain.append(next) }
            // A cycle (two nodes replicating each other) has no root to write on.
            guard upstream[chain.last!] == nil, node.map(chain.contains) ?? true else { continue }
            guard up(chain.last!), zip(chain, chain.dropFirst()).allSatisfy({ carries($0, $1) }) else { continue }
            out.append(Pair(root: chain.last!, replica: replica))
        }
        return out
    }

    /// Two rounds (see the type's comment) of: one fresh marker on each root (roots with no
    /// pair are given as `roots`), then wait until every pair's replica reads it back.
    func wait(for pairs: [Pair], roots: [String] = [], deadlineNs: Int64) throws {
        for round in 1...2 { try markerRound(pairs, roots: roots, nonce: "\(getpid())-\(monotonicNs())-\(round)", deadlineNs: deadlineNs) }
    }

    private func markerRound(_ pairs: [Pair], roots: [String], nonce: String, deadlineNs: Int64) throws {
        var keys: [String: String] = [:]
        for root in Set(pairs.map(\.root) + roots).sorted() {
            guard let p = port(root) else { throw FleetError("no node \(root)") }
            guard let key = try markerKey(root, p, deadlineNs) else { continue }
            let set = try poll("\(root): SET \(key)", port: p, deadlineNs: deadlineNs) { conn, step in
                try conn.request(["SET", key, nonce], deadlineNs: step) == .simpleString("OK")
            }
            guard set else { throw FleetError("\(root) did not take the readiness marker (SET \(key)) in time") }
            keys[root] = key
        }
        for pair in pairs {
            guard let key = keys[pair.root] else { continue }
            guard let p = port(pair.replica) else { throw FleetError("no node \(pair.replica)") }
            var last = "no reply"
            let seen = try poll("\(pair.replica): GET \(key)", port: p, deadlineNs: deadlineNs) { conn, step in
                if !conn.isOpen, let readPreamble { _ = try conn.request(readPreamble, deadlineNs: step) }
                let reply = try conn.request(["GET", key], deadlineNs: step)
                last = "\(reply)"
                return reply == .bulk(nonce)
            }
            if !seen {
                throw FleetError("replica \(pair.replica) did not read back a write made on \(pair.root) in time "
                    + "(GET \(key): \(last), expected \(nonce)); the replication stream does not flow")
            }
        }
    }

    /// Runs `attempt` on one connection every 10 ms until it says true (true) or the deadline
    /// passes (false). A failed request is retried on a fresh connection.
    private func poll(_ what: String, port: UInt16, deadlineNs: Int64,
                      _ attempt: (RESPClient, Int64) throws -> Bool) throws -> Bool {
        let conn = RESPClient(reconnectingTo: port)
        defer { conn.close() }
        while monotonicNs() < deadlineNs {
            if (try? attempt(conn, min(deadlineNs, monotonicNs() + 1_000_000_000))) == true { return true }
            usleep(10_000)
        }
        return false
    }

    /// The upstream of each replica as the servers report it (`ROLE`), for nodes `asked`;
    /// `nodeBehind` names the node behind the port a replica dials (its own port, or a proxy or
    /// router standing for it). Nodes that do not answer within a second are left out.
    static func liveUpstream(asked: [(node: String, port: UInt16)], nodeBehind: (UInt16) -> String?, deadlineNs: Int64) -> [String: String] {
        var out: [String: String] = [:]
        for (name, port) in asked {
            let conn = RESPClient(reconnectingTo: port)
            defer { conn.close() }
            guard case .array(let role?)? = try? conn.request(["ROLE"], deadlineNs: min(deadlineNs, monotonicNs() + 1_000_000_000)),
                  role.count >= 3, role[0] == .bulk("slave"), case .integer(let p) = role[2],
                  let primary = UInt16(exactly: p).flatMap(nodeBehind) else { continue }
            out[name] = primary
        }
        return out
    }
}

extension Fleet {
    /// Whether a proxy carries its bytes as they are: it listens and holds no fault or partition.
    /// A link the timeline cut on purpose is not waited for; a missing proxy (a `replicaof` to
    /// a node's own port) stands for a direct link, which is clear.
    func linkIsClear(_ proxyName: String) -> Bool {
        if let clear = servers.agents?.isClear(proxyName) { return clear }
        guard let proxy = proxies.proxy(named: proxyName) else { return true }
        let s = proxy.snapshot
        return s.listening && s.faults.isEmpty && s.partitionFaults.isEmpty
    }

    /// The port readiness probes a node on: its client proxy while that link is clear (the path
    /// the workload takes), else its own port (a timeline may have cut the client link).
    func probePort(_ node: String) -> UInt16? {
        linkIsClear("client-\(node)") ? clientPort(of: node) : port(of: node)
    }

    /// A replicating kind (`FleetServers.replication`): every replica reads back a marker
    /// written on its root; otherwise every node answers. `involving`: only the replicas whose
    /// chain passes through that node (after a node action); nil: the whole fleet (after
    /// `start`), from the topology's graph.
    func waitUntilReady(involving node: String? = nil, deadlineNs: Int64) throws {
        guard let replication = servers.replication else {
            for n in node.map({ [$0] }) ?? topology.nodes.map(\.name) {
                try waitUntilAnswering(n, port: probePort(n), deadlineNs: deadlineNs)
            }
            return
        }
        let upstream: [String: String]
        if node == nil {
            upstream = Dictionary(uniqueKeysWithValues: topology.nodes.compactMap { n in n.replicaOf.map { (n.name, $0) } })
        } else {
            let asked = topology.nodes.compactMap { n in isUp(n.name) ? port(of: n.name).map { (n.name, $0) } : nil }
            upstream = ReplicationReadiness.liveUpstream(asked: asked, nodeBehind: nodeBehind(port:), deadlineNs: deadlineNs)
        }
        let pairs = ReplicationReadiness.pairs(upstream: upstream, involving: node, up: isUp) { replica, primary in
            isUp(replica) && isUp(primary) && linkIsClear("\(replica)-to-\(primary)")
        }
        // Roots take the marker too: the proof that a primary with no replica answers.
        let roots = node.map { n in upstream[n] == nil && isUp(n) ? [n] : [] }
            ?? topology.nodes.filter { $0.replicaOf == nil }.map(\.name)
        let readiness = ReplicationReadiness(
            port: probePort,
            markerKey: replication.markerKey,
            readPreamble: replication.readPreamble)
        try readiness.wait(for: pairs, roots: roots, deadlineNs: deadlineNs)
    }

    /// The node behind a port a replica dials: a node's own port, its client port (a
    /// cluster's announced address), or a replication link's proxy.
    func nodeBehind(port p: UInt16) -> String? {
        for n in topology.nodes where port(of: n.name) == p || clientPort(of: n.name) == p { return n.name }
        return topology.links.first { $0.from != Topology.client && (servers.agents?.port(of: $0.proxy) ?? proxies.proxy(named: $0.proxy).map { UInt16($0.port) }) == p }?.to
    }
}
