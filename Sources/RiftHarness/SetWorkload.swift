import Foundation
import RiftClient
import RiftCore
import RiftHistory

/// The `set` workload, Jepsen's set test on Redis: `processes` threads, one operation in flight
/// each, add a unique element (an integer that grows over the whole run, shared by every
/// process) to one of `keys` sets (`s0`, `s1`, ...) with `SADD`, at `rate` operations per second
/// in total. The adds go where the topology kind's cache client sends writes: the primary on a
/// replicated fleet, the master owning the set's slot on a cluster (each set is one key, so one
/// slot; no hash tags). Every add is recorded as an invocation and a completion (`ok` on an
/// integer reply, `fail` on an error reply or a refused connection: it surely did not happen,
/// `info` on a timeout or a broken connection) with the node that answered.
///
/// After the run, with the network healed, `finalRead` reads each set once with `SMEMBERS` where
/// the fleet takes writes then (`TopologyKind.currentClient`: after a failover, the new
/// primary), as `f: read` on a process of its own; the `lost_writes` check judges the adds
/// against it. Which set each add goes to comes from the seed, one generator per process.
public final class SetWorkload: ScenarioWorkload, Sendable {
    let spec: WorkloadSpec
    let seed: UInt64
    /// Makes each process's client; a Redis one (`TopologyKind.refusal` keeps memcached out).
    let clients: MakeCacheClient
    /// Each region's clients (`workload.clients: {us: 4, eu: 4}`): a process with a home region
    /// adds through its region's links to the primary its region's view names.
    let regionalClients: [String: MakeCacheClient]
    let writer: HistoryWriter
    /// One counter (index 0) for every set: elements are unique across the run.
    private let processes: WorkloadProcesses

    /// The final read's retries: every `finalReadRetryNs`, until `finalReadBudgetNs` after it
    /// began (for all the sets together; each is tried at least once).
    static let finalReadRetryNs: Int64 = 200_000_000
    static let finalReadBudgetNs: Int64 = 5_000_000_000

    public init(spec: WorkloadSpec, seed: UInt64, clients: @escaping MakeCacheClient, regionalClients: [String: MakeCacheClient] = [:], writer: HistoryWriter) throws(FleetError) {
        let probe = clients()
        defer { probe.close() }
        guard probe is any RESPCacheClient else { throw FleetError("the set workload needs a Redis fleet (SADD and SMEMBERS)") }
        self.spec = spec
        self.seed = seed
        self.clients = clients
        self.regionalClients = regionalClients
        self.writer = writer
        processes = WorkloadProcesses(keys: 1, writer: writer)
    }

    public static func key(_ index: Int) -> String { "s\(index)" }

    public var currentStats: RegisterWorkload.Stats { processes.currentStats }
    public var historyFailure: HistoryWriter.Failure? { processes.historyFailure }

    public func start(untilNs: Int64) {
        processes.start(spec.processes, name: "rift-set") { [self] in self.run(process: $0, untilNs: untilNs) }
    }

    public func stop() { processes.stop() }

    private func run(process: Int, untilNs: Int64) {
        var random = SeededRandom(seed: seed, labels: "set", String(process))
        let keys = KeyPicker(count: spec.keys, distribution: spec.distribution)
        // Checked in init: every client of this fleet speaks RESP.
        let client = (spec.region(ofProcess: process).flatMap { regionalClients[$0] }?() ?? clients()) as! any RESPCacheClient
        var pacer = Pacer(processes: spec.processes, rate: spec.rate, firstAt: random.nextUnit())
        let p = ProcessID.client(Int64(process))
        while pacer.wait(untilNs: untilNs, stopping: { processes.isStopping }) {
            let key = Self.key(keys.pick(random.nextUnit()))
            let route = client.route(key, write: true, random: &random, deadlineNs: monotonicNs() + spec.timeoutNs)
            let (element, invokeTime) = processes.nextWrite(0)
            processes.record(HistoryEvent(type: .invoke, process: p, f: "add", key: key, value: .int(element), time: invokeTime, node: route.node))
            var answeredBy = route.node
            let type: EventType
            do {
                let reply: RESPValue
                (reply, answeredBy) = try client.send(["SADD", key, String(element)], key: key, via: route, deadlineNs: invokeTime + spec.timeoutNs)
                switch reply {
                case .integer: type = .ok
                // READONLY, LOADING, CLUSTERDOWN...: the add did not run.
                case .error: type = .fail
                default: type = .info
                }
            } catch {
                type = error == .refused ? .fail : .info
            }
            processes.record(HistoryEvent(type: type, process: p, f: "add", key: key, value: .int(element), time: monotonicNs(), node: answeredBy))
            processes.count(type)
        }
        client.close()
    }

