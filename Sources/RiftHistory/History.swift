/// A whole history: optional metadata from the `{"rift_history":1, ...}` first line, the events in
/// file order, and warnings the reader tolerated (a truncated last line).
public struct History: Sendable {
    public var metadata: [String: HistoryValue]
    public var events: [HistoryEvent]
    public var warnings: [String]
    /// What a read that completed `ok` with `null` says; set by the format's reader.
    public var nullReads: NullReadMeaning

    public init(metadata: [String: HistoryValue] = [:], events: [HistoryEvent], warnings: [String] = [], nullReads: NullReadMeaning = .absent) {
        self.metadata = metadata
        self.events = events
        self.warnings = warnings
        self.nullReads = nullReads
    }

    /// Fault and heal events (`"process":"nemesis"`), in file order.
    public var nemesisEvents: [HistoryEvent] { events.filter(\.isNemesis) }
}

/// What a read completed `ok` with `null` means. Formats differ: in Rift's histories (Redis GET
/// nil, memcached END) the register was absent; in Jepsen's and Knossos' EDN the models accept a
/// nil read from any state ("nil reads are always legal"), so it tells nothing.
public enum NullReadMeaning: String, Sendable, Hashable {
    case absent
    case unknown
}

/// The operations a client can perform. `read`/`write`/`cas`/`delete` act on a register;
/// `get`/`put`/`append` on a string key-value store (Porcupine's kv model); `txn` on several
/// registers at once (Knossos' multi-register: a list of `[f key value]` steps, see `TxnStep`);
/// `add` puts one element into a set (Jepsen's set workload), whose final `read` returns a list.
public enum OpFunction: String, Sendable, Hashable, CaseIterable {
    case read, write, cas, delete, get, put, append, txn, add
}

/// How an operation ended.
public enum OpStatus: String, Sendable, Hashable {
    /// Completed and took effect; `output` holds the completion's value.
    case ok
    /// Certainly did not take effect.
    case fail
    /// May or may not have taken effect, at any time after its invocation (also: never completed).
    case info
}

/// An invocation paired with its completion.
public struct HistoryOperation: Sendable, Hashable {
    /// Index in `PairedHistory.operations`.
    public var id: Int
    public var process: ProcessID
    public var f: OpFunction
    public var key: String
    /// The invocation's value (the value written, `[expected, new]` for cas, null for reads).
    public var input: HistoryValue
    /// The completion's value (`.null` for info operations).
    public var output: HistoryValue
    public var status: OpStatus
    public var invokeTime: Int64
    /// `nil` when the operation never completed or completed with `info`: its effect may land at
    /// any time after invocation.
    public var completeTime: Int64?
    public var node: String?
    public var session: String?
    public var invokeLine: Int
    public var completeLine: Int?

    public init(
        id: Int, process: ProcessID, f: OpFunction, key: String, input: HistoryValue, output: HistoryValue,
        status: OpStatus, invokeTime: Int64, completeTime: Int64?, node: String? = nil, session: String? = nil,
        invokeLine: Int = 0, completeLine: Int? = nil
    ) {
        self.id = id
        self.process = process
        self.f = f
        self.key = key
        self.input = input
        self.output = output
        self.status = status
        self.invokeTime = invokeTime
        self.completeTime = completeTime
        self.node = node
        self.session = session
        self.invokeLine = invokeLine
        self.completeLine = completeLine
    }

    /// True for a cas that ran and compared false (Porcupine's `fail` on a cas).
    public var isFailedCompare: Bool { f == .cas && status == .ok && output == .bool(false) }
}

/// Operations in invocation order, plus the nemesis events.
public struct PairedHistory: Sendable {
    public var operations: [HistoryOperation]
    public var nemesis: [HistoryEvent]
    public var metadata: [String: HistoryValue]
    public var warnings: [String]
    public var nullReads: NullReadMeaning

    public init(
        operations: [HistoryOperation], nemesis: [HistoryEvent] = [], metadata: [String: HistoryValue] = [:], warnings: [String] = [],
        nullReads: NullReadMeaning = .absent
    ) {
        self.operations = operations
        self.nemesis = nemesis
        self.metadata = metadata
        self.warnings = warnings
        self.nullReads = nullReads
    }

    /// Time of the first nemesis event with `f` (`"start"`, `"stop"`).
    public func firstNemesisTime(_ f: String) -> Int64? {
        nemesis.first(where: { $0.f == f })?.time
    }

    /// The metadata key of each client process's region: `{"us": [0, 1], "eu": [2, 3]}`.
    public static let clientRegionsKey = "client_regions"

