import Dispatch
import Foundation
import RiftCore
import RiftHistory
import Synchronization

/// The verdict for one key (or one set of keys that txns link), with evidence when it is not
/// valid.
public struct KeyLinearizability: Sendable {
    /// The key, or the linked keys sorted and joined by commas.
    public var key: String
    /// The keys searched together: one unless txns link several.
    public var keys: [String] = []
    public var model: ModelKind
    public var verdict: Verdict
    /// Operations considered (after dropping those that certainly had no effect).
    public var operations: Int
    /// Longest linearizable prefix found, in linearization order (operation ids).
    public var longestPrefix: [Int]
    /// Model state after `longestPrefix`.
    public var prefixState: String?
    /// Operations that could not be linearized after the prefix (operation ids); the first is
    /// the one whose completion the search could not get past.
    public var blocked: [Int]
    /// Why the key is unknown (time budget, unsupported operation).
    public var reason: String?
    public var steps: Int
    public var elapsedNs: Int64
    /// "zones" when the polynomial unique-writes check decided, "search" for the WGL search.
    public var method: String = "search"
}

public struct LinearizabilityResult: Sendable {
    public var verdict: Verdict
    public var keys: [KeyLinearizability]
    public var invalidKeys: [String] { keys.filter { $0.verdict == .invalid }.map(\.key) }
    public var unknownKeys: [String] { keys.filter { $0.verdict == .unknown }.map(\.key) }
}

/// Linearizability per key (P-compositionality: a history is linearizable iff each key's
/// sub-history is), keys searched in parallel on all cores, biggest first. Keys that `txn`
/// operations touch together are searched together (`KeyComponents`).
public enum LinearizabilityChecker {
    /// `timeoutNs` is a budget for the whole check: a key not finished in time is `unknown`.
    /// With `stopAtFirstInvalid`, once a key is not linearizable the keys still being searched (or
    /// not yet started) are reported `unknown`: the verdict is already invalid, and a hard key can
    /// take exponential time to refute. `settings` gives the registers' initial value and what a
    /// null read means.
    public static func check(
        _ operations: [HistoryOperation], timeoutNs: Int64? = nil, stopAtFirstInvalid: Bool = true,
        parallelism: Int = ProcessInfo.processInfo.activeProcessorCount, settings: ModelSettings = ModelSettings()
    ) -> LinearizabilityResult {
        run(operations, timeoutNs: timeoutNs, stopAtFirstInvalid: stopAtFirstInvalid, parallelism: parallelism, nullReads: settings.nullReads) { key, ops, deadline, cancellation in
            checkKey(key, ops, deadlineNs: deadline, cancellation: cancellation, settings: settings)
        }
    }

    /// Checks against a model of your own: one sub-history per key, each compiled by
    /// `M.compile` and searched like the built-in models.
    public static func check<M: Model>(
        _ operations: [HistoryOperation], model: M.Type, timeoutNs: Int64? = nil, stopAtFirstInvalid: Bool = true,
        parallelism: Int = ProcessInfo.processInfo.activeProcessorCount
    ) -> LinearizabilityResult {
        run(operations, timeoutNs: timeoutNs, stopAtFirstInvalid: stopAtFirstInvalid, parallelism: parallelism, nullReads: .absent) { key, ops, deadline, cancellation in
            let start = RiftClock.monotonicNanoseconds()
            var result: KeyLinearizability
            do throws(ModelError) {
                let (model, calls) = try M.compile(ops)
                result = search(key, .custom, model, calls, ops, deadline, cancellation)
            } catch {
                result = KeyLinearizability(
                    key: key, model: .custom, verdict: .unknown, operations: ops.count, longestPrefix: [], prefixState: nil,
                    blocked: [error.operation], reason: error.reason, steps: 0, elapsedNs: 0)
            }
            result.elapsedNs = RiftClock.monotonicNanoseconds() - start
            return result
        }
    }

