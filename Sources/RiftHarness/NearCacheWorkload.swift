import Foundation
import RiftClient
import RiftCore
import RiftHistory

/// What the scenario runner drives: the `register` workload or the `near-cache` one.
/// The `near-cache` workload: Redis client-side caching as applications use it. Each of
/// `processes` threads keeps a local cache of the keys it read, filled from `GET` on its own
/// RESP3 connection with `CLIENT TRACKING on` and invalidated by the `invalidate` pushes Redis
/// sends on that connection; its writes (`SET`, unique per-key increasing integers as in the
/// `register` workload) go through a second, plain connection, so every cache learns of every
/// write only through an invalidation. All of it goes to the primary: where the topology kind's
/// cache client routes writes (only a replicated Redis kind takes this workload).
///
/// The history records every read as a read: a `GET` answered by the server with the node's
/// name (`n1`), a read served from the local cache with `<node>-near` (`n1-near`), so the
/// staleness check judges both and its per-node details tell them apart. Before a cached read
/// the process applies the invalidations already received (without waiting for more). A lost
/// invalidation leaves the entry stale until the tracking connection breaks: Redis forgets a
/// key it invalidated until the client reads it again, so nothing corrects it. A broken or
/// timed-out tracking connection empties the cache (a client cannot know what it missed).
public final class NearCacheWorkload: ScenarioWorkload, Sendable {
    let spec: WorkloadSpec
    let seed: UInt64
    /// Makes each process's cache client: its writes, and where its tracking connection goes.
    let clients: MakeCacheClient
    let writer: HistoryWriter
    private let processes: WorkloadProcesses

    public init(spec: WorkloadSpec, seed: UInt64, clients: @escaping MakeCacheClient, writer: HistoryWriter) {
        self.spec = spec
        self.seed = seed
        self.clients = clients
        self.writer = writer
        processes = WorkloadProcesses(keys: spec.keys, writer: writer)
    }

    /// The node label of reads served from `node`'s data in a local cache.
    public static func nearNode(_ node: String) -> String { node + "-near" }

    public var currentStats: RegisterWorkload.Stats { processes.currentStats }
    public var historyFailure: HistoryWriter.Failure? { processes.historyFailure }

    public func start(untilNs: Int64) {
        processes.start(spec.processes, name: "rift-near-cache") { [self] in self.run(process: $0, untilNs: untilNs) }
    }

    public func stop() { processes.stop() }

    private func record(_ event: HistoryEvent) { processes.record(event) }
    private func count(_ type: EventType) { processes.count(type) }

    private func run(process: Int, untilNs: Int64) {
        var random = SeededRandom(seed: seed, labels: "near-cache", String(process))
        let keys = KeyPicker(count: spec.keys, distribution: spec.distribution)
        let writes = clients()
        var pacer = Pacer(processes: spec.processes, rate: spec.rate, firstAt: random.nextUnit())
        // Writes draw nothing from the generator: the primary, for every key.
        let primary = writes.route("", write: true, random: &random, deadlineNs: monotonicNs() + spec.timeoutNs)
        var reader = TrackingReader(port: primary.target.port)
        let p = ProcessID.client(Int64(process))
        while pacer.wait(untilNs: untilNs, stopping: { processes.isStopping }) {
            let keyIndex = keys.pick(random.nextUnit())
            let key = RegisterWorkload.key(keyIndex)
            if random.nextUnit() < spec.writeFraction {
                let (value, invokeTime) = processes.nextWrite(keyIndex)
                record(HistoryEvent(type: .invoke, process: p, f: "write", key: key, value: .int(value), time: invokeTime, node: primary.node))
                let type: EventType
                do {
                    switch try writes.store(key, String(value), ttlSeconds: 0, .set, via: primary, deadlineNs: invokeTime + spec.timeoutNs).0 {
                    case .done: type = .ok
                    case .notStored, .refused: type = .fail
                    case .unexpected: type = .info
                    }
                } catch {
                    type = error == .refused ? .fail : .info
                }
                record(HistoryEvent(type: type, process: p, f: "write", key: key, value: .int(value), time: monotonicNs(), node: primary.node))
                count(type)
            } else {
                read(key, on: primary.node, process: p, reader: &reader)
            }
        }
        writes.close()
        reader.close()
    }

