import Foundation
import RiftChecker
import RiftHistory
import RiftProxy
import RiftTestSupport
import RiftReport
import Testing

@testable import RiftHarness

/// The cache-aside workload against a real memcached pool and the real origin, and the two
/// outage-miss-storm scenarios in short form with their expected verdicts.
@Suite(.serialized) struct CacheAsideTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func tempDir(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("rift-\(label)-\(UUID())").path
    }

    func pool() throws -> Topology {
        try ScenarioParser.parseTopology(try String(contentsOfFile: Self.root + "/harness/memcached-pool.yaml", encoding: .utf8), file: "t.yaml")
    }

    // MARK: Parsing

    @Test func readsTheCacheAsideOptions() throws {
        let s = try ScenarioParser.parseScenario("""
            name: a
            topology: memcached-pool
            duration: 5s
            workload:
              processes: 300
              type: cache-aside
              origin: {service_time: 150ms, timeout: 3s}
              write_mode: update
              serve_stale_if_possible: true
              cap_origin_concurrency: 100
              over_cap: fail
              ttl: [30s, 5s]
              lag_ttl: 1s
              lag_window: 500ms
              value_size: 64
              warm: false
            checks:
              - {check: origin_load, max_inflight: 100}
            """, file: "f.yaml")
        let c = try #require(s.workload.cacheAside)
        #expect(s.workload.processes == 300)
        #expect(c.originServiceTimeNs == 150_000_000 && c.originTimeoutNs == 3_000_000_000 && c.writeMode == .update && c.serveStaleIfPossible)
        #expect(c.capOriginConcurrency == 100 && c.overCap == .fail)
        #expect(c.ttlsNs == [30_000_000_000, 5_000_000_000] && c.lagTtlNs == 1_000_000_000 && c.lagWindowNs == 500_000_000)
        #expect(c.valueSize == 64 && !c.warm)
        #expect((s.checks[0].check as? OriginLoadCheck)?.maxInFlight == 100)
        #expect(CacheAsideSpec.memcachedSeconds(1_500_000_000) == 2 && CacheAsideSpec.memcachedSeconds(0) == 0)
    }

    @Test func readsVersionedKeys() throws {
        let text = "name: a\ntopology: memcached-pool\nduration: 5s\nworkload:\n  type: cache-aside\n"
        #expect(try ScenarioParser.parseScenario(text, file: "f.yaml").workload.cacheAside?.versionedKeys == false)
        let on = try #require(try ScenarioParser.parseScenario(text + "  versioned_keys: true\n", file: "f.yaml").workload.cacheAside)
        #expect(on.versionedKeys && on.writeMode == .invalidate)
        // write_mode stays allowed when versioned_keys is false.
        let off = try #require(try ScenarioParser.parseScenario(text + "  versioned_keys: false\n  write_mode: update\n", file: "f.yaml").workload.cacheAside)
        #expect(!off.versionedKeys && off.writeMode == .update)
        #expect(CacheAsideWorkload.versionKey("c7") == "c7@ver" && CacheAsideWorkload.versionedKey("c7", 12) == "c7@v12")
    }

    @Test func readsTheInvalidationBus() throws {
        let text = "name: a\ntopology: memcached-pool\nduration: 5s\nworkload:\n  type: cache-aside\n  ttl: [60s, 60s, 10s]\n"
        let direct = try #require(try ScenarioParser.parseScenario(text, file: "f.yaml").workload.cacheAside)
        #expect(direct.invalidation == CacheAsideSpec.Invalidation() && direct.invalidation.mode == .direct)
        let bus = try #require(try ScenarioParser.parseScenario(text + "  invalidation: {mode: bus}\n", file: "f.yaml").workload.cacheAside?.invalidation)
        #expect(bus.mode == .bus && bus.invalidators == 1 && bus.shortenTtlNs == nil && bus.maxLagNs == 500_000_000 && bus.holdNs == 5_000_000_000)
        let remedy = try #require(try ScenarioParser.parseScenario(
            text + "  invalidation:\n    mode: bus\n    invalidators: 3\n    on_lag: {shorten_ttl: 2s, max_lag: 1s, hold: 10s}\n", file: "f.yaml").workload.cacheAside?.invalidation)
        #expect(remedy.invalidators == 3 && remedy.shortenTtlNs == 2_000_000_000 && remedy.maxLagNs == 1_000_000_000 && remedy.holdNs == 10_000_000_000)
        // An on_lag left empty (as `--vary ...on_lag.shorten_ttl=none` leaves it) detects and does nothing.
        let empty = try #require(try ScenarioParser.parseScenario(text + "  invalidation: {mode: bus, on_lag: {}}\n", file: "f.yaml").workload.cacheAside?.invalidation)
        #expect(empty.shortenTtlNs == nil)
    }

    @Test func theBusProxiesCanBeFaultedOnlyOnABus() throws {
        let step = "timeline:\n  - {at: 1s, fault: {proxy: invalidator-bus, type: drop_frame, stream: downstream, attributes: {commands: message}}}\n"
        let bus = "name: a\ntopology: p\nduration: 5s\nworkload: {type: cache-aside, invalidation: {mode: bus}}\n"
        try ScenarioParser.validate(try ScenarioParser.parseScenario(bus + step, file: "f.yaml"), against: try pool())
        try ScenarioParser.validate(try ScenarioParser.parseScenario(bus + step.replacingOccurrences(of: "invalidator-bus", with: "origin-bus"), file: "f.yaml"), against: try pool())
        let direct = bus.replacingOccurrences(of: ", invalidation: {mode: bus}", with: "")
        do {
            try ScenarioParser.validate(try ScenarioParser.parseScenario(direct + step, file: "f.yaml"), against: try pool())
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasPrefix("f.yaml:6:5: timeline: no proxy 'invalidator-bus' in memcached-pool (proxies: "), "got: \(error)")
            #expect("\(error)".contains("client-origin"))
        }
    }

    @Test(arguments: [
        ("workload:\n  type: cache-aside\n  write_mode: update\n  versioned_keys: true\n", "f.yaml:6:15: workload.write_mode: does not apply with versioned_keys: true"),
        ("workload:\n  type: cache-aside\n  versioned_keys: true\n  write_mode: invalidate\n", "f.yaml:7:15: workload.write_mode: does not apply with versioned_keys: true"),
        ("workload:\n  type: register\n  versioned_keys: true\n", "f.yaml:6:19: workload.versioned_keys: applies only to type: cache-aside"),
        ("workload:\n  type: cache-aside\n  over_cap: later\n", "f.yaml:6:13: workload.over_cap: expected one of: wait, fail"),
        ("workload:\n  type: cache-aside\n  cap_origin_concurrency: 0\n", "f.yaml:6:27: workload.cap_origin_concurrency: 0 is out of range"),
        ("workload:\n  type: cache-aside\n  origin: {service_time: 11s}\n", "f.yaml:6:26: workload.origin.service_time: must be between 0 and 10s"),
        ("workload:\n  type: cache-aside\n  origin: {latency: 1s}\n", "f.yaml:6:12: workload.origin.latency: unknown key (expected one of: service_time, timeout)"),
        ("workload:\n  type: cache-aside\n  ttl: []\n", "f.yaml:6:8: workload.ttl: expected 1 to 64 TTLs"),
        ("workload:\n  serve_stale_if_possible: true\n", "f.yaml:5:28: workload.serve_stale_if_possible: applies only to type: cache-aside"),
        ("workload:\n  type: cache-aside\n  invalidation: {mode: kafka}\n", "f.yaml:6:24: workload.invalidation.mode: expected one of: direct, bus"),
        ("workload:\n  type: cache-aside\n  invalidation: {on_lag: {shorten_ttl: 1s}}\n", "f.yaml:6:26: workload.invalidation.on_lag: applies only with mode: bus"),
        ("workload:\n  type: cache-aside\n  invalidation: {mode: direct, invalidators: 2}\n", "f.yaml:6:46: workload.invalidation.invalidators: applies only with mode: bus"),
        ("workload:\n  type: cache-aside\n  invalidation: {mode: bus, on_lag: {max_lag: 100ms}}\n", "f.yaml:6:47: workload.invalidation.on_lag.max_lag: must be between 200ms and 60s"),
        ("workload:\n  type: cache-aside\n  invalidation: {mode: bus, on_lag: {shorten_ttl: 0s}}\n", "f.yaml:6:51: workload.invalidation.on_lag.shorten_ttl: must be more than 0"),
        ("workload:\n  type: cache-aside\n  invalidation: {mode: bus, on_lag: {ttl: 1s}}\n", "f.yaml:6:38: workload.invalidation.on_lag.ttl: unknown key (expected one of: shorten_ttl, max_lag, hold)"),
        ("workload:\n  type: cache-aside\n  invalidation: {mode: bus, invalidators: 2}\n", "f.yaml:6:17: workload.invalidation.invalidators: 2 is more than the key families (1, one per ttl)"),
        ("workload:\n  type: register\n  invalidation: {mode: bus}\n", "f.yaml:6:17: workload.invalidation: applies only to type: cache-aside"),
        ("workload:\n  type: register\n  processes: 300\n", "f.yaml:6:14: workload.processes: expected at most 256 for type: register"),
        ("workload:\n  type: near-far\n", "f.yaml:5:9: workload.type: unknown workload"),
        ("checks:\n  - {check: origin_load, max_inflight: 100}\n", "f.yaml:5:5: checks.check: origin_load needs workload type: cache-aside"),
        ("checks:\n  - {check: staleness, max_inflight: 100}\n", "f.yaml:5:38: checks[0].max_inflight: applies only to check: origin_load"),
    ])
    func badCacheAsideInputPointsAtTheProblem(text: String, expected: String) {
        do {
            _ = try ScenarioParser.parseScenario("name: a\ntopology: t\nduration: 5s\n" + text, file: "f.yaml")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasPrefix(expected), "got: \(error)")
        }
    }

    @Test func theOriginProxyCanBeFaulted() throws {
        let text = "name: a\ntopology: p\nduration: 5s\nworkload: {type: cache-aside}\ntimeline:\n  - {at: 1s, fault: {proxy: client-origin, type: latency, attributes: {latency: 50}}}\n"
        try ScenarioParser.validate(try ScenarioParser.parseScenario(text, file: "f.yaml"), against: try pool())
        let register = text.replacingOccurrences(of: "{type: cache-aside}", with: "{type: register}")
        #expect(throws: ConfigFileError.self) { try ScenarioParser.validate(try ScenarioParser.parseScenario(register, file: "f.yaml"), against: try pool()) }
    }

    // MARK: Pure parts

    @Test func cacheValuesCarryTheirVersion() {
        #expect(CacheAsideWorkload.cacheValue(version: 17, payload: "xx") == "17:xx")
        #expect(CacheAsideWorkload.version(ofCacheValue: "17:xx") == 17)
        #expect(CacheAsideWorkload.version(ofCacheValue: "17") == nil)
        #expect(CacheAsideWorkload.version(ofCacheValue: "a:1") == nil)
    }

    /// The cap: over it `fail` gives up at once and `wait` until its deadline; a release wakes
    /// a waiter; stopping wakes them all.
    @Test func originPermitsCapWaitAndFailFast() async {
        let permits = OriginPermits(2)
        #expect(permits.acquire(deadlineNs: monotonicNs() + 1_000_000_000, wait: false, stopping: { false }))
        #expect(permits.acquire(deadlineNs: monotonicNs() + 1_000_000_000, wait: false, stopping: { false }))
        #expect(!permits.acquire(deadlineNs: monotonicNs() + 1_000_000_000, wait: false, stopping: { false }), "over the cap, fail fast")
        let started = monotonicNs()
        #expect(!permits.acquire(deadlineNs: started + 100_000_000, wait: true, stopping: { false }))
        #expect(monotonicNs() - started >= 100_000_000, "waited until the deadline")
        // A release wakes a waiter long before its deadline.
        let waiter = Task {
            await offThePool { () -> Int64 in
                let t = monotonicNs()
                return permits.acquire(deadlineNs: t + 5_000_000_000, wait: true, stopping: { false }) ? monotonicNs() - t : -1
            }
        }
        try? await Task.sleep(for: .milliseconds(100))
        permits.release()
        let waited = await waiter.value
        #expect(waited >= 50_000_000 && waited < 2_000_000_000, "waited \(waited) ns")
        // Stopping: a waiter gives up when woken.
        let stop = AnsweredCount()
        let stopped = Task {
            await offThePool { () -> Int64 in
                let t = monotonicNs()
                return permits.acquire(deadlineNs: t + 5_000_000_000, wait: true, stopping: { stop.value > 0 }) ? -1 : monotonicNs() - t
            }
        }
        try? await Task.sleep(for: .milliseconds(100))
        stop.add()
        permits.wakeAll()
        let gaveUp = await stopped.value
        #expect(gaveUp >= 50_000_000 && gaveUp < 2_000_000_000, "gave up after \(gaveUp) ns")
    }

    // MARK: The workload on a real pool

    /// A small cache-aside load for the runs below: 20 % writes, a 5 ms origin, 3 s timeouts.
    func smallLoad(processes: Int, rate: Int, keys: Int, _ configure: (inout CacheAsideSpec) -> Void = { _ in }) -> WorkloadSpec {
        var spec = WorkloadSpec()
        spec.processes = processes
        spec.rate = rate
        spec.keys = keys
        spec.writeFraction = 0.2
        spec.timeoutNs = 3_000_000_000
        var options = CacheAsideSpec()
        options.originServiceTimeNs = 5_000_000
        configure(&options)
        spec.cacheAside = options
        return spec
    }

    /// Runs `spec` for `durationNs` on a real fleet of `topologyFile` (harness/) with the real
    /// origin, calls `inspect` while the fleet is still up, and returns what the run measured
    /// and its history. The fleet is stopped whatever happens.
    func runOnFleet(_ topologyFile: String, seed: UInt64, spec: WorkloadSpec, durationNs: Int64,
                    inspect: (Topology, Fleet, CacheAsideWorkload) throws -> Void = { _, _, _ in }) async throws -> (CacheAsideReport, PairedHistory) {
        let dir = tempDir("cache-aside")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let topology = try ScenarioParser.parseTopology(try String(contentsOfFile: Self.root + "/harness/\(topologyFile).yaml", encoding: .utf8), file: "t.yaml")
        let fleet = try Fleet(topology: topology, directory: dir + "/nodes", seed: seed)
        let writer = try HistoryWriter(path: dir + "/history.jsonl", metadata: [:])
        var report: CacheAsideReport?
        do {
            try await fleet.start()
            let clients = try fleet.cacheClients(for: spec)
            let plan = Scenario(name: "t", topology: topology.name, durationNs: durationNs, workload: spec)
            let run = try await ScenarioRunner.startCacheAside(plan, fleet: fleet, clients: clients, writer: writer, seed: seed)
            run.workload.start(untilNs: monotonicNs() + plan.durationNs)
            await offThePool { run.workload.wait() }
            report = await ScenarioRunner.finishCacheAside(run, spec: spec.cacheAside!)
            try inspect(topology, fleet, run.workload)
        } catch {
            await fleet.stop()
            throw error
        }
        await fleet.stop()
        try writer.close()
        return (try #require(report), try HistoryReader.read(path: dir + "/history.jsonl").paired())
    }

    /// 8 clients for 1.5 s on a warm pool, invalidating on write: reads hit, writes go to the
    /// origin, the reads after an invalidation miss and fill, and every read carries a version
    /// the staleness checker can judge against the origin's writes.
    @Test func readsHitMissAndFillAgainstARealPool() async throws { try await onOwnQueue { try await self.readsHitMissAndFillAgainstARealPoolBody() } }

    func readsHitMissAndFillAgainstARealPoolBody() async throws {
        let (r, paired) = try await runOnFleet("memcached-pool", seed: 3, spec: smallLoad(processes: 8, rate: 400, keys: 20), durationNs: 1_500_000_000)
        #expect(r.stats.hits > 100, "\(r.stats)")
        #expect(r.stats.misses > 0 && r.stats.fills > 0 && r.stats.staleServed == 0, "\(r.stats)")
        #expect(!r.samples.isEmpty)

        let ops = paired.operations
        // No fault: only a starved machine times anything out (3 s).
        #expect(ops.filter { $0.status == .ok }.count * 100 >= ops.count * 95, "\(r.stats)")
        // Every write the origin took was followed by an invalidation attempt.
        let okWrites = ops.filter { $0.f == .write && $0.status == .ok }.count
        #expect(okWrites > 10 && r.stats.invalidations + r.stats.invalidationErrors == okWrites, "\(r.stats)")
        let reads = ops.filter { $0.f == .read }
        #expect(Set(reads.compactMap(\.node)).isSuperset(of: ["n1", "n2", "n3", CacheAsideWorkload.originNode]))
        #expect(reads.allSatisfy { if case .int(let v) = $0.output { v >= 1 } else { false } })
        #expect(ops.filter { $0.f == .write }.allSatisfy { $0.node == CacheAsideWorkload.originNode })
        // Versions are judged: every key is supported by the staleness check.
        let staleness = try #require(Checker.check(CheckContext(paired), [StalenessCheck()], window: .all)[.staleness])
        #expect(staleness.verdict == .valid)
        #expect(staleness.summary.hasPrefix("\(reads.count) reads"), "\(staleness.summary)")
    }

    /// The same logic with Redis as the cache (a primary and two replicas; fills and updates go
    /// to the primary, reads to any node), TTLs per family as `SET EX`; and with versioned keys
    /// (`SET NX` fills, `<key>@ver` set by writers).
    @Test(arguments: [false, true]) func redisAsTheCache(versioned: Bool) async throws {
        try await onOwnQueue { try await self.redisAsTheCacheBody(versioned: versioned) }
    }

    func redisAsTheCacheBody(versioned: Bool) async throws {
        let spec = smallLoad(processes: 6, rate: 300, keys: 10) {
            $0.writeMode = versioned ? .invalidate : .update  // refused together by the parser
            $0.versionedKeys = versioned
            $0.ttlsNs = [30_000_000_000, 5_000_000_000]
        }
        var versions: [String?] = []
        let (r, paired) = try await runOnFleet("redis-replicated", seed: 4, spec: spec, durationNs: 2_000_000_000) { topology, fleet, workload in
            let primary = RESPClient(reconnectingTo: fleet.port(of: topology.primary!)!)
            defer { primary.close() }
            for key in workload.keys {
                if case .bulkString(let v) = try primary.request(["GET", CacheAsideWorkload.versionKey(key)], deadlineNs: monotonicNs() + 2_000_000_000) { versions.append(v.map { String(decoding: $0, as: UTF8.self) }) }
            }
        }
        let okWrites = paired.operations.filter { $0.f == .write && $0.status == .ok }.count
        // Writes update the cache (write_mode: update, or <key>@ver): one attempt per write the origin took.
        #expect(r.stats.hits > 20 && okWrites > 2 && r.stats.invalidations + r.stats.invalidationErrors == okWrites, "\(r.stats)")
        // Hits come from the primary and the replicas.
        let readNodes = Set(paired.operations.filter { $0.f == .read && $0.status == .ok }.compactMap(\.node))
        #expect(readNodes.intersection(["n1", "n2", "n3"]).count >= 2, "\(readNodes)")
        #expect(Checker.check(CheckContext(paired), [StalenessCheck()], window: .all)[.staleness]?.verdict == .valid)
        // <key>@ver is on the primary for every key with versioned keys, and only then.
        #expect(versions.count == spec.keys && versions.allSatisfy { versioned ? Int64($0 ?? "") ?? 0 >= 1 : $0 == nil }, "\(versions)")
    }

    /// `versioned_keys: true` on a real pool, 8 clients for 2 s: reads hit `<key>@v<version>`
    /// through `<key>@ver`, a read after a write (none other in between) returns the new
    /// version, staleness stays within a generous bound, and memcached itself holds `<key>@ver`
    /// and no plain key after the run.
    @Test func versionedKeysAgainstARealPool() async throws { try await onOwnQueue { try await self.versionedKeysAgainstARealPoolBody() } }

    func versionedKeysAgainstARealPoolBody() async throws {
        let spec = smallLoad(processes: 8, rate: 400, keys: 20) { $0.versionedKeys = true }
        // What memcached holds after the run, asked directly: per key, <key>@ver, whether the
        // entry it names is there, and whether a plain key is.
        var held: [String: (version: String?, versioned: Bool, plain: Bool)] = [:]
        let (r, paired) = try await runOnFleet("memcached-pool", seed: 5, spec: spec, durationNs: 2_000_000_000) { topology, fleet, workload in
            let ring = KetamaRing(servers: topology.nodes.map(\.name))
            for key in workload.keys {
                let node = topology.nodes[ring.server(for: key)!].name
                let client = try MemcachedClient(port: fleet.port(of: node)!)
                defer { client.close() }
                let version = try client.get(CacheAsideWorkload.versionKey(key)).map { String(decoding: $0, as: UTF8.self) }
                let versioned = try version.flatMap { Int64($0) }.map { try client.get(CacheAsideWorkload.versionedKey(key, $0)) != nil } ?? false
                held[key] = (version, versioned, try client.get(key) != nil)
            }
        }
        // result.json's cache_aside object, as the runner writes it.
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(r)) as? [String: Any])
        #expect((json["hits"] as? Int ?? 0) > 100 && (json["fills"] as? Int ?? 0) > 0, "\(r.stats)")
        #expect(r.stats.staleServed == 0 && r.stats.fillErrors == 0, "\(r.stats)")

        let ops = paired.operations
        #expect(ops.filter { $0.status == .ok }.count * 100 >= ops.count * 95, "\(r.stats)")
        let okWrites = ops.filter { $0.f == .write && $0.status == .ok }
        // Every write the origin took set <key>@ver.
        #expect(okWrites.count > 10 && r.stats.invalidations + r.stats.invalidationErrors == okWrites.count, "\(r.stats)")
        let reads = ops.filter { $0.f == .read && $0.status == .ok }
        #expect(reads.filter { ["n1", "n2", "n3"].contains($0.node ?? "") }.count > 100, "hits recorded with their cache node")
        #expect(reads.contains { $0.node == CacheAsideWorkload.originNode }, "misses read the origin")
        // A process's next operation on a key after its write, when it is a read and no other
        // write of the key was invoked in between, returns the new version: the write set @ver first.
        var pairs = 0
        for w in okWrites {
            guard case .int(let v) = w.input, let done = w.completeTime,
                  let next = ops.first(where: { $0.process == w.process && $0.key == w.key && $0.invokeTime > done }),
                  next.f == .read, next.status == .ok, case .int(let got) = next.output else { continue }
            // Skip when another write of the key overlaps: one still setting its @ver (it does so
            // just after completing) could land after this one's, as two writers can.
            let overlapped = ops.contains {
                $0.f == .write && $0.key == w.key && $0.id != w.id && $0.invokeTime < next.invokeTime && ($0.completeTime ?? .max) > w.invokeTime - 100_000_000
            }
            if overlapped { continue }
            pairs += 1
            #expect(got >= v, "\(w.key): wrote \(v), then read \(got) from \(next.node ?? "?")")
        }
        #expect(pairs > 0, "no write followed by a read of the same key")
        // Staleness: reads are judged against the origin's writes, with a generous bound on the lag.
        let staleness = try #require(Checker.check(CheckContext(paired), [StalenessCheck(maxStalenessNs: 500_000_000)], window: .all)[.staleness])
        #expect(staleness.verdict == .valid, "\(staleness.summary)")
        // memcached itself: every key's @ver (warm filled them all; TTL 0), no plain keys.
        #expect(held.count == spec.keys)
        #expect(held.values.allSatisfy { $0.version.flatMap { Int64($0) } ?? 0 >= 1 && !$0.plain }, "\(held)")
        #expect(held.values.contains { $0.version.flatMap { Int64($0) } ?? 0 > 1 }, "writes moved some @ver on")
        #expect(held.values.filter(\.versioned).count > 0, "\(held)")
    }

    // MARK: The scenarios

    /// The scenario through `ScenarioRunner` on a queue of its own (its checks and report block,
    /// and Swift's task pool is shared with the other suites' runs). The checks are read back
    /// from result.json, as a user of `rift run` would.
    func run(_ name: String, scale: Double = 1) async throws -> (verdict: Verdict, result: [String: Any], cache: [String: Any], dir: String) {
        let dir = tempDir(name)
        let verdict = try await onOwnQueue { () -> Verdict in
            let (scenario, topology) = try ScenarioParser.load(path: Self.root + "/faults/\(name).yaml")
            return try await ScenarioRunner(scenario: scenario, topology: topology, options: RunOptions(scale: scale, outDirectory: dir)).run().verdict
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/result.json"))
        let result = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cache = try #require(result["cache_aside"] as? [String: Any])
        return (verdict, result, cache, dir)
    }

    /// `versioned_keys: true` from a scenario file's text through `ScenarioRunner`: result.json
    /// counts hits and its staleness check (a generous bound on the lag) holds.
    @Test func versionedKeysThroughTheRunner() async throws {
        let dir = tempDir("cache-aside-versioned-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = """
            name: versioned
            topology: memcached-pool
            seed: 6
            duration: 1500ms
            workload: {type: cache-aside, processes: 6, rate: 300, keys: 12, writes: 0.2, timeout: 3s, origin: {service_time: 5ms}, versioned_keys: true, ttl: [30s, 5s]}
            checks:
              - {check: staleness, max_staleness: 500ms}
            """
        let scenario = try ScenarioParser.parseScenario(text, file: "versioned.yaml")
        let topology = try pool()
        try ScenarioParser.validate(scenario, against: topology)
        let verdict = try await onOwnQueue { try await ScenarioRunner(scenario: scenario, topology: topology, options: RunOptions(outDirectory: dir)).run().verdict }
        let result = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/result.json"))) as? [String: Any])
        let cache = try #require(result["cache_aside"] as? [String: Any])
        #expect(verdict == .valid && verdicts(result) == [true], "\(String(describing: result["checks"]))")
        #expect((cache["hits"] as? Int ?? 0) > 50 && (cache["invalidations"] as? Int ?? 0) > 0, "\(cache.filter { $0.key != "origin_in_flight" })")
        #expect(cache["versioned_keys"] as? Bool == true)
        let reads = try HistoryReader.read(path: dir + "/history.jsonl").paired().operations.filter { $0.f == .read && $0.status == .ok }
        #expect(reads.contains { ["n1", "n2", "n3"].contains($0.node ?? "") })
    }

    /// Latency on the invalidators' link makes changes late, and a blackhole on the origin's
    /// link silences the channel: the invalidator counts both as lag and cuts the family's TTL.
    @Test func aSlowOrSilentBusIsLag() async throws {
        let dir = tempDir("cache-aside-bus-lag")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = """
            name: bus-lag
            topology: memcached-pool
            seed: 8
            duration: 4s
            workload:
              type: cache-aside
              processes: 4
              rate: 200
              keys: 40
              writes: 0.1
              timeout: 500ms
              origin: {service_time: 2ms}
              ttl: 60s
              invalidation: {mode: bus, on_lag: {shorten_ttl: 1s, max_lag: 500ms}}
            timeline:
              - {at: 500ms, fault: {proxy: invalidator-bus, type: latency, stream: downstream, attributes: {latency: 800}}}
              - {at: 1500ms, heal: {}}
              - {at: 2s, fault: {proxy: origin-bus, type: blackhole, stream: upstream}}
              - {at: 3s, heal: {}}
            """
        let scenario = try ScenarioParser.parseScenario(text, file: "bus-lag.yaml")
        let topology = try pool()
        try ScenarioParser.validate(scenario, against: topology)
        _ = try await onOwnQueue { try await ScenarioRunner(scenario: scenario, topology: topology, options: RunOptions(outDirectory: dir)).run().verdict }
        let result = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/result.json"))) as? [String: Any])
        let cache = try #require(result["cache_aside"] as? [String: Any])
        let counts = cache.filter { $0.key != "origin_in_flight" }
        #expect((cache["bus_late"] as? Int ?? 0) > 0 && (cache["bus_silences"] as? Int ?? 0) > 0, "\(counts)")
        #expect((cache["ttl_shortenings"] as? Int ?? 0) > 0 && (cache["short_ttl_fills"] as? Int ?? 0) > 0, "\(counts)")
        print("bus lag: \(counts)")
    }

    func verdicts(_ result: [String: Any]) -> [Bool?] {
        ((result["checks"] as? [[String: Any]]) ?? []).map { $0["valid"] as? Bool }
    }

    /// Expected FAIL, in short form (5 s): 5% of the bus's messages dropped leave stale entries
    /// for their 60 s TTL. The bus was a real redis-server, its changes were published and some
    /// found missing, and nothing was done about it.
    @Test func aLossyBusLeavesStaleEntries() async throws {
        let r = try await run("invalidation-bus-drop", scale: 0.5)
        defer { try? FileManager.default.removeItem(atPath: r.dir) }
        let counts = r.cache.filter { $0.key != "origin_in_flight" }
        #expect(r.verdict == .invalid && verdicts(r.result) == [false], "\(String(describing: r.result["checks"]))")
        #expect((r.cache["bus_published"] as? Int ?? 0) > 50 && (r.cache["bus_missed"] as? Int ?? 0) > 0, "\(counts)")
        #expect((r.cache["invalidations"] as? Int ?? 0) > 0 && r.cache["ttl_shortenings"] as? Int == 0 && r.cache["short_ttl_fills"] as? Int == 0, "\(counts)")
        #expect(FileManager.default.fileExists(atPath: r.dir + "/nodes/bus/redis.log"))
        print("invalidation-bus-drop (5 s): \(counts)")
    }

    /// Expected PASS, in short form (5 s): the same drop with `on_lag: {shorten_ttl: 1s}`: the
    /// invalidators find the gaps, cut the family to 1 s, and the history marks the fills made
    /// under it (node `origin-short-ttl`).
    @Test func shortenTTLOnLagBoundsTheStaleness() async throws {
        let r = try await run("invalidation-bus-drop-lag-ttl", scale: 0.5)
        defer { try? FileManager.default.removeItem(atPath: r.dir) }
        let counts = r.cache.filter { $0.key != "origin_in_flight" }
        #expect(r.verdict == .valid && verdicts(r.result) == [true], "\(String(describing: r.result["checks"]))")
        let shortFills = r.cache["short_ttl_fills"] as? Int ?? 0
        #expect((r.cache["bus_missed"] as? Int ?? 0) > 0 && (r.cache["ttl_shortenings"] as? Int ?? 0) > 0 && shortFills > 0, "\(counts)")
        let reads = try HistoryReader.read(path: r.dir + "/history.jsonl").paired().operations.filter { $0.f == .read && $0.status == .ok }
        // Fills that fail are not counted, but their reads are still marked.
        #expect(reads.filter { $0.node == CacheAsideWorkload.originShortTTLNode }.count >= shortFills)
        let html = try String(contentsOfFile: r.dir + "/report.html", encoding: .utf8)
        #expect(html.contains("invalidation bus: published") && html.contains("short-TTL fills \(shortFills)"))
        print("invalidation-bus-drop-lag-ttl (5 s): \(counts)")
    }

    /// Expected FAIL: without the cap the origin's in-flight requests peak far above 100, and
    /// only once n2 is down (before, the first check holds).
    @Test func outageMissStormOverloadsTheOrigin() async throws {
        let r = try await run("outage-miss-storm")
        defer { try? FileManager.default.removeItem(atPath: r.dir) }
        let peak = try #require(r.cache["origin_peak_in_flight"] as? Int)
        #expect(r.verdict == .invalid)
        #expect(verdicts(r.result) == [true, false])
        #expect(peak > 120, "peak \(peak), \(r.cache.filter { $0.key != "origin_in_flight" })")
        #expect((r.cache["cache_errors"] as? Int ?? 0) > 0 && r.cache["stale_served"] as? Int == 0 && r.cache["cap_origin_concurrency"] == nil)
        // The check saw the peak the gauge kept, in the samples written out.
        let samples = try #require(r.cache["origin_in_flight"] as? [[Int]])
        #expect(samples.map { $0[2] }.max() == peak)
        let check = ((r.result["checks"] as? [[String: Any]])?[1]["report"] as? [String: Any])
        #expect("\(check ?? [:])".contains("peaked at \(peak) > 100"))
        let html = try String(contentsOfFile: r.dir + "/report.html", encoding: .utf8)
        #expect(html.contains("Cache-aside: origin load") && html.contains("<polyline") && !html.contains("<script") && !html.contains("src="))
        #expect(html.contains("<h1>outage-miss-storm: FAIL</h1>"))
        // `rift report` on the run folder: the same checks, origin_load included, the same FAIL.
        let again = try RunReport.build(path: r.dir)
        #expect(again.fromRunResult && again.verdict == .invalid && again.changed.isEmpty, "\(again.changed)")
        #expect(again.html.contains("<h1>outage-miss-storm: FAIL</h1>") && again.html.contains("peaked at \(peak) &gt; 100"))
        print("outage-miss-storm: peak \(peak), \(r.cache.filter { $0.key != "origin_in_flight" })")
    }

    /// Expected PASS: with the cap and serving stale the peak stays at or under 100, and the
    /// stale reads are counted.
    @Test func theCapHoldsTheOriginAndStaleReadsAreCounted() async throws {
        let r = try await run("outage-miss-storm-capped")
        defer { try? FileManager.default.removeItem(atPath: r.dir) }
        let peak = try #require(r.cache["origin_peak_in_flight"] as? Int)
        let stale = try #require(r.cache["stale_served"] as? Int)
        #expect(r.verdict == .valid)
        #expect(verdicts(r.result) == [true, true])
        #expect(r.cache["cap_origin_concurrency"] as? Int == 100)
        #expect(peak <= 100 && peak > 50, "peak \(peak), \(r.cache.filter { $0.key != "origin_in_flight" })")
        #expect(stale > 0 && (r.cache["cache_errors"] as? Int ?? 0) > 0)
        let html = try String(contentsOfFile: r.dir + "/report.html", encoding: .utf8)
        #expect(html.contains("stale served \(stale)") && html.contains("cap 100"))
        print("outage-miss-storm-capped: peak \(peak), \(r.cache.filter { $0.key != "origin_in_flight" })")
    }
}

/// Runs async test code whose callees block (fleet start and stop, blocking sockets) on a
/// serial queue of its own instead of Swift's task pool, which has a thread per core: blocked
/// there, it delayed the timelines of other suites' runs in this process by seconds.
final class OwnQueueExecutor: TaskExecutor, @unchecked Sendable {
    private let queue = DispatchQueue(label: "rift-test-blocking")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    static let shared = OwnQueueExecutor()
}

func onOwnQueue<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
    try await withTaskExecutorPreference(OwnQueueExecutor.shared) { try await body() }
}
