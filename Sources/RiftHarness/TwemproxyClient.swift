import RiftClient
import RiftCore

/// The cache client of a twemproxy fleet: every operation goes to nutcracker (through
/// `client-twemproxy`), which picks the key's node on its own ring and ejects as its pool says.
///
/// The history names `twemproxy` as the node that answered: the memcached text protocol has no
/// way to ask nutcracker where it sent a key, and the ring alone cannot say it either, because
/// which servers are ejected at that instant is nutcracker's state. What each node served is in
/// result.json's `twemproxy` section (requests per server).
///
/// nutcracker answers `SERVER_ERROR <strerror>` when a server fails it. `Connection refused`
/// means the server was never reached, so the operation surely did not happen (`.refused`);
/// any other error (a timeout, a reset) may follow a write the server did carry out, so a
/// write's outcome is then unknown (`.unexpected`, recorded `info`).
public final class TwemproxyClient: CacheClient {
    let target: CacheTarget
    private let connection: MemcachedClient

    public init(target: CacheTarget) {
        self.target = target
        connection = MemcachedClient(reconnectingTo: target.port)
    }

    public func route(_ key: String, write: Bool, random: inout SeededRandom, deadlineNs: Int64) -> CacheRoute {
        CacheRoute(target: target)
    }

    public func get(_ key: String, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (CacheRead, node: String) {
        do {
            let value = try connection.get(key, deadlineNs: deadlineNs)
            return (value.map(CacheRead.hit) ?? .miss, target.node)
        } catch .serverError(let e) {
            return (.refused(e), target.node)  // a read that failed changed nothing
        }
    }

    public func store(_ key: String, _ value: String, ttlSeconds ttl: Int, _ how: CacheStore, via route: CacheRoute,
                      deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String) {
        do {
            let stored = how == .add
                ? try connection.add(key, value: Array(value.utf8), exptime: ttl, deadlineNs: deadlineNs)
                : try connection.set(key, value: Array(value.utf8), exptime: ttl, deadlineNs: deadlineNs)
            return (stored ? .done : .notStored, target.node)
        } catch .serverError(let e) {
            return (Self.writeFailure(e), target.node)
        }
    }

    /// `gets` then `cas` with its unique, both through nutcracker (it routes both to the key's node).
    public func cas(_ key: String, expected: String?, new: String, ttlSeconds ttl: Int, via route: CacheRoute,
                    deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String) {
        guard let expected else { return try store(key, new, ttlSeconds: ttl, .add, via: route, deadlineNs: deadlineNs) }
        let item: MemcachedItem?
        do { item = try connection.getItem(key, cas: true, deadlineNs: deadlineNs) } catch .serverError(let e) {
            return (.refused(e), target.node)  // nothing written yet
        }
        guard let item, item.value == Array(expected.utf8), let unique = item.cas else { return (.notStored, target.node) }
        do {
            let outcome = try connection.cas(key, value: Array(new.utf8), unique: unique, exptime: ttl, deadlineNs: deadlineNs)
            return (outcome == .stored ? .done : .notStored, target.node)
        } catch .serverError(let e) {
            return (Self.writeFailure(e), target.node)
        }
    }

    public func delete(_ key: String, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String) {
        do {
            _ = try connection.delete(key, deadlineNs: deadlineNs)
            return (.done, target.node)
        } catch .serverError(let e) {
            return (Self.writeFailure(e), target.node)
        }
    }

    /// `touch`, which nutcracker forwards to the key's server like any keyed command.
    public func expire(_ key: String, ttlSeconds ttl: Int, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String) {
        do {
            let touched = try connection.touch(key, exptime: ttl, deadlineNs: deadlineNs)
            return (touched ? .done : .notStored, target.node)
        } catch .serverError(let e) {
            return (Self.writeFailure(e), target.node)
        }
    }

    /// A write nutcracker answered with an error line: refused when the server was never
    /// reached, unknown otherwise (see the type's comment).
    static func writeFailure(_ error: String) -> CacheWrite {
        error == "SERVER_ERROR Connection refused" ? .refused(error) : .unexpected(error)
    }

    public func close() { connection.close() }
}