    /// One read: from the local cache when it holds the key (after applying the invalidations
    /// already received), else a `GET` that fills it.
    private func read(_ key: String, on primary: String, process p: ProcessID, reader: inout TrackingReader) {
        let invokeTime = monotonicNs()
        let deadline = invokeTime + spec.timeoutNs
        var node = primary
        var invoked = false
        func invoke() {
            record(HistoryEvent(type: .invoke, process: p, f: "read", key: key, time: invokeTime, node: node))
            invoked = true
        }
        var type: EventType
        var result: HistoryValue = .null
        do {
            try reader.prepare(deadlineNs: deadline)
            if let cached = reader.cache[key] {
                node = Self.nearNode(primary)
                invoke()
                result = cached
                type = .ok
            } else {
                invoke()
                switch try reader.get(key, deadlineNs: deadline) {
                case .bulkString(nil), .null:
                    type = .ok
                    reader.fill(key, .null)
                case .bulkString(let s?):
                    if let v = Int64(String(decoding: s, as: UTF8.self)) {
                        type = .ok
                        result = .int(v)
                        reader.fill(key, result)
                    } else {
                        type = .info
                    }
                case .error: type = .fail
                default: type = .info
                }
            }
        } catch {
            reader.close()
            // Connecting or draining failed before the read began: it is recorded all the same.
            if !invoked { invoke() }
            type = error == .refused ? .fail : .info
        }
        record(HistoryEvent(type: type, process: p, f: "read", key: key, value: result, time: monotonicNs(), node: node))
        count(type)
    }
}

/// One process's tracking connection and the cache it keeps valid.
struct TrackingReader {
    private let client: RESPClient
    private var ready = false
    /// At most one entry per key of the workload (at most 100 000, as the parser bounds `keys`).
    private(set) var cache: [String: HistoryValue] = [:]

    init(port: UInt16) { client = RESPClient(reconnectingTo: port) }

    mutating func close() {
        client.close()
        ready = false
        cache.removeAll()
    }

    /// Connects and turns tracking on when needed, then applies every invalidation received so far.
    mutating func prepare(deadlineNs: Int64) throws(ClientError) {
        if !ready {
            close()
            if case .error(let e) = try client.request(["HELLO", "3"], deadlineNs: deadlineNs).withoutAttributes { throw .protocolError("HELLO 3: \(e)") }
            guard try reply(to: ["CLIENT", "TRACKING", "on"], deadlineNs: deadlineNs) == .simpleString("OK") else { throw .protocolError("CLIENT TRACKING refused") }
            ready = true
        }
        // What is buffered or already in the socket, without waiting; a push that has begun
        // to arrive is waited for (up to the deadline).
        while true {
            let value: RESPValue
            if let arrived = try client.readIfAvailable() {
                value = arrived
            } else if client.hasPartialReply {
                value = try client.readReply(deadlineNs: deadlineNs)
            } else {
                return
            }
            guard case .push(let items) = value.withoutAttributes else { throw .protocolError("unexpected reply with no request") }
            apply(items)
        }
    }

    mutating func get(_ key: String, deadlineNs: Int64) throws(ClientError) -> RESPValue {
        try reply(to: ["GET", key], deadlineNs: deadlineNs)
    }

    mutating func fill(_ key: String, _ value: HistoryValue) {
        cache[key] = value
    }

    /// Sends `command` and returns its reply, applying the pushes that come before it.
    private mutating func reply(to command: [String], deadlineNs: Int64) throws(ClientError) -> RESPValue {
        try client.send([command], deadlineNs: deadlineNs)
        while true {
            let value = try client.readReply(deadlineNs: deadlineNs).withoutAttributes
            guard case .push(let items) = value else { return value }
            apply(items)
        }
    }

    /// `invalidate` with a list of keys, or with null: everything.
    private mutating func apply(_ push: [RESPValue]) {
        guard push.count == 2, push[0] == .bulk("invalidate") || push[0] == .simpleString("invalidate") else { return }
        switch push[1] {
        case .array(let keys?), .set(let keys):
            for case .bulkString(let k?) in keys { cache[String(decoding: k, as: UTF8.self)] = nil }
        default:
            cache.removeAll()
        }
    }
}
