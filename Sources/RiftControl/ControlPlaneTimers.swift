import Foundation
import RiftCore
import RiftFaults
import RiftProxy

extension ControlPlane {
    // MARK: - Timers

    static func toxicKey(_ proxy: String, _ toxic: String) -> String { "toxic:\(proxy)/\(toxic)" }

    func scheduleToxicExpiry(_ proxyName: String, _ toxicName: String, afterMs: Int64) {
        schedule(Self.toxicKey(proxyName, toxicName), afterMs: afterMs) { [self] in
            guard let proxy = server.proxy(named: proxyName) else { return }
            let wereEnabled = enabledNames([proxy])
            if (try? await proxy.removeFault(named: toxicName)) != nil {
                events.record("toxic.expire", proxy: proxyName, toxic: toxicName)
                recordIfDisabled([proxy], wereEnabled: wereEnabled)
            }
        }
    }

    func schedulePartitionHeal(_ id: String, afterMs: Int64) {
        schedule("partition:" + id, afterMs: afterMs) { [self] in
            let wereEnabled = enabledNames(server.proxies)
            if (try? await server.heal(id: id)) != nil {
                events.record("partition.heal", partition: id, detail: .object(["expired": .bool(true)]))
                recordIfDisabled(server.proxies, wereEnabled: wereEnabled)
            }
        }
    }

    private func schedule(_ key: String, afterMs: Int64, _ action: @escaping @Sendable () async -> Void) {
        let deadlineMs = RiftClock.wallNanoseconds() / 1_000_000 + afterMs
        timers.withLock { t in
            t.tasks[key]?.task.cancel()
            let generation = t.nextGeneration
            t.nextGeneration += 1
            let task = Task { [self] in
                try? await Task.sleep(for: .milliseconds(afterMs))
                // Only the timer still registered under the key acts; a newer one replaced it.
                let mine = timers.withLock { t -> Bool in
                    guard !Task.isCancelled, t.tasks[key]?.generation == generation else { return false }
                    t.tasks[key] = nil
                    return true
                }
                if mine { await action() }
            }
            t.tasks[key] = (generation, deadlineMs, task)
        }
    }

    func cancelTimer(_ key: String) {
        timers.withLock { $0.tasks.removeValue(forKey: key)?.task.cancel() }
    }

    func expiry(_ key: String) -> Int64? {
        timers.withLock { $0.tasks[key]?.deadlineMs }
    }

    /// Cancels every pending timer (at shutdown).
    public func cancelAllTimers() {
        let tasks = timers.withLock { t in
            defer { t.tasks.removeAll() }
            return t.tasks.values.map(\.task)
        }
        for task in tasks { task.cancel() }
    }
}