    /// Reads every set once with `SMEMBERS`, as process `processes` (after the workload's own):
    /// each attempt asks `currentClient` for a client routed where the fleet takes writes now, retrying
    /// every 200 ms until one answers with the members, for up to 5 s in all. Recorded as `ok`
    /// with the sorted integers, or `info` when no attempt got them (the check is then unknown).
    func finalRead(client currentClient: () throws -> any CacheClient) {
        let p = ProcessID.client(Int64(spec.processes))
        let budget = monotonicNs() + Self.finalReadBudgetNs
        for index in 0..<spec.keys {
            let key = Self.key(index)
            let invokeTime = monotonicNs()
            processes.record(HistoryEvent(type: .invoke, process: p, f: "read", key: key, value: .null, time: invokeTime))
            var outcome: (members: [HistoryValue], node: String)?
            var lastNode: String?
            while true {
                let attempt = monotonicNs()
                if let answer = try? Self.members(of: key, currentClient, deadlineNs: attempt + spec.timeoutNs) {
                    lastNode = answer.node
                    if let members = Self.elements(answer.reply) {
                        outcome = (members, answer.node)
                        break
                    }
                }
                if attempt + Self.finalReadRetryNs >= budget { break }
                usleep(UInt32(max(0, attempt + Self.finalReadRetryNs - monotonicNs()) / 1000))
            }
            let type: EventType = outcome == nil ? .info : .ok
            processes.record(HistoryEvent(type: type, process: p, f: "read", key: key, value: outcome.map { .list($0.members) } ?? .null,
                                          time: monotonicNs(), node: outcome?.node ?? lastNode))
            processes.count(type)
        }
    }

    /// One `SMEMBERS` through a fresh client from `currentClient`.
    private static func members(of key: String, _ currentClient: () throws -> any CacheClient, deadlineNs: Int64) throws -> (reply: RESPValue, node: String) {
        let client = try currentClient()
        defer { client.close() }
        guard let resp = client as? any RESPCacheClient else { throw FleetError("the set workload needs a Redis fleet (SADD and SMEMBERS)") }
        // Routed as a write (where writes go), which draws nothing from the generator.
        var unused = SeededRandom(seed: 0)
        let route = resp.route(key, write: true, random: &unused, deadlineNs: deadlineNs)
        let (reply, node) = try resp.send(["SMEMBERS", key], key: key, via: route, deadlineNs: deadlineNs)
        return (reply, node)
    }

    /// The members of an `SMEMBERS` reply, sorted (integers as integers, anything else as text,
    /// which the check reports as unexpected); nil for an error or a reply of another shape.
    static func elements(_ reply: RESPValue) -> [HistoryValue]? {
        let items: [RESPValue]
        switch reply {
        case .array(let a?): items = a
        case .set(let s): items = s
        default: return nil
        }
        var ints: [Int64] = [], others: [String] = []
        for item in items {
            guard case .bulkString(let bytes?) = item else { return nil }
            let text = String(decoding: bytes, as: UTF8.self)
            if let n = Int64(text) { ints.append(n) } else { others.append(text) }
        }
        return ints.sorted().map { .int($0) } + others.sorted().map { .string($0) }
    }
}
