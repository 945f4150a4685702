import RiftChecker
import Foundation
import RiftClient
import RiftCore
import RiftHistory
import Synchronization

/// The `cache-aside` workload: `processes` threads, each one application client with its own
/// connections (one per cache node, one to the origin through its proxy) and one operation in
/// flight, at `rate` operations per second in total.
///
/// - A read asks the key's cache node, as the topology kind's cache client routes it (the
///   process's ketama ring on a memcached pool; a node chosen as `reads` says on Redis). A hit
///   is recorded with that node. A miss asks the origin, is recorded with node `origin`, and
///   fills the cache (with the key family's TTL, or the lag TTL when the key was written in
///   the last `lag_window`). A cache node's error or timeout is
///   treated as a miss, except that with `serve_stale_if_possible` the process serves the last
///   version it saw of the key, recorded with node `local` and counted as stale-served (no fill
///   is tried against a node that just failed).
/// - A write sends the origin the key's next version (picked at invocation, as the register
///   workload picks values, so the history holds every write's version), recorded with node
///   `origin`; then it deletes (`write_mode: invalidate`) or sets (`update`) the cache's copy.
///   With `invalidation: {mode: bus}` it writes the origin only: the origin publishes the change
///   on the bus and the invalidator processes (`CacheAsideInvalidator.swift`) delete or set the
///   copy; while they see the bus lag, fills of the lagging family use `shorten_ttl`, and a
///   read whose fill did is recorded with node `origin-short-ttl`.
/// - With `versioned_keys` the data lives under `<key>@v<version>` and the current version under
///   `<key>@ver`, both on the key's node: a read follows `<key>@ver` to its entry (a miss of
///   either goes to the origin and adds both from its answer, `<key>@ver` only when it was
///   absent), and a write sets `<key>@ver` instead of deleting or updating the data.
/// - Every origin request takes a permit when `cap_origin_concurrency` is set: over the cap it
///   waits until the operation's timeout (`over_cap: wait`) or fails at once (`fail`); a read
///   that gets no permit serves stale when it may, else fails.
///
/// Reads complete `ok` with the version read, so the staleness checker judges them against the
/// origin's writes. Choices come from the seed, one generator per process.
public final class CacheAsideWorkload: Sendable {
    /// Node names recorded for answers that did not come from a cache node.
    public static let originNode = "origin"
    public static let localNode = "local"
    /// A read the origin answered whose fill used the bus lag remedy's short TTL.
    public static let originShortTTLNode = "origin-short-ttl"

    /// Counts beyond ok/fail/info.
    public typealias CacheStats = CacheAsideRecord.Counts

    let spec: WorkloadSpec
    let options: CacheAsideSpec
    let seed: UInt64
    /// Makes each process's cache client: routing and the commands, by topology kind.
    let clients: MakeCacheClient
    let originPort: UInt16
    let writer: HistoryWriter
    let permits: OriginPermits?
    /// The bus's `invalidator-bus` proxy port (`invalidation: {mode: bus}`); nil: writers invalidate.
    let busPort: UInt16?
    struct State {
        var versions: [Int64]
        var lastWriteNs: [Int64]
        /// Per key family: until when the bus lag remedy's short TTL holds (set by invalidators).
        var shortTTLUntilNs: [Int64]
        var stats = RegisterWorkload.Stats()
        var cache = CacheStats()
        var stopping = false
        var writeError: HistoryWriter.Failure?
    }
    let state: Mutex<State>
    private let finished = DispatchGroup()
    /// The invalidators: they outlive the processes until `stop()`.
    private let invalidatorsFinished = DispatchGroup()
    let payload: String

    public init(spec: WorkloadSpec, seed: UInt64, clients: @escaping MakeCacheClient, originPort: UInt16, busPort: UInt16? = nil, writer: HistoryWriter) {
        self.spec = spec
        self.options = spec.cacheAside ?? CacheAsideSpec()
        self.seed = seed
        self.clients = clients
        self.originPort = originPort
        self.writer = writer
        self.busPort = busPort
        permits = options.capOriginConcurrency.map(OriginPermits.init)
        // Warm keys are at version 1 on the origin; writes start at 2.
        state = Mutex(State(versions: Array(repeating: options.warm ? 1 : 0, count: spec.keys),
                            lastWriteNs: Array(repeating: .min, count: spec.keys),
                            shortTTLUntilNs: Array(repeating: .min, count: options.ttlsNs.count)))
        payload = String(repeating: "x", count: options.valueSize)
    }

    public static func key(_ index: Int) -> String { "c\(index)" }

