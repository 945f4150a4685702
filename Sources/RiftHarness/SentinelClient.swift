import RiftClient
import RiftCore

/// The cache client of a fleet watched by Redis Sentinel, as redis-py's `Sentinel` client and
/// Jedis's sentinel pool behave: it asks the sentinels, in order, `SENTINEL
/// get-master-addr-by-name` and sends writes (and reads, as `reads:` says) to the node at that
/// address. It asks again after a connection error or a timeout, after a `READONLY` reply (the
/// node it wrote to was made a replica), and when the sentinel it subscribed to announces
/// `+switch-master`. Until an answer comes it keeps the primary it knew.
///
/// Sentinels answer with the addresses nodes announce (their routers); `nodes` maps them back
/// to node names, which the history records. An address that names no node is ignored.
///
/// A client with a home region (a topology with `regions`) asks its region's sentinels first,
/// reaches every node and sentinel through its region's client links (`dial`: the announced
/// address stands for the node, the link is how this region's network gets there), and reads
/// from its region's nodes among those `reads` allows (all of those when none is local).
public final class SentinelClient: RESPCacheClient {
    /// Each sentinel as this client reaches it, in the order it asks them.
    let sentinels: [CacheTarget]
    /// Each node at the address it announces.
    let nodes: [CacheTarget]
    /// The port this client dials for a node instead of its announced address (its region's
    /// client link); a node missing here is dialled at its announced address.
    let dial: [String: UInt16]
    /// The nodes of this client's region; empty: it has no region, every allowed node is near.
    let local: Set<String>
    let reads: ReadTarget
    /// Where writes go: the primary the sentinels last named.
    private(set) var primary: CacheTarget
    /// Where reads go besides the primary (`reads: any` or `replicas`), as the sentinels last listed them.
    private var replicas: [CacheTarget] = []
    /// Whether the next operation asks the sentinels first: at the start too, so the client
    /// subscribes to `+switch-master` before its first operation.
    private var stale = true
    /// A connection subscribed to `+switch-master` on the sentinel that last answered.
    private var subscription: RESPClient?
    private var connections = ConnectionPool { RESPClient(reconnectingTo: $0) }
    private var sentinelConnections = ConnectionPool { RESPClient(reconnectingTo: $0) }

    /// How long one sentinel gets to answer before the next is asked.
    static let askTimeoutNs: Int64 = 200_000_000

    /// Asks the sentinels at the first operation; `primary` is where writes go until one answers.
    public init(sentinels: [CacheTarget], nodes: [CacheTarget], dial: [String: UInt16] = [:], local: Set<String> = [], reads: ReadTarget, primary: CacheTarget) {
        self.sentinels = sentinels
        self.nodes = nodes
        self.dial = dial
        self.local = local
        self.reads = reads
        self.primary = primary
    }

    /// Asks the sentinels now; throws when none names a node within a second.
    public convenience init(sentinels: [CacheTarget], nodes: [CacheTarget], dial: [String: UInt16] = [:], local: Set<String> = [], reads: ReadTarget) throws {
        let names = sentinels.map(\.node).joined(separator: ", ")
        guard let first = nodes.first else { throw FleetError("no nodes") }
        self.init(sentinels: sentinels, nodes: nodes, dial: dial, local: local, reads: reads,
                  primary: CacheTarget(node: first.node, port: dial[first.node] ?? first.port))
        guard resolve(deadlineNs: monotonicNs() + 1_000_000_000) else {
            close()
            throw FleetError("no sentinel (\(names)) named a node as the primary of \(SentinelSettings.masterName)")
        }
        stale = false
    }

    public func route(_ key: String, write: Bool, random: inout SeededRandom, deadlineNs: Int64) -> CacheRoute {
        followSwitchMessages()
        if stale { stale = !resolve(deadlineNs: deadlineNs) }
        if write || reads == .primary { return CacheRoute(target: primary) }
        let targets = reads.targets(primary: primary, replicas: replicas, local: local)
        return CacheRoute(target: targets[Int(random.next() % UInt64(targets.count))])
    }

