import RiftCore
import RiftProxy

/// Options of the `cache-aside` workload (`type: cache-aside`); the shared parameters
/// (processes, rate, duration, keys, distribution, writes, timeout) are the `WorkloadSpec`'s.
public struct CacheAsideSpec: Sendable, Equatable {
    /// What a writer does to the cache after the origin took its write.
    public enum WriteMode: String, Sendable, CaseIterable {
        /// Delete the key: the next reader misses and fills from the origin.
        case invalidate
        /// Set the new version in the cache.
        case update
    }

    /// What an origin request does when `capOriginConcurrency` requests are already in flight.
    public enum OverCap: String, Sendable, CaseIterable {
        /// Wait for a permit until the operation's timeout; then give up as `fail`.
        case wait
        /// Give up at once as `fail` (no origin request was sent).
        case fail
    }

    /// The origin's service time per GET or SET (`origin: {service_time: 100ms}`).
    public var originServiceTimeNs: Int64 = 100_000_000
    /// Deadline of one origin request, counted from its permit (`origin: {timeout: 5s}`). Longer
    /// than the operation's timeout on purpose: a request given up on still holds the origin,
    /// so giving up early lets more than the cap reach it.
    public var originTimeoutNs: Int64 = 5_000_000_000
    public var writeMode = WriteMode.invalidate
    /// Cache data under `<key>@v<version>` and each key's current version under `<key>@ver`:
    /// a writer sets `<key>@ver` after the origin (no `write_mode`), a reader follows it to the
    /// versioned entry, and old versioned entries are never overwritten (they expire by TTL).
    public var versionedKeys = false
    /// On a cache node's error or timeout, serve the last version this process saw of the key
    /// (recorded with node `local`, counted as stale-served) instead of asking the origin.
    public var serveStaleIfPossible = false
    /// Most origin requests in flight over all processes (a client-side semaphore); nil: no cap.
    public var capOriginConcurrency: Int?
    public var overCap = OverCap.wait
    /// TTL per key family: key `c<i>` is in family `i % ttls.count`. 0: no expiry. memcached
    /// counts whole seconds: a TTL is rounded up to the next second.
    public var ttlsNs: [Int64] = [0]
    /// A shorter TTL for fills and updates of a key written less than `lagWindowNs` ago (any
    /// process): a fill that raced an invalidation then holds an old version only this long.
    public var lagTtlNs: Int64?
    public var lagWindowNs: Int64 = 1_000_000_000
    /// How a write's change reaches the cache (`invalidation:`).
    public var invalidation = Invalidation()
    /// Bytes of payload per value (the version is stored in front of it).
    public var valueSize = 32
    /// Fill the origin (version 1) and the cache with every key before the run, so a storm
    /// is the fault's and not a cold start's.
    public var warm = true

    public init() {}

    /// `invalidation: {mode: bus, invalidators: 1, on_lag: {shorten_ttl: 1s, max_lag: 500ms, hold: 5s}}`.
    public struct Invalidation: Sendable, Equatable {
        public enum Mode: String, Sendable, CaseIterable {
            /// The writer deletes or updates the cache itself, right after the origin took its write.
            case direct
            /// The writer writes the origin only; the origin publishes each change on the bus node's
            /// pub/sub channels (one per key family) and invalidator processes apply it
            /// (`InvalidationBus`), so the bus links' faults make invalidations late or lost.
            case bus
        }

        public var mode = Mode.direct
        /// Invalidator processes on the bus, each subscribed to the channels of its key families
        /// (family `f` goes to invalidator `f % invalidators`).
        public var invalidators = 1
        /// The runbook's remedy for invalidation lag: while an invalidator sees late changes, a gap
        /// in a channel's sequence numbers or a silent channel, the family's cached entries are cut
        /// to this TTL and its fills use it. nil: lag is detected and counted, nothing is done.
        public var shortenTtlNs: Int64?
        /// A change that reaches its invalidator later than this after the origin took it is late;
        /// a channel silent this long (the origin sends a heartbeat every 100 ms) is lagging.
        public var maxLagNs: Int64 = 500_000_000
        /// The remedy lasts this long after the last late change, gap or silence.
        public var holdNs: Int64 = 5_000_000_000

        public init() {}
    }

    /// memcached's exptime for a TTL: whole seconds, rounded up; 0 stays 0 (no expiry).
    static func memcachedSeconds(_ ns: Int64) -> Int { ns <= 0 ? 0 : Int((ns + 999_999_999) / 1_000_000_000) }
}

extension ScenarioParser {
    static let cacheAsideKeys = [
        "origin", "write_mode", "serve_stale_if_possible", "cap_origin_concurrency", "over_cap",
        "ttl", "lag_ttl", "lag_window", "value_size", "warm", "versioned_keys", "invalidation",
    ]