    /// `i` of a key `c<i>`; nil for a key this workload does not make.
    public static func index(ofKey key: String) -> Int? {
        guard key.hasPrefix("c"), let i = Int(key.dropFirst()), i >= 0 else { return nil }
        return i
    }

    public var currentStats: RegisterWorkload.Stats { state.withLock { $0.stats } }
    public var cacheStats: CacheStats { state.withLock { $0.cache } }
    public var historyFailure: HistoryWriter.Failure? { state.withLock { $0.writeError } }

    /// Every key, for the origin's preload.
    public var keys: [String] { (0..<spec.keys).map(Self.key) }

    /// Sets every key at version 1 in the cache (the origin is preloaded by its owner). Fails
    /// when a cache node refuses.
    public func warmCache(deadlineNs: Int64) throws {
        let client = Client(cache: clients(), originPort: originPort)
        defer { client.close() }
        // Writes draw nothing from it.
        var random = SeededRandom(seed: seed, labels: "cache-aside-warm")
        for i in 0..<spec.keys {
            let key = Self.key(i)
            let target = client.cache.route(key, write: true, random: &random, deadlineNs: deadlineNs)
            let ttl = CacheAsideSpec.memcachedSeconds(options.ttlsNs[i % options.ttlsNs.count])
            do {
                try fill(key, version: 1, payload: payload, ttlSeconds: ttl, versionMissing: true, on: target, client: client, deadlineNs: deadlineNs)
            } catch {
                throw FleetError("warm-up: cannot fill \(key) on \(target.node): \(error)")
            }
        }
    }

    /// The cache's copy: `<version>:<payload>`.
    static func cacheValue(version: Int64, payload: String) -> String { "\(version):\(payload)" }

    static func version(ofCacheValue s: String) -> Int64? {
        guard let colon = s.firstIndex(of: ":") else { return nil }
        return Int64(s[s.startIndex..<colon])
    }

    /// `versioned_keys`: the cache entry of `key` at `version` (never overwritten)...
    static func versionedKey(_ key: String, _ version: Int64) -> String { "\(key)@v\(version)" }
    /// ... and the entry that names the key's current version (its value: the version alone).
    static func versionKey(_ key: String) -> String { "\(key)@ver" }

    /// On a bus, starts the invalidators, each subscribed before this returns (throws when one
    /// cannot subscribe); they run until `stop()`, so changes made before `start` are carried.
    public func startInvalidators() throws {
        guard let busPort else { return }
        let n = options.invalidation.invalidators
        // Every subscription first: a failure then leaves no thread behind.
        var subscribers: [BusSubscriber] = []
        do {
            for j in 0..<n { subscribers.append(try BusSubscriber(port: busPort, families: Array(stride(from: j, to: options.ttlsNs.count, by: n)))) }
        } catch {
            for s in subscribers { s.close() }
            throw error
        }
        for (j, subscriber) in subscribers.enumerated() {
            invalidatorsFinished.enter()
            let t = Thread { [self] in
                self.invalidate(subscriber, invalidator: j)
                self.invalidatorsFinished.leave()
            }
            t.name = "rift-invalidator-\(j)"
            t.start()
        }
    }

    public func start(untilNs: Int64) {
        for i in 0..<spec.processes {
            finished.enter()
            let t = Thread { [self] in
                self.run(process: i, untilNs: untilNs)
                self.finished.leave()
            }
            // Small stacks: hundreds of these threads.
            t.stackSize = 256 * 1024
            t.name = "rift-cache-aside-\(i)"
            t.start()
        }
    }

    public func stop() {
        state.withLock { $0.stopping = true }
        permits?.wakeAll()
        finished.wait()
        invalidatorsFinished.wait()
    }

    public func wait() { finished.wait() }

    var isStopping: Bool { state.withLock { $0.stopping } }

    private func record(_ event: HistoryEvent) {
        do {
            try writer.append(event)
        } catch {
            state.withLock { if $0.writeError == nil { $0.writeError = error } }
        }
    }

    func count(_ change: (inout CacheStats) -> Void) { state.withLock { change(&$0.cache) } }

