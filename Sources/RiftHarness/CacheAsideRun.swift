import Foundation
import RiftChecker
import RiftCore
import RiftHistory
import RiftProxy


/// A cache-aside run's own results (result.json's `cache_aside`, drawn in report.html).
public typealias CacheAsideReport = CacheAsideRecord

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
    static func startCacheAside(_ plan: Scenario, fleet: Fleet, clients: @escaping MakeCacheClient, writer: HistoryWriter,
                                seed: UInt64) async throws -> (CacheAsideWorkload, OriginServer) {
        let options = plan.workload.cacheAside ?? CacheAsideSpec()
        let origin = try await OriginServer.start(serviceTimeNs: options.originServiceTimeNs)
        do {
            let proxy = try await fleet.proxies.createProxy(ProxyConfig(
                name: OriginServer.proxyName, listen: "127.0.0.1:0", upstream: "127.0.0.1:\(origin.port)", from: Topology.client, to: CacheAsideWorkload.originNode))
            let workload = CacheAsideWorkload(spec: plan.workload, seed: seed, clients: clients, originPort: UInt16(proxy.port), writer: writer)
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
}
