import Foundation
import RiftClient
import RiftCore
import RiftHistory

/// The `register` workload: `processes` threads, one connection per node each and one operation
/// in flight, reading and writing `keys` keys at `rate` operations per second in total. Writes
/// carry unique integers that grow per key. Where each operation goes is the topology kind's
/// cache client's routing (`CacheClient`): on a replicated fleet writes go to the primary and
/// reads where `reads` says; on a memcached pool both go to the key's node on each process's own
/// ketama ring (with auto-eject, as libmemcached does it, when the spec asks); on a cluster to
/// the slot's master, following redirections.
/// Every operation is recorded as an invocation and a completion (`ok`, `fail` when it surely
/// did not happen, `info` on a timeout or a broken connection) with the node that answered.
///
/// Choices (operation, key, node) come from the seed, one generator per process, so a run's
/// sequence of operations per process is reproducible; their timing is the fleet's.
public final class RegisterWorkload: Sendable {
    public struct Stats: Sendable, Equatable {
        public var ok = 0
        public var fail = 0
        public var info = 0
        public var total: Int { ok + fail + info }
    }

    let spec: WorkloadSpec
    let seed: UInt64
    /// Makes each process's cache client: routing and the commands, by topology kind.
    let clients: MakeCacheClient
    let writer: HistoryWriter
    private let processes: WorkloadProcesses

    /// Each region's cache clients, for processes with a home region (`WorkloadSpec.clientRegions`).
    let regionalClients: [String: MakeCacheClient]

    public init(spec: WorkloadSpec, seed: UInt64, clients: @escaping MakeCacheClient, regionalClients: [String: MakeCacheClient] = [:], writer: HistoryWriter) {
        self.spec = spec
        self.seed = seed
        self.clients = clients
        self.regionalClients = regionalClients
        self.writer = writer
        processes = WorkloadProcesses(keys: spec.keys, writer: writer)
    }

    public static func key(_ index: Int) -> String { "r\(index)" }

    public var currentStats: Stats { processes.currentStats }
    /// The first failure to write the history, if any (the run's history is then incomplete).
    public var historyFailure: HistoryWriter.Failure? { processes.historyFailure }

    /// Starts the processes; they run until `stop()` or `untilNs` (monotonic), whichever first.
    public func start(untilNs: Int64) {
        processes.start(spec.processes, name: "rift-workload") { [self] in self.run(process: $0, untilNs: untilNs) }
    }

    /// Asks every process to stop and waits for them (at most one operation timeout each).
    public func stop() { processes.stop() }

    /// Waits until every process finished on its own.
    public func wait() { processes.wait() }

    private var isStopping: Bool { processes.isStopping }

    private func record(_ event: HistoryEvent) { processes.record(event) }

    private func run(process: Int, untilNs: Int64) {
        var random = SeededRandom(seed: seed, labels: "register", String(process))
        let keys = KeyPicker(count: spec.keys, distribution: spec.distribution)
        let client = spec.region(ofProcess: process).flatMap { regionalClients[$0] }?() ?? clients()
        var pacer = Pacer(processes: spec.processes, rate: spec.rate, firstAt: random.nextUnit())
        while pacer.wait(untilNs: untilNs, stopping: { isStopping }) {
            let keyIndex = keys.pick(random.nextUnit())
            let key = Self.key(keyIndex)
            let isWrite = random.nextUnit() < spec.writeFraction
            let route = client.route(key, write: isWrite, random: &random, deadlineNs: monotonicNs() + spec.timeoutNs)
            let p = ProcessID.client(Int64(process))
            let value: Int64
            let invokeTime: Int64
            if isWrite {
                (value, invokeTime) = processes.nextWrite(keyIndex)
            } else {
                value = 0
                invokeTime = monotonicNs()
            }
            let f = isWrite ? "write" : "read"
            record(HistoryEvent(type: .invoke, process: p, f: f, key: key, value: isWrite ? .int(value) : .null, time: invokeTime, node: route.target.node))
            let type: EventType
            var result: HistoryValue = isWrite ? .int(value) : .null
            var answeredBy = route.target.node
            let deadline = invokeTime + spec.timeoutNs
            do {
                if isWrite {
                    let written: CacheWrite
                    (written, answeredBy) = try client.store(key, String(value), ttlSeconds: 0, .set, via: route, deadlineNs: deadline)
                    switch written {
                    case .done: type = .ok
                    // The server refused it (LOADING, READONLY, NOT_STORED...): it did not happen.
                    case .notStored, .refused: type = .fail
                    case .unexpected: type = .info
                    }
                } else {
                    let read: CacheRead
                    (read, answeredBy) = try client.get(key, via: route, deadlineNs: deadline)
                    switch read {
                    case .hit(let s):
                        if let v = Int64(String(decoding: s, as: UTF8.self)) { type = .ok; result = .int(v) } else { type = .info }
                    case .miss: type = .ok
                    case .refused: type = .fail
                    case .unexpected: type = .info
                    }
                }
            } catch {
                type = error == .refused ? .fail : .info
            }
            let completed = monotonicNs()
            record(HistoryEvent(type: type, process: p, f: f, key: key, value: result, time: completed, node: answeredBy))
            client.report(route, ok: type == .ok, atNs: completed)
            processes.count(type)
        }
        client.close()
    }
}

/// Picks a key index from a uniform number in [0, 1), by the inverse of the distribution's CDF.
struct KeyPicker: Sendable {
    /// Cumulative probabilities; the last is 1.
    let cdf: [Double]

    init(count: Int, distribution: KeyDistribution) {
        let weights: [Double]
        switch distribution {
        case .uniform: weights = Array(repeating: 1, count: count)
        case .zipf(let skew): weights = (0..<count).map { 1 / pow(Double($0 + 1), skew) }
        }
        let total = weights.reduce(0, +)
        var running = 0.0
        cdf = weights.map { running += $0 / total; return running }
    }

    func pick(_ u: Double) -> Int {
        var lo = 0, hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cdf[mid] > u { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
