import RiftClient
import RiftCore

/// A cache node as clients reach it: its name (recorded in the history) and its client port.
public struct CacheTarget: Sendable, Equatable {
    public var node: String
    public var port: UInt16
    public init(node: String, port: UInt16) {
        self.node = node
        self.port = port
    }
}

/// Where an operation on a key goes first, as the client's routing chose it.
public struct CacheRoute: Sendable, Equatable {
    public var target: CacheTarget
    /// The target's index on a ketama ring (what auto-eject counts failures against).
    var ringIndex: Int?
    /// Whether the target is a cluster replica chosen for a read (it reads after `READONLY`).
    var replicaRead = false

    public var node: String { target.node }
}

/// How a cache node answered a read.
public enum CacheRead: Sendable, Equatable {
    case hit([UInt8])
    case miss
    /// An error reply (LOADING, READONLY, CLUSTERDOWN...): the read did not happen.
    case refused(String)
    /// A reply a read cannot have: whether anything happened is unknown.
    case unexpected(String)
}

/// How a cache node answered a store or a delete.
public enum CacheWrite: Sendable, Equatable {
    case done
    /// Not stored: `add` found the key, or memcached declined the `set`.
    case notStored
    /// An error reply: the write did not happen.
    case refused(String)
    /// A reply the write cannot have: whether it happened is unknown.
    case unexpected(String)
}

/// How a store writes: `set` replaces; `add` stores only when the key is absent.
public enum CacheStore: Sendable { case set, add }

/// One workload process's client of a fleet's cache: routing (which node a key's operation
/// goes to) and get, set/add and delete. Not thread-safe: one per process. Replies come back
/// with the node that answered (a cluster may redirect); a timeout or a broken connection
/// throws (the operation's outcome is then unknown), `.refused` surely did not happen.
public protocol CacheClient: AnyObject {
    /// The node an operation on `key` goes to first. Reads may draw on `random` (the process's
    /// seeded generator); writes never do.
    func route(_ key: String, write: Bool, random: inout SeededRandom, deadlineNs: Int64) -> CacheRoute
    func get(_ key: String, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (CacheRead, node: String)
    /// Stores `value` (TTL in whole seconds, 0: none).
    func store(_ key: String, _ value: String, ttlSeconds: Int, _ how: CacheStore, via route: CacheRoute,
               deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String)
    func delete(_ key: String, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String)
    /// Sets the key's TTL (whole seconds, more than 0), if the key is there: `.notStored` when
    /// it is not (what the invalidation bus's lag remedy does to a family's entries).
    func expire(_ key: String, ttlSeconds: Int, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String)
    /// Compare-and-set: stores `new` only while the key holds `expected` (nil: only while it is
    /// absent); `.notStored` when it held something else.
    func cas(_ key: String, expected: String?, new: String, ttlSeconds: Int, via route: CacheRoute,
             deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String)
    /// Whether the routed node answered an operation (what auto-eject counts).
    func report(_ route: CacheRoute, ok: Bool, atNs: Int64)
    func close()
}

extension CacheClient {
    public func report(_ route: CacheRoute, ok: Bool, atNs: Int64) {}
}

/// Makes one process's client; each process has its own connections and routing state.
public typealias MakeCacheClient = @Sendable () -> any CacheClient

/// A Redis cache client: get, store and delete as RESP commands, sent where the kind routes them.
public protocol RESPCacheClient: CacheClient {
    /// Sends `args` (a command on `key`) and returns the reply and the node that gave it.
    func send(_ args: [String], key: String, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (RESPValue, node: String)
}

extension RESPCacheClient {
    public func get(_ key: String, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (CacheRead, node: String) {
        let (reply, node) = try send(["GET", key], key: key, via: route, deadlineNs: deadlineNs)
        switch reply {
        case .bulkString(let s?): return (.hit(s), node)
        case .bulkString(nil): return (.miss, node)
        case .error(let e): return (.refused(e), node)
        default: return (.unexpected("unexpected reply to GET: \(reply)"), node)
        }
    }

    public func store(_ key: String, _ value: String, ttlSeconds ttl: Int, _ how: CacheStore, via route: CacheRoute,
               deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String) {
        let args = ["SET", key, value] + (ttl > 0 ? ["EX", String(ttl)] : []) + (how == .add ? ["NX"] : [])
        let (reply, node) = try send(args, key: key, via: route, deadlineNs: deadlineNs)
        switch reply {
        case .simpleString("OK"): return (.done, node)
        case .bulkString(nil) where how == .add: return (.notStored, node)
        case .error(let e): return (.refused(e), node)
        default: return (.unexpected("unexpected reply to SET: \(reply)"), node)
        }
    }

    /// One script on the key's node, so the compare and the set are one step (Redis has no
    /// CAS command); an absent `expected` is `SET NX`.
    public func cas(_ key: String, expected: String?, new: String, ttlSeconds ttl: Int, via route: CacheRoute,
                    deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String) {
        guard let expected else { return try store(key, new, ttlSeconds: ttl, .add, via: route, deadlineNs: deadlineNs) }
        let script = "if redis.call('GET', KEYS[1]) == ARGV[1] then if tonumber(ARGV[3]) > 0 then "
            + "return redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end return redis.call('SET', KEYS[1], ARGV[2]) end return false"
        let (reply, node) = try send(["EVAL", script, "1", key, expected, new, String(ttl)], key: key, via: route, deadlineNs: deadlineNs)
        switch reply {
        case .simpleString("OK"): return (.done, node)
        case .bulkString(nil), .null: return (.notStored, node)
        case .error(let e): return (.refused(e), node)
        default: return (.unexpected("unexpected reply to a CAS script: \(reply)"), node)
        }
    }

    public func expire(_ key: String, ttlSeconds ttl: Int, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String) {
        let (reply, node) = try send(["EXPIRE", key, String(ttl)], key: key, via: route, deadlineNs: deadlineNs)
        switch reply {
        case .integer(1): return (.done, node)
        case .integer: return (.notStored, node)
        case .error(let e): return (.refused(e), node)
        default: return (.unexpected("unexpected reply to EXPIRE: \(reply)"), node)
        }
    }

    public func delete(_ key: String, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String) {
        let (reply, node) = try send(["DEL", key], key: key, via: route, deadlineNs: deadlineNs)
        switch reply {
        case .integer: return (.done, node)
        case .error(let e): return (.refused(e), node)
        default: return (.unexpected("unexpected reply to DEL: \(reply)"), node)
        }
    }
}

/// One connection per port, opened on first use.
struct ConnectionPool<Connection> {
    private var open: [UInt16: Connection] = [:]
    private let connect: (UInt16) -> Connection

    init(_ connect: @escaping (UInt16) -> Connection) { self.connect = connect }

    mutating func connection(_ port: UInt16) -> Connection {
        if let c = open[port] { return c }
        let c = connect(port)
        open[port] = c
        return c
    }

    var all: [Connection] { Array(open.values) }
}