    /// Each client process's home region, from the metadata (empty when the run had none).
    public var clientRegions: [ProcessID: String] {
        guard case .object(let regions)? = metadata[Self.clientRegionsKey] else { return [:] }
        var out: [ProcessID: String] = [:]
        for (region, list) in regions {
            guard case .list(let processes) = list else { continue }
            for case .int(let p) in processes { out[.client(p)] = region }
        }
        return out
    }

    /// The history as one region's clients saw it: every operation but reads, and the reads
    /// of `region`'s client processes (ids renumbered). A read tells only about the client that
    /// made it, and a write constrains every reader wherever it came from, so checks of this
    /// history judge that region's reads against all the writes. Reads by a process with no
    /// region (the set workload's final read, made by the harness) stay too.
    public func readsScoped(to region: String) -> PairedHistory {
        let regions = clientRegions
        var h = self
        h.operations = operations.filter { $0.f != .read || (regions[$0.process] ?? region) == region }
        for i in h.operations.indices { h.operations[i].id = i }
        return h
    }
}

/// A history that cannot be read or paired; `description` is `FILE:LINE: reason`.
public struct HistoryError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String?
    public var line: Int
    public var reason: String

    public init(file: String? = nil, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String {
        let f = file ?? "<history>"
        return line > 0 ? "\(f):\(line): \(reason)" : "\(f): \(reason)"
    }
}

extension History {
    /// Pairs each invocation with its process's next completion. A process whose last operation
    /// never completes is treated like `info`. Fails on a completion with nothing in flight, a
    /// second invocation while one is in flight, a completion of a different function, or a
    /// `txn` whose value is not a list of `[f key value]` steps (or whose completion names other
    /// steps than its invocation).
    public func paired() throws(HistoryError) -> PairedHistory {
        var ops: [HistoryOperation] = []
        ops.reserveCapacity(events.count / 2 + 1)
        var inFlight: [ProcessID: Int] = [:]
        var nemesis: [HistoryEvent] = []
        for event in events {
            if event.isNemesis {
                nemesis.append(event)
                continue
            }
            guard let f = OpFunction(rawValue: event.f) else {
                throw HistoryError(line: event.line, reason: "unknown function '\(event.f)' (expected read, write, cas, delete, get, put, append, txn or add)")
            }
            let steps: [TxnStep]?
            do throws(TxnStep.Failure) {
                steps = f == .txn && (event.type == .invoke || event.type == .ok) ? try TxnStep.parse(event.value) : nil
            } catch {
                throw HistoryError(line: event.line, reason: error.reason)
            }
            switch event.type {
            case .invoke:
                if let open = inFlight[event.process] {
                    throw HistoryError(line: event.line, reason: "process \(event.process) invokes \(event.f) while its \(ops[open].f.rawValue) from line \(ops[open].invokeLine) is in flight")
                }
                inFlight[event.process] = ops.count
                ops.append(HistoryOperation(
                    id: ops.count, process: event.process, f: f, key: event.key ?? "", input: event.value, output: .null,
                    status: .info, invokeTime: event.time, completeTime: nil, node: event.node, session: event.session,
                    invokeLine: event.line))
            case .ok, .fail, .info:
                guard let open = inFlight.removeValue(forKey: event.process) else {
                    throw HistoryError(line: event.line, reason: "process \(event.process) completes \(event.f) (\(event.type.rawValue)) with no operation in flight")
                }
                guard ops[open].f == f else {
                    throw HistoryError(line: event.line, reason: "process \(event.process) completes \(event.f) but invoked \(ops[open].f.rawValue) on line \(ops[open].invokeLine)")
                }
                if let steps, event.type == .ok, let invoked = try? TxnStep.parse(ops[open].input), !Self.sameShape(invoked, steps) {
                    throw HistoryError(line: event.line, reason: "txn completion \(event.value) does not name the steps of its invocation \(ops[open].input) on line \(ops[open].invokeLine)")
                }
                if event.time < ops[open].invokeTime {
                    throw HistoryError(line: event.line, reason: "completion time \(event.time) is before its invocation time \(ops[open].invokeTime)")
                }
                ops[open].completeLine = event.line
                if let node = event.node { ops[open].node = node }
                if ops[open].session == nil { ops[open].session = event.session }
                if event.key != nil, ops[open].key.isEmpty { ops[open].key = event.key! }
                switch event.type {
                case .ok:
                    ops[open].status = .ok
                    ops[open].output = event.value
                    ops[open].completeTime = event.time
                case .fail:
                    ops[open].status = .fail
                    ops[open].completeTime = event.time
                case .info, .invoke:
                    ops[open].status = .info
                }
            }
        }
        return PairedHistory(operations: ops, nemesis: nemesis, metadata: metadata, warnings: warnings, nullReads: nullReads)
    }

    /// The same functions on the same keys, in the same order.
    private static func sameShape(_ a: [TxnStep], _ b: [TxnStep]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.f == $1.f && $0.key == $1.key }
    }
}
