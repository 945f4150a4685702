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
public final class ClusterClient: RESPCacheClient {
    /// The nodes, by the client port they announce (what redirections name).
    let targets: [CacheTarget]
    private var owner: [Int]
    private var connections = ConnectionPool { RESPClient(reconnectingTo: $0) }
    private var learned = false
    /// Redirections followed for one request, at most.
    static let maxRedirects = 5

    public init(targets: [CacheTarget]) {
        self.targets = targets
        owner = Array(repeating: -1, count: ClusterSettings.slotCount)
    }

    /// The node a request for `key` goes to first: the slot's owner as last learned.
    public func route(_ key: String, write: Bool, random: inout SeededRandom, deadlineNs: Int64) -> CacheRoute {
        CacheRoute(target: target(for: key, deadlineNs: deadlineNs))
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
        for _ in 0...Self.maxRedirects {
            let conn = connections.connection(target.port)
            if asking { _ = try conn.request(["ASKING"], deadlineNs: deadlineNs) }
            let reply = try conn.request(args, deadlineNs: deadlineNs)
            guard case .error(let message) = reply, let redirect = Redirect(message) else { return (reply, target.node) }
            guard let index = targets.firstIndex(where: { $0.port == redirect.port }) else {
                throw .protocolError("redirected to an unknown node: \(message)")
            }
            if !redirect.ask { owner[redirect.slot] = index }
            asking = redirect.ask
            target = targets[index]
        }
        throw .protocolError("more than \(Self.maxRedirects) redirections for \(key)")
    }

    /// `CLUSTER SLOTS` from the first node that answers; until then every slot is unknown and
    /// requests start at the first node and follow its MOVED.
    private func learnSlots(deadlineNs: Int64) {
        for t in targets {
            guard case .array(let ranges?)? = try? connections.connection(t.port).request(["CLUSTER", "SLOTS"], deadlineNs: deadlineNs) else { continue }
            for case .array(let r?) in ranges {
                guard r.count >= 3, case .integer(let lo) = r[0], case .integer(let hi) = r[1], case .array(let master?) = r[2],
                      master.count >= 2, case .integer(let port) = master[1],
                      let index = targets.firstIndex(where: { Int64($0.port) == port }),
                      lo >= 0, hi < ClusterSettings.slotCount, lo <= hi else { continue }
                for s in Int(lo)...Int(hi) { owner[s] = index }
            }
            learned = true
            return
        }
    }

    public func close() { for c in connections.all { c.close() } }

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
