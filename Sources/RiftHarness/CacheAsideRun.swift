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

/// What a cache-aside run starts beside the fleet: the workload, the origin, and the
/// invalidation bus when `invalidation: {mode: bus}`.
struct CacheAsideServers: Sendable {
    let workload: CacheAsideWorkload
    let origin: OriginServer
    let bus: InvalidationBus?
}

extension ScenarioRunner {
    /// Starts the origin (every key at version 1 when warm), its proxy `client-origin` on the
    /// fleet's proxy server, on a bus the bus node (`bus/` in the fleet's folder, its proxies
    /// `origin-bus` and `invalidator-bus`) and the invalidators, and the workload; fills the
    /// cache when warm. On failure what started is stopped.
    static func startCacheAside(_ plan: Scenario, fleet: Fleet, clients: @escaping MakeCacheClient, writer: HistoryWriter,
                                seed: UInt64) async throws -> CacheAsideServers {
        let options = plan.workload.cacheAside ?? CacheAsideSpec()
        let families = options.ttlsNs.count
        let bus: InvalidationBus? = options.invalidation.mode == .bus
            ? try await InvalidationBus.start(directory: fleet.directory + "/" + InvalidationBus.node, proxies: fleet.proxies,
                                              families: families, family: { (CacheAsideWorkload.index(ofKey: $0) ?? 0) % families })
            : nil
        var changed: (@Sendable (String, Int64) -> Void)?
        if let publisher = bus?.publisher { changed = { key, version in publisher.changed(key, version: version) } }
        let origin: OriginServer
        do {
            origin = try await OriginServer.start(serviceTimeNs: options.originServiceTimeNs, store: OriginStore(changed: changed))
        } catch {
            bus?.stop()
            throw error
        }
        do {
            let proxy = try await fleet.proxies.createProxy(ProxyConfig(
                name: OriginServer.proxyName, listen: "127.0.0.1:0", upstream: "127.0.0.1:\(origin.port)", from: Topology.client, to: CacheAsideWorkload.originNode))
            let workload = CacheAsideWorkload(spec: plan.workload, seed: seed, clients: clients, originPort: UInt16(proxy.port),
                                              busPort: bus?.subscribePort, writer: writer)
            if options.warm {
                origin.store.preload(workload.keys, value: String(repeating: "x", count: options.valueSize))
                try workload.warmCache(deadlineNs: monotonicNs() + 10_000_000_000)
            }
            try workload.startInvalidators()
            return CacheAsideServers(workload: workload, origin: origin, bus: bus)
        } catch {
            await origin.stop()
            bus?.stop()
            throw error
        }
    }

    /// Stops the invalidators, the origin and the bus, and collects what the run measured.
    static func finishCacheAside(_ run: CacheAsideServers, spec: CacheAsideSpec) async -> CacheAsideReport {
        await offThePool { run.workload.stop() }
        await run.origin.stop()
        run.bus?.stop()
        let (samples, dropped) = run.origin.series
        var stats = run.workload.cacheStats
        if let counts = run.bus?.publisher.currentCounts {
            stats.busPublished = counts.published
            stats.busLost = counts.lost
        }
        return CacheAsideReport(stats: stats, samples: samples, droppedSamples: dropped, peakInFlight: run.origin.store.gauge.current.1,
                                cap: spec.capOriginConcurrency, serviceTimeNs: spec.originServiceTimeNs, versionedKeys: spec.versionedKeys)
    }
}
