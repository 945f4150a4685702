import RiftChecker
import Synchronization

/// The origin's data: a versioned key-value map, and the gauge of requests in flight. Shared by
/// every connection; thread-safe.
public final class OriginStore: Sendable {
    struct Entry {
        var version: Int64
        var value: String
    }

    /// Most keys the store holds; a `SET` of a new key beyond it is answered `ERROR`.
    public static let maxKeys = 1_000_000

    private let entries = Mutex<[String: Entry]>([:])
    public let gauge = OriginGauge()
    /// Told of every change the store takes, in its lock (so a key's changes come in version
    /// order): the invalidation bus's publisher.
    private let changed: (@Sendable (_ key: String, _ version: Int64) -> Void)?

    public init(changed: (@Sendable (_ key: String, _ version: Int64) -> Void)? = nil) {
        self.changed = changed
    }

    /// Puts `keys` at version 1 (the data the origin has before the run; not in the history).
    public func preload(_ keys: [String], value: String) {
        entries.withLock { e in for k in keys { e[k] = Entry(version: 1, value: value) } }
    }

    public func version(of key: String) -> Int64 { entries.withLock { $0[key]?.version ?? 0 } }

    /// Carries out one request (its service time already spent).
    public func execute(_ request: OriginRequest) -> OriginReply {
        switch request {
        case .get(let key):
            guard let e = entries.withLock({ $0[key] }) else { return .none }
            return .value(version: e.version, data: e.value)
        case .set(let key, let value, let version):
            return entries.withLock { e -> OriginReply in
                let current = e[key]?.version ?? 0
                if current == 0 && e.count >= Self.maxKeys { return .error("the origin holds \(Self.maxKeys) keys already") }
                let next = version ?? current + 1
                if next <= current { return .stale(current: current) }
                e[key] = Entry(version: next, value: value)
                changed?(key, next)
                return .ok(version: next)
            }
        case .gauge:
            let (n, p) = gauge.current
            return .gauge(inFlight: n, peak: p)
        case .invalid(let why):
            return .error(why)
        }
    }
}

/// Requests in flight at the origin: counted from the moment a request is read until its reply
/// is written. Records the all-time peak and the peak since the last sample, so a series of
/// samples every few milliseconds still shows every peak exactly.
public final class OriginGauge: Sendable {
    /// Time (the history's monotonic clock), in flight at the sample, peak since the previous.
    public typealias Sample = OriginLoadChecker.Sample

    private struct State {
        var inFlight = 0
        var peak = 0
        var peakSinceSample = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func begin() {
        state.withLock {
            $0.inFlight += 1
            $0.peak = max($0.peak, $0.inFlight)
            $0.peakSinceSample = max($0.peakSinceSample, $0.inFlight)
        }
    }

    public func end() { state.withLock { $0.inFlight -= 1 } }

    /// (in flight, all-time peak).
    public var current: (Int, Int) { state.withLock { ($0.inFlight, $0.peak) } }

    /// A sample at `timeNs`; the next sample's peak starts from the in-flight count now.
    public func sample(at timeNs: Int64) -> Sample {
        state.withLock { s in
            let out = Sample(timeNs: timeNs, inFlight: s.inFlight, peak: max(s.peakSinceSample, s.inFlight))
            s.peakSinceSample = s.inFlight
            return out
        }
    }
}