    private static func run(
        _ operations: [HistoryOperation], timeoutNs: Int64?, stopAtFirstInvalid: Bool, parallelism: Int, nullReads: NullReadMeaning,
        checkOne: @escaping @Sendable (String, [HistoryOperation], Int64?, SearchCancellation) -> KeyLinearizability
    ) -> LinearizabilityResult {
        let relevant: (HistoryOperation) -> Bool = { op in
            // A failed operation certainly did not happen; an unfinished read has no effect; a
            // read of null that tells nothing (Knossos' nil read) constrains nothing.
            if op.status == .fail { return false }
            if op.status == .info, op.f == .read || op.f == .get { return false }
            if op.status == .info, op.f == .txn, let steps = op.txnSteps, steps.allSatisfy({ $0.f == .read }) { return false }
            if nullReads == .unknown, op.status == .ok, op.f == .read, op.output.isNull { return false }
            return true
        }
        let partitions = KeyComponents.partition(operations, where: relevant).sorted { a, b in
            a.operations.count != b.operations.count ? a.operations.count > b.operations.count : a.name < b.name
        }
        let deadline = timeoutNs.map { RiftClock.monotonicNanoseconds() + $0 }
        let results = ResultSlots(count: partitions.count)
        let next = WorkCounter()
        let cancellation = SearchCancellation()
        let workers = max(1, min(parallelism, partitions.count))
        let work: @Sendable (Int) -> Void = { _ in
            while true {
                let i = next.take()
                if i >= partitions.count { return }
                var r = checkOne(partitions[i].name, partitions[i].operations, deadline, cancellation)
                r.keys = partitions[i].keys
                if r.verdict == .invalid, stopAtFirstInvalid { cancellation.cancel() }
                results.set(i, r)
            }
        }
        if workers == 1 {
            work(0)  // no thread hand-off for a single key: most histories of one register
        } else {
            DispatchQueue.concurrentPerform(iterations: workers, execute: work)
        }
        let keys = results.values.compactMap { $0 }.sorted { $0.key < $1.key }
        // No key: nothing to contradict linearizability (an empty history is linearizable).
        return LinearizabilityResult(verdict: keys.map(\.verdict).reduce(.valid) { $0.combined(with: $1) }, keys: keys)
    }

    static func checkKey(
        _ key: String, _ ops: [HistoryOperation], deadlineNs: Int64?, cancellation: SearchCancellation? = nil, settings: ModelSettings = ModelSettings()
    ) -> KeyLinearizability {
        let start = RiftClock.monotonicNanoseconds()
        if let cancellation, cancellation.isCancelled {
            return KeyLinearizability(
                key: key, model: ModelKind.choose(for: ops), verdict: .unknown, operations: ops.count, longestPrefix: [], prefixState: nil,
                blocked: [], reason: Self.cancelledReason, steps: 0, elapsedNs: 0)
        }
        let kind = ModelKind.choose(for: ops)
        var result: KeyLinearizability
        do throws(ModelError) {
            switch kind {
            case .register:
                switch UniqueWritesChecker.check(ops, initial: settings.initialValue) {
                case .linearizable?:
                    result = KeyLinearizability(
                        key: key, model: kind, verdict: .valid, operations: ops.count, longestPrefix: [], prefixState: nil,
                        blocked: [], reason: nil, steps: 0, elapsedNs: 0, method: "zones")
                case .notLinearizable(let conflict)?:
                    // Decided; search briefly only for the evidence (longest prefix).
                    let budget = RiftClock.monotonicNanoseconds() + 1_000_000_000
                    let (model, calls) = try RegisterModel.compile(ops, settings)
                    result = search(key, kind, model, calls, ops, min(deadlineNs ?? .max, budget), cancellation)
                    result.method = "zones"
                    if result.verdict != .invalid {
                        result.verdict = .invalid
                        result.reason = nil
                        result.blocked = conflict.map { ops[$0].id }
                    }
                case nil:
                    let (model, calls) = try RegisterModel.compile(ops, settings)
                    result = search(key, kind, model, calls, ops, deadlineNs, cancellation)
                }
            case .kv:
                let (model, calls) = try KVModel.compile(ops, settings)
                result = search(key, kind, model, calls, ops, deadlineNs, cancellation)
            case .multiRegister:
                let (model, calls) = try MultiRegisterModel.compile(ops, settings)
                result = search(key, kind, model, calls, ops, deadlineNs, cancellation)
            case .set:
                let (model, calls) = try SetModel.compile(ops)
                result = search(key, kind, model, calls, ops, deadlineNs, cancellation)
            case .custom:
                throw ModelError(operation: ops.first?.id ?? 0, reason: "custom models are checked with check(_:model:)")
            }
        } catch {
            result = KeyLinearizability(
                key: key, model: kind, verdict: .unknown, operations: ops.count, longestPrefix: [], prefixState: nil,
                blocked: [error.operation], reason: error.reason, steps: 0, elapsedNs: 0)
        }
        result.elapsedNs = RiftClock.monotonicNanoseconds() - start
        return result
    }

