import Foundation
import RiftCore
import RiftHistory
import Synchronization

/// What every workload's processes share: their threads and stop flag, the history they append
/// to (the first failure to write it is kept), the run's counts, and the per-key counters that
/// make written values unique and increasing in invocation order.
final class WorkloadProcesses: Sendable {
    let writer: HistoryWriter
    private struct State {
        var counters: [Int64]
        var stats = RegisterWorkload.Stats()
        var stopping = false
        var writeError: HistoryWriter.Failure?
    }
    private let state: Mutex<State>
    private let finished = DispatchGroup()

    init(keys: Int, writer: HistoryWriter) {
        self.writer = writer
        state = Mutex(State(counters: Array(repeating: 0, count: keys)))
    }

    var currentStats: RegisterWorkload.Stats { state.withLock { $0.stats } }
    var historyFailure: HistoryWriter.Failure? { state.withLock { $0.writeError } }
    var isStopping: Bool { state.withLock { $0.stopping } }

    /// Starts `count` threads named `name-<i>`, each running `body(i)`.
    func start(_ count: Int, name: String, _ body: @escaping @Sendable (Int) -> Void) {
        for i in 0..<count {
            finished.enter()
            let t = Thread { [self] in
                body(i)
                self.finished.leave()
            }
            t.name = "\(name)-\(i)"
            t.start()
        }
    }

    /// Asks every thread to stop and waits for them.
    func stop() {
        state.withLock { $0.stopping = true }
        finished.wait()
    }

    func wait() { finished.wait() }

    func record(_ event: HistoryEvent) {
        do {
            try writer.append(event)
        } catch {
            state.withLock { if $0.writeError == nil { $0.writeError = error } }
        }
    }

    func count(_ type: EventType) {
        state.withLock {
            switch type {
            case .ok: $0.stats.ok += 1
            case .fail: $0.stats.fail += 1
            case .info, .invoke: $0.stats.info += 1
            }
        }
    }

    /// The next value to write to key `index` and the invocation time, taken together, so a
    /// write invoked after another completed always carries a larger value (what the checker
    /// relies on).
    func nextWrite(_ index: Int) -> (value: Int64, invokeTime: Int64) {
        state.withLock {
            $0.counters[index] += 1
            return ($0.counters[index], monotonicNs())
        }
    }
}

/// Paces one process: an operation every `intervalNs` (the rate over all processes, shared out),
/// the first spread over one interval so processes do not start in step, and no burst after
/// falling behind (a long timeout): the schedule restarts from now.
struct Pacer {
    let intervalNs: Int64
    private var next: Int64

    init(processes: Int, rate: Int, firstAt unit: Double) {
        intervalNs = Int64(Double(processes) / Double(rate) * 1e9)
        next = monotonicNs() + Int64(unit * Double(intervalNs))
    }

    /// Sleeps until the next operation is due; false once `untilNs` has passed or `stopping()`.
    mutating func wait(untilNs: Int64, stopping: () -> Bool) -> Bool {
        while !stopping() {
            let now = monotonicNs()
            if now >= untilNs { return false }
            if now < next {
                usleep(UInt32(min(next - now, 50_000_000) / 1000))
                continue
            }
            next += intervalNs
            if next < now - intervalNs { next = now }
            return true
        }
        return false
    }
}