    public func send(_ args: [String], key: String, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (RESPValue, node: String) {
        let reply: RESPValue
        do {
            reply = try connections.connection(route.target.port).request(args, deadlineNs: deadlineNs)
        } catch {
            stale = true
            throw error
        }
        if case .error(let e) = reply, e.hasPrefix("READONLY") { stale = true }
        return (reply, route.target.node)
    }

    public func close() {
        for c in connections.all + sentinelConnections.all { c.close() }
        subscription?.close()
        subscription = nil
    }

    // MARK: Asking the sentinels

    /// Asks each sentinel in turn until one names a node; with `reads` other than `primary`, also
    /// the replicas it holds up. True when one answered; the first to answer is subscribed to.
    private func resolve(deadlineNs: Int64) -> Bool {
        for s in sentinels {
            let now = monotonicNs()
            guard now < deadlineNs else { return false }
            let conn = sentinelConnections.connection(s.port)
            let step = min(deadlineNs, now + Self.askTimeoutNs)
            guard let reply = try? conn.request(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelSettings.masterName], deadlineNs: step),
                  let node = node(at: reply) else { continue }
            primary = node
            if reads != .primary {
                guard let reply = try? conn.request(["SENTINEL", "REPLICAS", SentinelSettings.masterName], deadlineNs: step) else { continue }
                replicas = Self.healthyReplicas(reply).compactMap { self.node(ip: $0.ip, port: $0.port) }
            }
            if subscription == nil { subscribe(to: s, deadlineNs: step) }
            return true
        }
        return false
    }

    /// The node at an `[ip, port]` reply.
    private func node(at reply: RESPValue) -> CacheTarget? {
        guard case .array(let pair?) = reply, pair.count == 2, let ip = pair[0].string, let port = pair[1].string else { return nil }
        return node(ip: ip, port: port)
    }

    /// The node announced at `ip:port`, as this client dials it.
    private func node(ip: String, port: String) -> CacheTarget? {
        guard ip == "127.0.0.1", let p = UInt16(port), let n = nodes.first(where: { $0.port == p }) else { return nil }
        return CacheTarget(node: n.node, port: dial[n.node] ?? n.port)
    }

    /// The address of each replica in a `SENTINEL REPLICAS` reply that the sentinel holds up
    /// (not down, not disconnected), as redis-py's `discover_slaves` filters them.
    static func healthyReplicas(_ reply: RESPValue) -> [(ip: String, port: String)] {
        guard case .array(let entries?) = reply else { return [] }
        return entries.compactMap { entry in
            let f = SentinelServers.fields(entry)
            let flags = (f["flags"] ?? "").split(separator: ",")
            guard let ip = f["ip"], let port = f["port"], !flags.contains(where: { ["s_down", "o_down", "disconnected"].contains($0) }) else { return nil }
            return (ip, port)
        }
    }

    /// Subscribes to `+switch-master` on sentinel `s`, without waiting for the confirmation
    /// (`followSwitchMessages` skips it).
    private func subscribe(to s: CacheTarget, deadlineNs: Int64) {
        let conn = RESPClient(reconnectingTo: s.port)
        do {
            try conn.send([["SUBSCRIBE", "+switch-master"]], deadlineNs: deadlineNs)
            subscription = conn
        } catch {
            conn.close()
        }
    }

    /// Takes every message that has arrived on the subscription: `+switch-master` of our
    /// primary (`rift <old ip> <old port> <new ip> <new port>`) moves writes to the new one.
    /// A broken subscription is dropped; the next answer from a sentinel subscribes again.
    private func followSwitchMessages() {
        guard let sub = subscription else { return }
        while true {
            let message: RESPValue?
            do { message = try sub.readIfAvailable() } catch {
                sub.close()
                subscription = nil
                return
            }
            guard let message else { return }
            let items: [RESPValue]
            switch message {
            case .array(let a?): items = a
            case .push(let a): items = a
            default: continue
            }
            guard items.count == 3, items[0].string == "message", items[1].string == "+switch-master",
                  let words = items[2].string?.split(separator: " ").map(String.init), words.count == 5,
                  words[0] == SentinelSettings.masterName, let next = node(ip: words[3], port: words[4]) else { continue }
            primary = next
            // Replicas moved too: ask for them before the next read.
            if reads != .primary { stale = true }
        }
    }
}
