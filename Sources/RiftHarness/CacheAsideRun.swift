import Foundation
import RiftChecker
import RiftCore
import RiftHistory
import RiftProxy


/// A cache-aside run's own results: the cache's counts and the origin's load over time (also in
/// result.json under `cache_aside` and drawn in report.html).
public struct CacheAsideReport: Sendable {
    public var stats: CacheAsideWorkload.CacheStats
    public var samples: [OriginGauge.Sample]
    /// Samples over `OriginServer.maxSamples`, not kept.
    public var droppedSamples: Int
    /// The origin's all-time peak of requests in flight (exact, not sampled).
    public var peakInFlight: Int
    public var cap: Int?
    public var serviceTimeNs: Int64
    /// The run cached under `<key>@v<version>` and `<key>@ver` (`versioned_keys`).
    public var versionedKeys = false

    public var checkerSamples: [OriginLoadChecker.Sample] { samples.map { .init(timeNs: $0.timeNs, peak: $0.peak) } }

    public var json: HistoryValue {
        let s = stats
        var o: [String: HistoryValue] = [
            "hits": .int(Int64(s.hits)), "misses": .int(Int64(s.misses)), "cache_errors": .int(Int64(s.cacheErrors)),
            "stale_served": .int(Int64(s.staleServed)), "origin_reads": .int(Int64(s.originReads)), "origin_writes": .int(Int64(s.originWrites)),
            "over_cap": .int(Int64(s.overCap)), "fills": .int(Int64(s.fills)), "fill_errors": .int(Int64(s.fillErrors)),
            "invalidations": .int(Int64(s.invalidations)), "invalidation_errors": .int(Int64(s.invalidationErrors)),
            "origin_peak_in_flight": .int(Int64(peakInFlight)), "origin_service_time_ns": .int(serviceTimeNs),
            "origin_samples_dropped": .int(Int64(droppedSamples)),
            // [time_ns, in flight at the sample, peak since the previous sample]
            "origin_in_flight": .list(samples.map { .list([.int($0.timeNs), .int(Int64($0.inFlight)), .int(Int64($0.peak))]) }),
        ]
        if let cap { o["cap_origin_concurrency"] = .int(Int64(cap)) }
        if versionedKeys { o["versioned_keys"] = .bool(true) }
        return .object(o)
    }
}

/// Runs a blocking `body` (joining workload threads) on a thread of its own, so it does not hold
/// one of the few threads of Swift's task pool: other runs' timelines (and other tests) need them.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (done: CheckedContinuation<T, Never>) in
        let t = Thread { done.resume(returning: body()) }
        t.name = "rift-blocking-wait"
        t.start()
    }
}

extension ScenarioRunner {
    /// Starts the origin (every key at version 1 when warm), its proxy `client-origin` on the
    /// fleet's proxy server, and the workload; fills the cache when warm. On failure the origin
    /// is stopped.
    static func startCacheAside(_ plan: Scenario, fleet: Fleet, backend: RegisterWorkload.Backend, writer: HistoryWriter,
                                seed: UInt64) async throws -> (CacheAsideWorkload, OriginServer) {
        let options = plan.workload.cacheAside ?? CacheAsideSpec()
        let origin = try await OriginServer.start(serviceTimeNs: options.originServiceTimeNs)
        do {
            let proxy = try await fleet.proxies.createProxy(ProxyConfig(
                name: OriginServer.proxyName, listen: "127.0.0.1:0", upstream: "127.0.0.1:\(origin.port)", from: Topology.client, to: CacheAsideWorkload.originNode))
            let workload = CacheAsideWorkload(spec: plan.workload, seed: seed, backend: backend, originPort: UInt16(proxy.port), writer: writer)
            if options.warm {
                origin.store.preload(workload.keys, value: String(repeating: "x", count: options.valueSize))
                try workload.warmCache(deadlineNs: monotonicNs() + 10_000_000_000)
            }
            return (workload, origin)
        } catch {
            await origin.stop()
            throw error
        }
    }

    /// Stops the origin and collects what the run measured.
    static func finishCacheAside(_ workload: CacheAsideWorkload, origin: OriginServer, spec: CacheAsideSpec) async -> CacheAsideReport {
        await origin.stop()
        let (samples, dropped) = origin.series
        return CacheAsideReport(stats: workload.cacheStats, samples: samples, droppedSamples: dropped, peakInFlight: origin.store.gauge.current.1,
                                cap: spec.capOriginConcurrency, serviceTimeNs: spec.originServiceTimeNs, versionedKeys: spec.versionedKeys)
    }

    /// The `origin_load` check on the gauge's samples, in the check's window.
    static func originLoadOutcome(_ spec: CheckSpec, _ paired: PairedHistory, report: CacheAsideReport?, scale: Double) -> CheckOutcome {
        guard let report else { return CheckOutcome(spec: spec, report: nil, error: "origin_load needs a cache-aside workload") }
        do {
            let options = try spec.options(scale: scale)
            let window = TimeWindow(from: try options.from?.resolve(in: paired) ?? .min, until: try options.until?.resolve(in: paired) ?? .max)
            let result = OriginLoadChecker.check(report.checkerSamples, window: window, maxInFlight: spec.maxInFlight)
            return CheckOutcome(spec: spec, report: CheckReport(checks: [result], operations: paired.operations.count))
        } catch {
            return CheckOutcome(spec: spec, report: nil, error: "\(error)")
        }
    }
}