    /// The TTL (memcached seconds) for a fill or update of key `index` now: the family's, or the
    /// lag TTL when the key was written in the last `lag_window`; cut to the bus remedy's while
    /// the family lags (`short` then).
    func ttlSeconds(_ index: Int, now: Int64) -> (seconds: Int, short: Bool) {
        let family = index % options.ttlsNs.count
        let (recent, lagging) = state.withLock { ($0.lastWriteNs[index] > now - options.lagWindowNs, $0.shortTTLUntilNs[family] > now) }
        var ttl = options.ttlsNs[family]
        if recent, let lag = options.lagTtlNs { ttl = lag }
        if lagging, let short = options.invalidation.shortenTtlNs, ttl == 0 || short < ttl {
            return (CacheAsideSpec.memcachedSeconds(short), true)
        }
        return (CacheAsideSpec.memcachedSeconds(ttl), false)
    }

    /// An origin request's deadline: `origin_timeout` from when it got its permit, not what is
    /// left of the operation's. A request that times out gives its permit back while the origin
    /// may still be serving it, and the origin then sees more than the cap in flight; with the
    /// operation's leftover (after waiting for a permit) that happened all the time.
    private func originDeadline() -> Int64 { monotonicNs() + options.originTimeoutNs }

    /// One process's cache client and connection to the origin.
    final class Client {
        let cache: any CacheClient
        let originPort: UInt16
        lazy var origin = OriginConnection(port: originPort)
        init(cache: any CacheClient, originPort: UInt16) {
            self.cache = cache
            self.originPort = originPort
        }
        func close() {
            cache.close()
            origin.close()
        }
    }

    /// GET `key` on `target`: the value, nil on a miss. Throws when the node errs, times out or
    /// answers what a GET cannot (callers treat all of these as the node failing).
    private func cacheGet(_ key: String, on target: CacheRoute, client: Client, deadlineNs: Int64) throws(ClientError) -> String? {
        switch try client.cache.get(key, via: target, deadlineNs: deadlineNs).0 {
        case .hit(let s): return String(decoding: s, as: UTF8.self)
        case .miss: return nil
        case .refused(let e): throw .serverError(e)
        case .unexpected(let e): throw .protocolError(e)
        }
    }

    /// Stores `value` under `key` on `target` (TTL in whole seconds, 0: none): true when stored,
    /// false when `add` found the key there already. Throws when the node errs, times out or
    /// does not store.
    @discardableResult
    func cacheSet(_ key: String, _ value: String, ttlSeconds ttl: Int, _ how: CacheStore = .set, on target: CacheRoute,
                          client: Client, deadlineNs: Int64) throws(ClientError) -> Bool {
        switch try client.cache.store(key, value, ttlSeconds: ttl, how, via: target, deadlineNs: deadlineNs).0 {
        case .done: return true
        case .notStored where how == .add: return false
        case let outcome: throw .protocolError("\(target.node) did not store \(key): \(outcome)")
        }
    }

    /// Deletes `key` on `target`; throws when the node times out or the connection breaks (an
    /// error reply counts as done, as it always has here).
    func cacheDelete(_ key: String, on target: CacheRoute, client: Client, deadlineNs: Int64) throws(ClientError) {
        _ = try client.cache.delete(key, via: target, deadlineNs: deadlineNs)
    }

    /// What the cache holds for `key`: its value (nil: a miss) and, with versioned keys, whether
    /// `<key>@ver` was absent (then a fill adds it). Throws when the node fails.
    private func lookup(_ key: String, on target: CacheRoute, client: Client, deadlineNs: Int64) throws(ClientError) -> (value: String?, versionMissing: Bool) {
        guard options.versionedKeys else { return (try cacheGet(key, on: target, client: client, deadlineNs: deadlineNs), false) }
        guard let current = try cacheGet(Self.versionKey(key), on: target, client: client, deadlineNs: deadlineNs) else { return (nil, true) }
        // An unreadable version is a miss; the fill does not replace it (a writer's set will).
        guard let v = Int64(current) else { return (nil, false) }
        return (try cacheGet(Self.versionedKey(key, v), on: target, client: client, deadlineNs: deadlineNs), false)
    }

    /// Puts `version` of `key` in the cache: the key itself, or with versioned keys the entry
    /// `<key>@v<version>` (added: never overwritten) and, when `versionMissing`, `<key>@ver`
    /// (added too: a writer's newer version that landed meanwhile stays).
    private func fill(_ key: String, version: Int64, payload: String, ttlSeconds ttl: Int, versionMissing: Bool, on target: CacheRoute,
                      client: Client, deadlineNs: Int64) throws(ClientError) {
        let value = Self.cacheValue(version: version, payload: payload)
        guard options.versionedKeys else {
            try cacheSet(key, value, ttlSeconds: ttl, on: target, client: client, deadlineNs: deadlineNs)
            return
        }
        try cacheSet(Self.versionedKey(key, version), value, ttlSeconds: ttl, .add, on: target, client: client, deadlineNs: deadlineNs)
        if versionMissing {
            try cacheSet(Self.versionKey(key), String(version), ttlSeconds: ttl, .add, on: target, client: client, deadlineNs: deadlineNs)
        }
    }

