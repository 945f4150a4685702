import RiftHistory

/// A sequential specification: a value type with a pure step function, so more models slot in
/// without touching the search.
///
/// `step` returns the state after applying `input` with observed `output`, or nil when the model
/// cannot produce that output from `state`. `compile` turns one partition's operations (one key)
/// into the model and its calls; it sees only operations that may have taken effect.
public protocol Model: Sendable {
    associatedtype State: Hashable & Sendable
    associatedtype Input: Sendable
    associatedtype Output: Sendable

    var initialState: State { get }
    func step(_ state: State, _ input: Input, _ output: Output) -> State?
    func describe(state: State) -> String
    /// A well-mixed 64-bit hash of a state, combined with the linearized set's hash in the
    /// search's cache. The default uses `hashValue`; models with word-sized states do better.
    func hash(state: State) -> UInt64
    /// True when the call leaves every state it is legal in unchanged (a read with a known
    /// result, a cas that compared false). The search linearizes such a call as soon as it is
    /// legal and never tries it elsewhere: any linearization can move it to that point.
    func isReadOnly(_ input: Input, _ output: Output) -> Bool

    static func compile(_ operations: [HistoryOperation]) throws(ModelError) -> (model: Self, calls: [(input: Input, output: Output)])
}

extension Model {
    @inline(__always)
    public func hash(state: State) -> UInt64 { UInt64(bitPattern: Int64(state.hashValue)) }

    @inline(__always)
    public func isReadOnly(_ input: Input, _ output: Output) -> Bool { false }
}

/// An operation the model cannot express (a cas without `[expected, new]`, a get on a register).
public struct ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: Int
    public var reason: String
    public init(operation: Int, reason: String) {
        self.operation = operation
        self.reason = reason
    }
    public var description: String { "operation \(operation): \(reason)" }
}

/// Which model a partition is checked against: the multi-register when it holds a `txn`, the
/// grow-only set when it holds an `add`, the string key-value model when it sees
/// get/put/append, the register otherwise.
public enum ModelKind: String, Sendable {
    case register
    case kv
    /// Knossos' multi-register: registers read and written together by `txn` operations.
    case multiRegister = "multi-register"
    /// Jepsen's set: `add` and reads of the whole set (the `set` workload).
    case set
    /// A model passed to `LinearizabilityChecker.check(_:model:)`.
    case custom

    static func choose(for operations: [HistoryOperation]) -> ModelKind {
        if operations.contains(where: { $0.f == .txn }) { return .multiRegister }
        if operations.contains(where: { $0.f == .add }) { return .set }
        return operations.contains(where: { $0.f == .get || $0.f == .put || $0.f == .append }) ? .kv : .register
    }
}

/// What the built-in models assume beyond the operations: the value every register holds
/// before the history starts, and what a read of `null` says.
public struct ModelSettings: Sendable, Equatable {
    /// `null`: absent (Rift's default, Porcupine's etcd model). Knossos checks its cas-register
    /// and multi-register histories from 0.
    public var initialValue: HistoryValue
    public var nullReads: NullReadMeaning

    public init(initialValue: HistoryValue = .null, nullReads: NullReadMeaning = .absent) {
        self.initialValue = initialValue
        self.nullReads = nullReads
    }
}
