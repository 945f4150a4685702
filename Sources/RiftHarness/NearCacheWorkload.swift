import Foundation
import RiftCore
import RiftHistory

/// What the scenario runner drives: the `register` workload or the `near-cache` one.
/// The `near-cache` workload: Redis client-side caching as applications use it. Each of
/// `processes` threads keeps a local cache of the keys it read, filled from `GET` on its own
/// RESP3 connection with `CLIENT TRACKING on` and invalidated by the `invalidate` pushes Redis
/// sends on that connection; its writes (`SET`, unique per-key increasing integers as in the
/// `register` workload) go through a second, plain connection, so every cache learns of every
/// write only through an invalidation. All of it goes to the primary.
///
/// The history records every read as a read: a `GET` answered by the server with the node's
/// name (`n1`), a read served from the local cache with `<node>-near` (`n1-near`), so the
/// staleness check judges both and its per-node details tell them apart. Before a cached read
/// the process applies the invalidations already received (without waiting for more). A lost
/// invalidation leaves the entry stale until the tracking connection breaks: Redis forgets a
/// key it invalidated until the client reads it again, so nothing corrects it. A broken or
/// timed-out tracking connection empties the cache (a client cannot know what it missed).
public final class NearCacheWorkload: ScenarioWorkload, @unchecked Sendable {
    /// What a tracking connection carries: RESP3, with pushes.
    indirect enum Frame: Equatable {
        case simple(String)
        case error(String)
        case integer(Int64)
        case bulk(String?)
        case null
        /// Arrays, sets and maps (flattened).
        case list([Frame])
        case push([Frame])
    }

    let spec: WorkloadSpec
    let seed: UInt64
    let target: RegisterWorkload.Target
    let writer: HistoryWriter
    private let processes: WorkloadProcesses

    public init(spec: WorkloadSpec, seed: UInt64, target: RegisterWorkload.Target, writer: HistoryWriter) {
        self.spec = spec
        self.seed = seed
        self.target = target
        self.writer = writer
        processes = WorkloadProcesses(keys: spec.keys, writer: writer)
    }

