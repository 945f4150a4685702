import RiftClient
import RiftCore
import Synchronization

/// The cache client of a memcached pool: every operation goes to the key's node on this
/// process's own ketama ring, with auto-eject (as libmemcached does it) when the spec asks.
public final class KetamaClient: CacheClient {
    let nodes: [CacheTarget]
    private(set) var ring: KetamaRing
    let autoEject: Bool
    /// The pool's weights, which a `rebalance` step changes; nil: every weight stays 1.
    let weights: RingWeights?
    private var weightsVersion = 0
    private var ejection: EjectionState
    private var connections = ConnectionPool { MemcachedClient(reconnectingTo: $0) }

    public init(nodes: [CacheTarget], spec: WorkloadSpec, weights: RingWeights? = nil) {
        self.nodes = nodes
        self.weights = weights
        let (version, w) = weights?.current ?? (0, nil)
        weightsVersion = version
        ring = KetamaRing(servers: nodes.map(\.node), weights: w)
        autoEject = spec.autoEject
        ejection = EjectionState(failureLimit: spec.failureLimit, retryTimeoutNs: spec.retryTimeoutNs)
    }

    /// The key's node among the live ones (every node when all are ejected), on a ring rebuilt
    /// when the pool's weights changed since the last request.
    public func route(_ key: String, write: Bool, random: inout SeededRandom, deadlineNs: Int64) -> CacheRoute {
        if let (version, w) = weights?.current, version != weightsVersion {
            ring = KetamaRing(servers: nodes.map(\.node), weights: w)
            weightsVersion = version
        }
        let t = monotonicNs()
        let i = ring.server(for: key) { autoEject ? ejection.isLive($0, at: t) : true } ?? ring.server(for: key)!
        return CacheRoute(target: nodes[i], ringIndex: i)
    }

    public func get(_ key: String, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (CacheRead, node: String) {
        let value = try connections.connection(route.target.port).get(key, deadlineNs: deadlineNs)
        return (value.map(CacheRead.hit) ?? .miss, route.target.node)
    }

    public func store(_ key: String, _ value: String, ttlSeconds ttl: Int, _ how: CacheStore, via route: CacheRoute,
                      deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String) {
        let c = connections.connection(route.target.port)
        do {
            let stored = how == .add
                ? try c.add(key, value: Array(value.utf8), exptime: ttl, deadlineNs: deadlineNs)
                : try c.set(key, value: Array(value.utf8), exptime: ttl, deadlineNs: deadlineNs)
            return (stored ? .done : .notStored, route.target.node)
        } catch .serverError(let e) {
            return (.refused(e), route.target.node)  // an error line: the server did not store it
        }
    }

    /// `gets` then `cas` with its unique: stored only when the value read is `expected` and no
    /// one wrote the key in between (memcached refuses the `cas` then: `EXISTS`).
    public func cas(_ key: String, expected: String?, new: String, ttlSeconds ttl: Int, via route: CacheRoute,
                    deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String) {
        guard let expected else { return try store(key, new, ttlSeconds: ttl, .add, via: route, deadlineNs: deadlineNs) }
        let c = connections.connection(route.target.port)
        do {
            guard let item = try c.getItem(key, cas: true, deadlineNs: deadlineNs), item.value == Array(expected.utf8), let unique = item.cas else {
                return (.notStored, route.target.node)
            }
            let outcome = try c.cas(key, value: Array(new.utf8), unique: unique, exptime: ttl, deadlineNs: deadlineNs)
            return (outcome == .stored ? .done : .notStored, route.target.node)
        } catch .serverError(let e) {
            return (.refused(e), route.target.node)
        }
    }

    public func delete(_ key: String, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String) {
        _ = try connections.connection(route.target.port).delete(key, deadlineNs: deadlineNs)
        return (.done, route.target.node)
    }

    public func expire(_ key: String, ttlSeconds ttl: Int, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (CacheWrite, node: String) {
        do {
            let touched = try connections.connection(route.target.port).touch(key, exptime: ttl, deadlineNs: deadlineNs)
            return (touched ? .done : .notStored, route.target.node)
        } catch .serverError(let e) {
            return (.refused(e), route.target.node)
        }
    }

    public func report(_ route: CacheRoute, ok: Bool, atNs: Int64) {
        if autoEject, let i = route.ringIndex { ejection.report(i, ok: ok, at: atNs) }
    }

    public func close() { for c in connections.all { c.close() } }
}

/// A memcached pool's ring weights, shared by every workload process's client: a `rebalance`
/// step sets them, and each client rebuilds its ring on its next request, as a fleet's clients
/// pick up a new server list.
public final class RingWeights: Sendable {
    private let state: Mutex<(version: Int, weights: [Double])>

    public init(count: Int) { state = Mutex((0, Array(repeating: 1, count: count))) }

    public var current: (version: Int, weights: [Double]) { state.withLock { $0 } }

    public func set(_ weights: [Double]) {
        state.withLock { $0 = ($0.version + 1, weights) }
    }
}