    static func search<M: Model>(
        _ key: String, _ kind: ModelKind, _ model: M, _ calls: [(input: M.Input, output: M.Output)], _ ops: [HistoryOperation], _ deadlineNs: Int64?,
        _ cancellation: SearchCancellation?
    ) -> KeyLinearizability {
        var lastOfClass: [InfoClass: Int32] = [:]
        var infoPredecessor = [Int32](repeating: -1, count: ops.count)
        for i in ops.indices.sorted(by: { ops[$0].invokeTime < ops[$1].invokeTime }) where ops[i].status != .ok {
            let c = InfoClass(f: ops[i].f, input: ops[i].input)
            infoPredecessor[i] = lastOfClass[c] ?? -1
            lastOfClass[c] = Int32(i)
        }
        let searcher = WGLSearch(
            model: model, calls: calls, invokeTimes: ops.map(\.invokeTime),
            returnTimes: ops.map { $0.status == .ok ? ($0.completeTime ?? .max) : .max }, infoPredecessor: infoPredecessor)
        var stats = SearchStats()
        let outcome = searcher.run(deadlineNs: deadlineNs, cancellation: cancellation, stats: &stats)
        var r = KeyLinearizability(
            key: key, model: kind, verdict: .valid, operations: ops.count, longestPrefix: [], prefixState: nil, blocked: [],
            reason: nil, steps: stats.steps, elapsedNs: 0)
        switch outcome {
        case .linearizable: break
        case .timedOut:
            r.verdict = .unknown
            r.reason = "time budget exhausted"
        case .cancelled:
            r.verdict = .unknown
            r.reason = Self.cancelledReason
        case .outOfMemory:
            r.verdict = .unknown
            r.reason = "search memory bound (\(WGLSearchLimits.memoryBytes >> 20) MiB) reached"
        case .notLinearizable(let prefix, let state, let blocked):
            r.verdict = .invalid
            r.longestPrefix = prefix.map { ops[$0].id }
            r.prefixState = state
            r.blocked = blocked.map { ops[$0].id }
        }
        return r
    }
}

/// Unknown-outcome operations with the same function and input are interchangeable.
struct InfoClass: Hashable {
    var f: OpFunction
    var input: HistoryValue
}

extension LinearizabilityChecker {
    static let cancelledReason = "not searched to the end: another key is not linearizable"
}

/// Per-index result slots written by parallel workers (each index by exactly one worker).
final class ResultSlots: Sendable {
    private let slots: Mutex<[KeyLinearizability?]>
    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
    var values: [KeyLinearizability?] { slots.withLock { $0 } }
    func set(_ i: Int, _ v: KeyLinearizability) { slots.withLock { $0[i] = v } }
}

/// Hands out partition indices to the workers, each index once, in order.
final class WorkCounter: Sendable {
    private let n = Atomic<Int>(0)
    func take() -> Int { n.wrappingAdd(1, ordering: .relaxed).oldValue }
}

extension CheckKind {
    public static let linearizability = CheckKind(rawValue: "linearizability")
}

/// `linearizability`: per key, some order of the operations agrees with their real-time order
/// and the key's model (register or string key-value). Over the whole history (no window).
public struct LinearizabilityCheck: Check {
    public static let kind = CheckKind.linearizability
    /// Budget for the search; keys not done in time are `unknown`.
    public var timeoutNs: Int64?
    /// Stop searching other keys once one key is not linearizable (they are reported unknown).
    public var stopAtFirstInvalid = true
    /// The value every register holds before the history; nil: absent. Knossos checks its
    /// cas-register and multi-register histories from 0.
    public var initialValue: HistoryValue?

    public init() {}
    public init(timeoutNs: Int64?, stopAtFirstInvalid: Bool = true, initialValue: HistoryValue? = nil) {
        self.timeoutNs = timeoutNs
        self.stopAtFirstInvalid = stopAtFirstInvalid
        self.initialValue = initialValue
    }

    public static var fields: [CheckField<Self>] {
        [.init("timeout", .duration(\.timeoutNs, scales: false)), .init("initial_value", .value(\.initialValue))]
    }

    public func run(_ context: CheckContext, window: TimeWindow) -> CheckResult? {
        // A history of sets only is `lost_writes`'s by default; linearizability judges the sets
        // (SetModel) when named.
        if !context.named, context.operations.contains(where: { $0.f == .add }),
           context.operations.allSatisfy({ $0.f == .add || $0.f == .read }) {
            return nil
        }
        return Checker.linearizability(
            context.operations, self, maxAnomalies: context.maxAnomalies, parallelism: context.parallelism,
            nullReads: context.history.nullReads)
    }
}
