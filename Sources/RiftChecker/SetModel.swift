import RiftCore
import RiftHistory

/// A grow-only set, the object of Jepsen's set test (`type: set`): `add` puts an element in, and
/// a read returns every element added so far, no more and no fewer. An add whose outcome is
/// unknown (`info`) may have happened at any point or never; a read's list must equal the set at
/// its linearization point, so an acknowledged add missing from a later read (a lost write), or
/// an element nobody added, makes the key not linearizable.
///
/// Elements are interned per key to small integers and a state is a bitset over them, so a state
/// copies and compares in a few words even with thousands of elements. The search keeps a state
/// per configuration it has seen, so memory grows with the square of the elements: a set of more
/// than `maxElements` is left unknown (the `lost_writes` check judges it at any size).
public struct SetModel: Model {
    public struct State: Hashable, Sendable {
        var words: [UInt64]

        init(capacity: Int) { words = [UInt64](repeating: 0, count: (capacity + 63) / 64) }

        func contains(_ e: Int32) -> Bool { words[Int(e) >> 6] & (1 << UInt64(e & 63)) != 0 }

        mutating func insert(_ e: Int32) { words[Int(e) >> 6] |= 1 << UInt64(e & 63) }

        var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
    }

    public enum Input: Sendable {
        case add(Int32)
        case read
    }

    public enum Output: Sendable {
        case ok
        /// What a read returned, as a state.
        case value(State)
        case unknown
    }

    /// The most distinct elements one set may have: 10,000 makes states of 1.25 KB.
    public static let maxElements = 10_000

    /// Interned elements, index = id.
    public var elements: [HistoryValue]
    public var initialState: State

    @inline(__always)
    public func step(_ state: State, _ input: Input, _ output: Output) -> State? {
        switch input {
        case .add(let e):
            var next = state
            next.insert(e)
            return next
        case .read:
            switch output {
            case .value(let seen): return seen == state ? state : nil
            case .ok, .unknown: return state
            }
        }
    }

    public func hash(state: State) -> UInt64 {
        state.words.reduce(0x9E37_79B9_7F4A_7C15) { SplitMix64.mix($0 ^ $1) }
    }

    @inline(__always)
    public func isReadOnly(_ input: Input, _ output: Output) -> Bool {
        if case .read = input, case .value = output { return true }
        return false
    }

    /// The element count and the first few elements in id order (the order they were first seen).
    public func describe(state: State) -> String {
        let members = elements.indices.filter { state.contains(Int32($0)) }
        let shown = members.prefix(10).map { elements[$0].description }.joined(separator: ", ")
        return "\(members.count) elements {\(shown)\(members.count > 10 ? ", ..." : "")}"
    }

    /// `add` (the element is the input) and `read` (the output a list of the elements).
    public static func compile(_ operations: [HistoryOperation]) throws(ModelError) -> (model: SetModel, calls: [(input: Input, output: Output)]) {
        var ids: [HistoryValue: Int32] = [:]
        var elements: [HistoryValue] = []
        func intern(_ v: HistoryValue) -> Int32 {
            if let id = ids[v] { return id }
            let id = Int32(elements.count)
            elements.append(v)
            ids[v] = id
            return id
        }
        // Intern everything first: a state's size is the number of distinct elements.
        var reads: [Int: [Int32]] = [:]
        for (i, op) in operations.enumerated() {
            switch op.f {
            case .add: _ = intern(op.input)
            case .read:
                guard op.status == .ok else { continue }
                guard case .list(let members) = op.output else {
                    throw ModelError(operation: op.id, reason: "a set read returns a list of elements, got \(op.output)")
                }
                reads[i] = members.map(intern)
            case .get, .put, .append, .write, .cas, .delete, .txn:
                throw ModelError(operation: op.id, reason: "\(op.f.rawValue) is not a set operation (add, read)")
            }
        }
        if elements.count > maxElements {
            throw ModelError(operation: operations[0].id,
                             reason: "\(elements.count) elements, over the set model's \(maxElements); lost_writes judges sets of any size")
        }
        let empty = State(capacity: elements.count)
        let calls = operations.enumerated().map { (i, op) -> (input: Input, output: Output) in
            if op.f == .add { return (.add(ids[op.input]!), op.status == .ok ? .ok : .unknown) }
            guard let members = reads[i] else { return (.read, .unknown) }
            var seen = empty
            for m in members { seen.insert(m) }
            return (.read, .value(seen))
        }
        return (SetModel(elements: elements, initialState: empty), calls)
    }
}
