import RiftClient
import RiftCore

/// Redis cluster key routing for the workload: the key's hash slot (CRC16/XMODEM of the key or
/// of its `{hash tag}`, mod 16384), a slot table learned from `CLUSTER SLOTS` and corrected by
/// `MOVED` redirections, and one-shot `ASK` redirections, as cluster clients do.
public enum ClusterHash {
    /// CRC16/XMODEM (polynomial 0x1021, initial 0), the cluster's key hash.
    public static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for b in bytes {
            crc ^= UInt16(b) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }

    /// The key's slot; only the part inside the first non-empty `{...}` is hashed, if any.
    public static func slot(_ key: String) -> Int {
        var bytes = Array(key.utf8)
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
           let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 {
            bytes = Array(bytes[(open + 1)..<close])
        }
        return Int(crc16(bytes)) % ClusterSettings.slotCount
    }
}

/// The cache client of a Redis cluster, one workload process's view of it: who owns each
/// slot, and a connection per node. Not thread-safe: one per process.
///
/// A client with a home region (a topology with `regions`) reaches every node through its
/// region's client links (`dial`: redirections name the announced port, the link is how this
/// region's network gets there). Its writes go to the slot's master wherever it is; its reads
/// go to the nodes `reads` allows among the slot's master and that master's replicas, those of
/// its region first (all of them when none is local). A replica is read after `READONLY`; a
/// `MOVED` from it means the slot has another master now, and the read follows it there.
public final class ClusterClient: RESPCacheClient {
    /// The nodes, by the client port they announce (what redirections name).
    let targets: [CacheTarget]
    /// The port this client dials for an announced port (its region's client link); a port
    /// missing here is dialled as announced.
    let dial: [UInt16: UInt16]
    /// The nodes of this client's region; empty: it has no region, and every request goes to
    /// the slot's master.
    let local: Set<String>
    let reads: ReadTarget
    private var owner: [Int]
    /// Each master's replicas (indices into `targets`), as `CLUSTER NODES` listed them when the
    /// slots were last learned (a client with a region only: at its first operation and after
    /// each MOVED).
    private var replicasOf: [Int: [Int]] = [:]
    private var connections = ConnectionPool { RESPClient(reconnectingTo: $0) }
    /// Connections for reads from replicas, apart from the masters' so that `READONLY` never
    /// lets a demoted master answer what it should redirect.
    private var readOnlyConnections = ConnectionPool { RESPClient(reconnectingTo: $0) }
    private var learned = false
    /// Redirections followed for one request, at most.
    static let maxRedirects = 5

    public init(targets: [CacheTarget], dial: [UInt16: UInt16] = [:], local: Set<String> = [], reads: ReadTarget = .primary) {
        self.targets = targets
        self.dial = dial
        self.local = local
        self.reads = reads
        owner = Array(repeating: -1, count: ClusterSettings.slotCount)
    }

    /// The node a request for `key` goes to first: the slot's owner as last learned; for a
    /// read by a client with a region, one of the nodes `reads` allows among the owner and its
    /// replicas, a local one when there is one.
    public func route(_ key: String, write: Bool, random: inout SeededRandom, deadlineNs: Int64) -> CacheRoute {
        let master = target(for: key, deadlineNs: deadlineNs)
        guard !local.isEmpty, !write, reads != .primary else { return CacheRoute(target: master) }
        let o = owner[ClusterHash.slot(key)]
        let replicas = (o >= 0 ? replicasOf[o] ?? [] : []).map { targets[$0] }
        let choices = reads.targets(primary: master, replicas: replicas, local: local)
        let chosen = choices[Int(random.next() % UInt64(choices.count))]
        return CacheRoute(target: chosen, replicaRead: chosen != master)
    }

    private func target(for key: String, deadlineNs: Int64) -> CacheTarget {
        if !learned { learnSlots(deadlineNs: deadlineNs) }
        let o = owner[ClusterHash.slot(key)]
        return targets[o >= 0 ? o : 0]
    }