    /// The node label of reads served from a local cache.
    public var nearNode: String { target.node + "-near" }

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
        let writes = RESPConnection(port: target.port)
        var reader = TrackingReader(port: target.port)
        var pacer = Pacer(processes: spec.processes, rate: spec.rate, firstAt: random.nextUnit())
        let p = ProcessID.client(Int64(process))
        while pacer.wait(untilNs: untilNs, stopping: { processes.isStopping }) {
            let keyIndex = keys.pick(random.nextUnit())
            let key = RegisterWorkload.key(keyIndex)
            if random.nextUnit() < spec.writeFraction {
                let (value, invokeTime) = processes.nextWrite(keyIndex)
                record(HistoryEvent(type: .invoke, process: p, f: "write", key: key, value: .int(value), time: invokeTime, node: target.node))
                let type: EventType
                do {
                    switch try writes.request(["SET", key, String(value)], deadlineNs: invokeTime + spec.timeoutNs) {
                    case .simple("OK"): type = .ok
                    case .error: type = .fail
                    default: type = .info
                    }
                } catch {
                    type = error == .refused ? .fail : .info
                }
                record(HistoryEvent(type: type, process: p, f: "write", key: key, value: .int(value), time: monotonicNs(), node: target.node))
                count(type)
            } else {
                read(key, process: p, reader: &reader)
            }
        }
        writes.close()
        reader.close()
    }

    /// One read: from the local cache when it holds the key (after applying the invalidations
    /// already received), else a `GET` that fills it.
    private func read(_ key: String, process p: ProcessID, reader: inout TrackingReader) {
        let invokeTime = monotonicNs()
        let deadline = invokeTime + spec.timeoutNs
        var node = target.node
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
                node = nearNode
                invoke()
                result = cached
                type = .ok
            } else {
                invoke()
                switch try reader.get(key, deadlineNs: deadline) {
                case .bulk(nil), .null:
                    type = .ok
                    reader.fill(key, .null)
                case .bulk(let s?):
                    if let v = Int64(s) {
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
    private let socket: DeadlineSocket
    private var ready = false
    /// At most one entry per key of the workload (at most 100 000, as the parser bounds `keys`).
    private(set) var cache: [String: HistoryValue] = [:]

    init(port: UInt16) { socket = DeadlineSocket(port: port) }

    mutating func close() {
        socket.close()
        ready = false
        cache.removeAll()
    }

    /// Connects and turns tracking on when needed, then applies every invalidation received so far.
    mutating func prepare(deadlineNs: Int64) throws(RESPFailure) {
        if !ready {
            close()
            try socket.connect(deadlineNs: deadlineNs)
            try send(["HELLO", "3"], deadlineNs: deadlineNs)
            if case .error(let e) = try reply(deadlineNs: deadlineNs) { throw .protocolError("HELLO 3: \(e)") }
            try send(["CLIENT", "TRACKING", "on"], deadlineNs: deadlineNs)
            guard try reply(deadlineNs: deadlineNs) == .simple("OK") else { throw .protocolError("CLIENT TRACKING refused") }
            ready = true
        }
        // A deadline already past: reads only what is buffered or already in the socket.
        while true {
            let first: String
            do { first = try socket.line(deadlineNs: monotonicNs()) } catch .timeout { return }
            let frame = try Self.frame(socket, first: first, deadlineNs: deadlineNs)
            guard case .push(let items) = frame else { throw .protocolError("unexpected reply with no request") }
            apply(items)
        }
    }

    mutating func get(_ key: String, deadlineNs: Int64) throws(RESPFailure) -> NearCacheWorkload.Frame {
        try send(["GET", key], deadlineNs: deadlineNs)
        return try reply(deadlineNs: deadlineNs)
    }

    mutating func fill(_ key: String, _ value: HistoryValue) {
        cache[key] = value
    }

    private func send(_ args: [String], deadlineNs: Int64) throws(RESPFailure) {
        var out = "*\(args.count)\r\n"
        for a in args { out += "$\(a.utf8.count)\r\n\(a)\r\n" }
        try socket.send(Array(out.utf8), deadlineNs: deadlineNs)
    }

    /// The next reply, applying the pushes that come before it.
    private mutating func reply(deadlineNs: Int64) throws(RESPFailure) -> NearCacheWorkload.Frame {
        while true {
            let frame = try Self.frame(socket, deadlineNs: deadlineNs)
            guard case .push(let items) = frame else { return frame }
            apply(items)
        }
    }

    /// `invalidate` with a list of keys, or with null: everything.
    private mutating func apply(_ push: [NearCacheWorkload.Frame]) {
        guard push.count == 2, push[0] == .bulk("invalidate") || push[0] == .simple("invalidate") else { return }
        switch push[1] {
        case .list(let keys):
            for case .bulk(let k?) in keys { cache[k] = nil }
        default:
            cache.removeAll()
        }
    }

    static func frame(_ socket: DeadlineSocket, first: String? = nil, deadlineNs: Int64, depth: Int = 0) throws(RESPFailure) -> NearCacheWorkload.Frame {
        guard depth < 8 else { throw .protocolError("nesting too deep") }
        let l: String
        if let first { l = first } else { l = try socket.line(deadlineNs: deadlineNs) }
        guard let kind = l.first else { throw .protocolError("empty line") }
        let rest = String(l.dropFirst())
        switch kind {
        case "+", "#", ",", "(": return .simple(rest)
        case "-": return .error(rest)
        case "_": return .null
        case ":":
            guard let v = Int64(rest) else { throw .protocolError("bad integer") }
            return .integer(v)
        case "$", "=", "!":
            guard let n = Int(rest), n >= -1, n < 64 << 20 else { throw .protocolError("bad length") }
            if n == -1 { return .bulk(nil) }
            let s = try socket.exact(n, deadlineNs: deadlineNs)
            return kind == "!" ? .error(s) : .bulk(s)
        case "*", "~", ">", "%", "|":
            guard let n = Int(rest), n >= -1, n < 1 << 20 else { throw .protocolError("bad aggregate length") }
            if n == -1 { return .null }
            var items: [NearCacheWorkload.Frame] = []
            for _ in 0..<(kind == "%" || kind == "|" ? 2 * n : n) {
                items.append(try frame(socket, deadlineNs: deadlineNs, depth: depth + 1))
            }
            // Attributes describe the frame that follows them.
            if kind == "|" { return try frame(socket, deadlineNs: deadlineNs, depth: depth + 1) }
            return kind == ">" ? .push(items) : .list(items)
        default:
            throw .protocolError("unexpected type '\(kind)'")
        }
    }
}