    /// One `cache-aside` option into `spec`; false when `key` is not one of them.
    static func parseCacheAsideOption(_ key: String, _ value: LocatedNode, into spec: inout CacheAsideSpec) throws -> Bool {
        switch key {
        case "origin":
            for (k, v) in try value.mapping(allowedKeys: ["service_time", "timeout"]) {
                let ns = try duration(v)
                if k == "timeout" {
                    if ns <= 0 || ns > 60_000_000_000 { throw v.error("must be more than 0 and at most 60s") }
                    spec.originTimeoutNs = ns
                } else {
                    if ns < 0 || ns > 10_000_000_000 { throw v.error("must be between 0 and 10s") }
                    spec.originServiceTimeNs = ns
                }
            }
        case "write_mode":
            guard let m = CacheAsideSpec.WriteMode(rawValue: try value.string()) else {
                throw value.error("expected one of: \(CacheAsideSpec.WriteMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            spec.writeMode = m
        case "serve_stale_if_possible": spec.serveStaleIfPossible = try value.bool()
        case "cap_origin_concurrency": spec.capOriginConcurrency = Int(try value.int(range: 1...100_000))
        case "over_cap":
            guard let m = CacheAsideSpec.OverCap(rawValue: try value.string()) else {
                throw value.error("expected one of: \(CacheAsideSpec.OverCap.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            spec.overCap = m
        case "ttl":
            if case .sequence = value.node {
                let items = try value.sequence()
                if items.isEmpty || items.count > 64 { throw value.error("expected 1 to 64 TTLs, one per key family") }
                spec.ttlsNs = try items.map(ttl)
            } else {
                spec.ttlsNs = [try ttl(value)]
            }
        case "lag_ttl": spec.lagTtlNs = try positiveDuration(value)
        case "lag_window": spec.lagWindowNs = try positiveDuration(value)
        case "value_size": spec.valueSize = Int(try value.int(range: 0...65_536))
        case "warm": spec.warm = try value.bool()
        case "versioned_keys": spec.versionedKeys = try value.bool()
        case "invalidation": spec.invalidation = try invalidation(value)
        default: return false
        }
        return true
    }

    /// Options that exclude each other, once all are read; `fields` holds each option's node.
    static func checkCacheAsideOptions(_ spec: CacheAsideSpec, fields: [String: LocatedNode]) throws {
        if spec.versionedKeys, let writeMode = fields["write_mode"] {
            throw writeMode.error("does not apply with versioned_keys: true (a write sets <key>@ver; remove write_mode)")
        }
        if let node = fields["invalidation"], spec.invalidation.invalidators > spec.ttlsNs.count {
            throw node.error("\(spec.invalidation.invalidators) is more than the key families (\(spec.ttlsNs.count), one per ttl); each family's channel has one invalidator", field: node.path + ".invalidators")
        }
    }

    /// `invalidation:`; `on_lag` applies only with `mode: bus`. An `on_lag` without `shorten_ttl`
    /// (as `rift compare --vary workload.invalidation.on_lag.shorten_ttl=none` leaves it) detects
    /// lag and does nothing about it.
    private static func invalidation(_ node: LocatedNode) throws -> CacheAsideSpec.Invalidation {
        var out = CacheAsideSpec.Invalidation()
        var onLag: LocatedNode?, invalidators: LocatedNode?
        for (k, v) in try node.mapping(allowedKeys: ["mode", "invalidators", "on_lag"]) {
            switch k {
            case "mode":
                guard let m = CacheAsideSpec.Invalidation.Mode(rawValue: try v.string()) else {
                    throw v.error("expected one of: \(CacheAsideSpec.Invalidation.Mode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                out.mode = m
            case "invalidators":
                out.invalidators = Int(try v.int(range: 1...64))
                invalidators = v
            default:
                onLag = v
                for (lk, lv) in try v.mapping(allowedKeys: ["shorten_ttl", "max_lag", "hold"]) {
                    switch lk {
                    case "shorten_ttl":
                        let ns = try positiveDuration(lv)
                        if ns > 3_600_000_000_000 { throw lv.error("must be at most 1h") }
                        out.shortenTtlNs = ns
                    case "max_lag":
                        let ns = try duration(lv)
                        // Under twice the heartbeat, a quiet channel would count as lagging.
                        if ns < 200_000_000 || ns > 60_000_000_000 { throw lv.error("must be between 200ms and 60s") }
                        out.maxLagNs = ns
                    default: out.holdNs = try positiveDuration(lv)
                    }
                }
            }
        }
        if out.mode == .direct, let extra = onLag ?? invalidators {
            throw extra.error("applies only with mode: bus (mode: direct has no bus to lag)")
        }
        return out
    }

    private static func ttl(_ node: LocatedNode) throws -> Int64 {
        let ns = try duration(node)
        // memcached reads an exptime over 30 days as a Unix time.
        if ns < 0 || ns > 30 * 86_400 * 1_000_000_000 { throw node.error("must be between 0 (no expiry) and 30 days") }
        return ns
    }
}