    /// Sends the command for `key`, following MOVED (and remembering it) and ASK; returns the
    /// reply and the node that gave it. CLUSTERDOWN and other errors are replies (the command
    /// did not run); a timeout or a broken connection throws.
    public func send(_ args: [String], key: String, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (RESPValue, node: String) {
        var target = route.target
        var asking = false
        var readOnly = route.replicaRead
        for _ in 0...Self.maxRedirects {
            let port = dial[target.port] ?? target.port
            let conn = readOnly ? readOnlyConnections.connection(port) : connections.connection(port)
            if readOnly && !conn.isOpen { _ = try conn.request(["READONLY"], deadlineNs: deadlineNs) }
            if asking { _ = try conn.request(["ASKING"], deadlineNs: deadlineNs) }
            let reply = try conn.request(args, deadlineNs: deadlineNs)
            guard case .error(let message) = reply, let redirect = Redirect(message) else { return (reply, target.node) }
            guard let index = targets.firstIndex(where: { $0.port == redirect.port }) else {
                throw .protocolError("redirected to an unknown node: \(message)")
            }
            if !redirect.ask {
                owner[redirect.slot] = index
                // A moved slot may have other replicas (a failover): a client that reads them
                // learns the table again before its next operation.
                if !local.isEmpty { learned = false }
            }
            asking = redirect.ask
            readOnly = false
            target = targets[index]
        }
        throw .protocolError("more than \(Self.maxRedirects) redirections for \(key)")
    }

    /// `CLUSTER SLOTS` from the first node that answers (a client with a region asks its
    /// region's nodes first); until then every slot is unknown and requests start at the first
    /// node and follow its MOVED.
    private func learnSlots(deadlineNs: Int64) {
        for t in targets.filter({ local.contains($0.node) }) + targets.filter({ !local.contains($0.node) }) {
            let port = dial[t.port] ?? t.port
            guard case .array(let ranges?)? = try? connections.connection(port).request(["CLUSTER", "SLOTS"], deadlineNs: deadlineNs) else { continue }
            for case .array(let r?) in ranges {
                guard r.count >= 3, case .integer(let lo) = r[0], case .integer(let hi) = r[1], case .array(let master?) = r[2],
                      master.count >= 2, case .integer(let port) = master[1],
                      let index = targets.firstIndex(where: { Int64($0.port) == port }),
                      lo >= 0, hi < ClusterSettings.slotCount, lo <= hi else { continue }
                for s in Int(lo)...Int(hi) { owner[s] = index }
            }
            if !local.isEmpty { learnReplicas(port: port, deadlineNs: deadlineNs) }
            learned = true
            return
        }
    }

    /// Each master's replicas from `CLUSTER NODES` on `port`: every replica the node knows and
    /// does not hold failed (`CLUSTER SLOTS` leaves out a replica until gossip has brought its
    /// replication offset, which may be after the first operation).
    private func learnReplicas(port: UInt16, deadlineNs: Int64) {
        guard let text = (try? connections.connection(port).request(["CLUSTER", "NODES"], deadlineNs: deadlineNs))?.string else { return }
        var byID: [Substring: Int] = [:], masterOf: [(replica: Int, master: Substring)] = []
        for line in text.split(separator: "\n") {
            // `<id> <ip:port@bus[,hostname]> <flags> <master id or -> ...`
            let f = line.split(separator: " ")
            guard f.count >= 4, let address = f[1].split(separator: "@").first, let colon = address.lastIndex(of: ":"),
                  let announced = UInt16(address[address.index(after: colon)...]),
                  let index = targets.firstIndex(where: { $0.port == announced }) else { continue }
            byID[f[0]] = index
            let flags = f[2].split(separator: ",")
            if flags.contains("slave") && !flags.contains("fail") { masterOf.append((index, f[3])) }
        }
        replicasOf = [:]
        for (replica, master) in masterOf { if let m = byID[master] { replicasOf[m, default: []].append(replica) } }
    }

    public func close() { for c in connections.all + readOnlyConnections.all { c.close() } }

    /// `MOVED 3999 127.0.0.1:6381` or `ASK 3999 127.0.0.1:6381`.
    struct Redirect: Equatable {
        var ask: Bool
        var slot: Int
        var port: UInt16

        init?(_ message: String) {
            let parts = message.split(separator: " ")
            guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]), (0..<ClusterSettings.slotCount).contains(slot),
                  let colon = parts[2].lastIndex(of: ":"), let port = UInt16(parts[2][parts[2].index(after: colon)...]) else { return nil }
            self.ask = parts[0] == "ASK"
            self.slot = slot
            self.port = port
        }
    }
}