    private func run(process: Int, untilNs: Int64) {
        var random = SeededRandom(seed: seed, labels: "cache-aside", String(process))
        let picker = KeyPicker(count: spec.keys, distribution: spec.distribution)
        let client = Client(cache: clients(), originPort: originPort)
        // The last version this process saw of each key: what it can serve stale.
        var seen: [Int: Int64] = [:]
        var pacer = Pacer(processes: spec.processes, rate: spec.rate, firstAt: random.nextUnit())
        while pacer.wait(untilNs: untilNs, stopping: { isStopping }) {
            let index = picker.pick(random.nextUnit())
            let isWrite = random.nextUnit() < spec.writeFraction
            // Where the key lives in the cache.
            let target = client.cache.route(Self.key(index), write: isWrite, random: &random, deadlineNs: monotonicNs() + spec.timeoutNs)
            let p = ProcessID.client(Int64(process))
            let cacheOK: Bool
            if isWrite {
                cacheOK = write(index, target: target, process: p, client: client, seen: &seen)
            } else {
                cacheOK = read(index, target: target, process: p, client: client, seen: &seen)
            }
            client.cache.report(target, ok: cacheOK, atNs: monotonicNs())
        }
        client.close()
    }

    private func tally(_ type: EventType) {
        state.withLock {
            switch type {
            case .ok: $0.stats.ok += 1
            case .fail: $0.stats.fail += 1
            case .info, .invoke: $0.stats.info += 1
            }
        }
    }

    /// Returns whether the cache node answered.
    private func read(_ index: Int, target: CacheRoute, process p: ProcessID, client: Client, seen: inout [Int: Int64]) -> Bool {
        let key = Self.key(index)
        let invoke = monotonicNs()
        let deadline = invoke + spec.timeoutNs
        record(HistoryEvent(type: .invoke, process: p, f: "read", key: key, value: .null, time: invoke, node: target.node))
        func complete(_ type: EventType, _ value: HistoryValue, node: String) {
            record(HistoryEvent(type: type, process: p, f: "read", key: key, value: value, time: monotonicNs(), node: node))
            tally(type)
        }
        // 1. The cache (nil: the node failed).
        let cached = try? lookup(key, on: target, client: client, deadlineNs: deadline)
        if let s = cached?.value, let v = Self.version(ofCacheValue: s) {
            count { $0.hits += 1 }
            seen[index] = max(seen[index] ?? 0, v)
            complete(.ok, .int(v), node: target.node)
            return true
        }
        let nodeFailed = cached == nil
        if nodeFailed {
            count { $0.cacheErrors += 1 }
            if options.serveStaleIfPossible, let v = seen[index] {
                count { $0.staleServed += 1 }
                complete(.ok, .int(v), node: Self.localNode)
                return false
            }
        } else {
            count { $0.misses += 1 }
        }
        // 2. The origin, under the cap.
        guard permits?.acquire(deadlineNs: deadline, wait: options.overCap == .wait, stopping: { self.isStopping }) ?? true else {
            count { $0.overCap += 1 }
            if options.serveStaleIfPossible, let v = seen[index] {
                count { $0.staleServed += 1 }
                complete(.ok, .int(v), node: Self.localNode)
            } else {
                complete(.fail, .null, node: Self.originNode)
            }
            return !nodeFailed
        }
        let got: (version: Int64, value: String?)
        do {
            count { $0.originReads += 1 }
            got = try client.origin.get(key, deadlineNs: originDeadline())
            permits?.release()
        } catch {
            permits?.release()
            // A read changes nothing: fail and info mean the same to the checker; keep the rule.
            complete(error == .refused ? .fail : .info, .null, node: Self.originNode)
            return !nodeFailed
        }
        seen[index] = max(seen[index] ?? 0, got.version)
        // 3. Fill, unless the node just failed; the TTL is chosen first so the read's record
        // can say it was the bus remedy's.
        let fillTTL = cached != nil && got.version > 0 ? ttlSeconds(index, now: monotonicNs()) : nil
        complete(.ok, .int(got.version), node: fillTTL?.short == true ? Self.originShortTTLNode : Self.originNode)
        if let cached, let fillTTL {
            let stored = (try? fill(key, version: got.version, payload: got.value ?? "", ttlSeconds: fillTTL.seconds, versionMissing: cached.versionMissing,
                                    on: target, client: client, deadlineNs: monotonicNs() + spec.timeoutNs)) != nil
            count {
                if stored { $0.fills += 1 } else { $0.fillErrors += 1 }
                if stored && fillTTL.short { $0.shortTtlFills += 1 }
            }
        }
        return !nodeFailed
    }

