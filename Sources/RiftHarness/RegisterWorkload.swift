import Foundation
import RiftClient
import RiftCore
import RiftHistory

/// The `register` workload: `processes` threads, one connection per node each and one operation
/// in flight, reading and writing `keys` keys at `rate` operations per second in total. Writes
/// carry unique integers that grow per key. On a replicated fleet writes go to the primary and
/// reads where `reads` says; on a memcached pool both go to the key's node on each process's own
/// ketama ring (with auto-eject, as libmemcached does it, when the spec asks).
/// Every operation is recorded as an invocation and a completion (`ok`, `fail` when it surely
/// did not happen, `info` on a timeout or a broken connection) with the node that answered.
///
/// Choices (operation, key, node) come from the seed, one generator per process, so a run's
/// sequence of operations per process is reproducible; their timing is the fleet's.
public final class RegisterWorkload: @unchecked Sendable {
    public struct Target: Sendable {
        public var node: String
        public var port: UInt16
        public init(node: String, port: UInt16) {
            self.node = node
            self.port = port
        }
    }

    public struct Stats: Sendable, Equatable {
        public var ok = 0
        public var fail = 0
        public var info = 0
        public var total: Int { ok + fail + info }
    }

    /// Where operations go.
    public enum Backend: Sendable {
        case replicated(primary: Target, replicas: [Target])
        case ketama(nodes: [Target])
        /// A Redis cluster: each key to the master owning its slot, following redirections
        /// (ClusterRouting.swift); the nodes by the client port they announce.
        case cluster(nodes: [Target])
    }

    let spec: WorkloadSpec
    let seed: UInt64
    let backend: Backend
    let readTargets: [Target]
    let ring: KetamaRing
    let writer: HistoryWriter
    private let processes: WorkloadProcesses

    public init(spec: WorkloadSpec, seed: UInt64, backend: Backend, writer: HistoryWriter) {
        self.spec = spec
        self.seed = seed
        self.backend = backend
        switch backend {
        case .replicated(let primary, let replicas):
            switch spec.reads {
            case .any: readTargets = [primary] + replicas
            case .primary: readTargets = [primary]
            case .replicas: readTargets = replicas.isEmpty ? [primary] : replicas
            }
            ring = KetamaRing(servers: [])
        case .ketama(let nodes):
            readTargets = nodes
            ring = KetamaRing(servers: nodes.map(\.node))
        case .cluster(let nodes):
            readTargets = nodes
            ring = KetamaRing(servers: [])
        }
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
        var connections: [UInt16: RESPClient] = [:]
        func connection(_ t: Target) -> RESPClient {
            if let c = connections[t.port] { return c }
            let c = RESPClient(reconnectingTo: t.port)
            connections[t.port] = c
            return c
        }
        var memcachedConnections: [UInt16: MemcachedClient] = [:]
        func memcached(_ t: Target) -> MemcachedClient {
            if let c = memcachedConnections[t.port] { return c }
            let c = MemcachedClient(reconnectingTo: t.port)
            memcachedConnections[t.port] = c
            return c
        }
        var cluster: ClusterClient?
        if case .cluster(let nodes) = backend { cluster = ClusterClient(targets: nodes) }
        var ejection = EjectionState(failureLimit: spec.failureLimit, retryTimeoutNs: spec.retryTimeoutNs)
        var pacer = Pacer(processes: spec.processes, rate: spec.rate, firstAt: random.nextUnit())
        while pacer.wait(untilNs: untilNs, stopping: { isStopping }) {
            let keyIndex = keys.pick(random.nextUnit())
            let key = Self.key(keyIndex)
            let isWrite = random.nextUnit() < spec.writeFraction
            let target: Target
            var ringIndex: Int?
            switch backend {
            case .replicated(let primary, _):
                target = isWrite ? primary : readTargets[Int(random.next() % UInt64(readTargets.count))]
            case .ketama(let nodes):
                let t = monotonicNs()
                ringIndex = ring.server(for: key) { spec.autoEject ? ejection.isLive($0, at: t) : true } ?? ring.server(for: key)!
                target = nodes[ringIndex!]
            case .cluster:
                target = cluster!.target(for: key, deadlineNs: monotonicNs() + spec.timeoutNs)
            }
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
            record(HistoryEvent(type: .invoke, process: p, f: f, key: key, value: isWrite ? .int(value) : .null, time: invokeTime, node: target.node))
            let type: EventType
            var result: HistoryValue = isWrite ? .int(value) : .null
            var answeredBy = target.node
            let deadline = invokeTime + spec.timeoutNs
            do {
                let reply: RESPValue
                switch backend {
                case .replicated:
                    reply = try connection(target).request(isWrite ? ["SET", key, String(value)] : ["GET", key], deadlineNs: deadline)
                case .ketama:
                    // Memcached's answers in RESP's terms, so both share the outcome rules below.
                    if isWrite {
                        do {
                            reply = try memcached(target).set(key, value: Array(String(value).utf8), deadlineNs: deadline) ? .simpleString("OK") : .error("not stored")
                        } catch .serverError {
                            reply = .error("not stored")  // an error line: the server did not store it
                        }
                    } else {
                        reply = .bulkString(try memcached(target).get(key, deadlineNs: deadline))
                    }
                case .cluster:
                    let answered: Target
                    (reply, answered) = try cluster!.request(isWrite ? ["SET", key, String(value)] : ["GET", key], key: key, deadlineNs: deadline)
                    answeredBy = answered.node
                }
                switch reply {
                case .simpleString("OK") where isWrite: type = .ok
                case .bulkString(let s) where !isWrite:
                    if let s {
                        if let v = Int64(String(decoding: s, as: UTF8.self)) { type = .ok; result = .int(v) } else { type = .info }
                    } else {
                        type = .ok
                    }
                case .error:
                    // The server refused it (LOADING, READONLY...): it did not happen.
                    type = .fail
                default:
                    type = .info
                }
            } catch {
                type = error == .refused ? .fail : .info
            }
            let completed = monotonicNs()
            record(HistoryEvent(type: type, process: p, f: f, key: key, value: result, time: completed, node: answeredBy))
            if let ringIndex, spec.autoEject { ejection.report(ringIndex, ok: type == .ok, at: completed) }
            processes.count(type)
        }
        for c in connections.values { c.close() }
        for c in memcachedConnections.values { c.close() }
        cluster?.close()
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