    /// Returns whether the cache node answered the invalidation or update (true when none was tried).
    private func write(_ index: Int, target: CacheRoute, process p: ProcessID, client: Client, seen: inout [Int: Int64]) -> Bool {
        let key = Self.key(index)
        // Version and invocation time together: a write invoked after another completed
        // carries a larger version (what the checker relies on).
        let (version, invoke) = state.withLock {
            $0.versions[index] += 1
            return ($0.versions[index], monotonicNs())
        }
        let deadline = invoke + spec.timeoutNs
        record(HistoryEvent(type: .invoke, process: p, f: "write", key: key, value: .int(version), time: invoke, node: Self.originNode))
        func complete(_ type: EventType) {
            record(HistoryEvent(type: type, process: p, f: "write", key: key, value: .int(version), time: monotonicNs(), node: Self.originNode))
            tally(type)
        }
        guard permits?.acquire(deadlineNs: deadline, wait: options.overCap == .wait, stopping: { self.isStopping }) ?? true else {
            count { $0.overCap += 1 }
            complete(.fail)
            return true
        }
        let outcome: OriginConnection.SetOutcome
        do {
            count { $0.originWrites += 1 }
            outcome = try client.origin.set(key, payload, version: version, deadlineNs: originDeadline())
            permits?.release()
        } catch {
            permits?.release()
            complete(error == .refused ? .fail : .info)
            return true
        }
        guard case .stored = outcome else {
            // STALE (a newer version got there first) or refused: nothing was written.
            complete(.fail)
            return true
        }
        complete(.ok)
        seen[index] = max(seen[index] ?? 0, version)
        state.withLock { $0.lastWriteNs[index] = monotonicNs() }
        // On a bus the origin's change is the invalidators' to carry.
        if busPort != nil { return true }
        // The cache after the origin: the window between is the invalidation lag.
        return invalidate(key, index: index, version: version, on: target, client: client)
    }

    /// Carries a change of `key` to `version` to the cache as the run says: the version key
    /// set (`versioned_keys`), the entry set (`write_mode: update`) or deleted; counted as an
    /// invalidation or an invalidation error. Whether the cache took it. The writer's own
    /// step, or an invalidator's on a bus.
    func invalidate(_ key: String, index: Int, version: Int64, on target: CacheRoute, client: Client) -> Bool {
        let deadline = monotonicNs() + spec.timeoutNs
        let ttl = ttlSeconds(index, now: monotonicNs()).seconds
        let done: Bool
        do {
            if options.versionedKeys {
                // The data of this version is filled by the next reader that misses it.
                try cacheSet(Self.versionKey(key), String(version), ttlSeconds: ttl, on: target, client: client, deadlineNs: deadline)
            } else if options.writeMode == .update {
                try cacheSet(key, Self.cacheValue(version: version, payload: payload), ttlSeconds: ttl, on: target, client: client, deadlineNs: deadline)
            } else {
                try cacheDelete(key, on: target, client: client, deadlineNs: deadline)
            }
            done = true
        } catch {
            done = false
        }
        count { if done { $0.invalidations += 1 } else { $0.invalidationErrors += 1 } }
        return done
    }
}

/// The client-side cap on origin requests in flight: a counting semaphore with a deadline.
/// `@unchecked`: `available` is read and written only while holding `condition` (a condition
/// variable, which `Mutex` does not offer: waiters sleep until a release).
final class OriginPermits: @unchecked Sendable {
    private let condition = NSCondition()
    private var available: Int
    let capacity: Int

    init(_ capacity: Int) {
        self.capacity = capacity
        available = capacity
    }

    /// True with a permit; false when none came before `deadlineNs` (at once when `wait` is
    /// false) or the workload is stopping.
    func acquire(deadlineNs: Int64, wait: Bool, stopping: () -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while available == 0 {
            let left = deadlineNs - monotonicNs()
            if !wait || left <= 0 || stopping() { return false }
            // Woken by a release (one waiter) or by stop() (all); no polling: hundreds wait here.
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(left) / 1e9))
        }
        available -= 1
        return true
    }

    func release() {
        condition.lock()
        available += 1
        condition.signal()
        condition.unlock()
    }

    func wakeAll() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }
}
