import RiftCore
import RiftHistory

/// A register with read, write, compare-and-set and delete; initially absent (`null`) unless
/// `ModelSettings.initialValue` says otherwise.
///
/// Values are interned per key to small integers so that states hash and compare in one word.
/// A read completing with `null` saw the register absent. A cas completed `ok` succeeded; one
/// completed `ok` with value `false` ran and compared false (Porcupine's etcd reading); one
/// whose outcome is unknown (`info`) sets the register if the comparison holds at the point where
/// it is linearized (linearizing it last is the same as it never happening).
public struct RegisterModel: Model {
    public typealias State = Int32
    public static let absent: Int32 = -1

    public enum Input: Sendable {
        case read
        case write(Int32)
        case cas(expected: Int32, new: Int32)
        case delete
    }

    public enum Output: Sendable {
        case value(Int32)
        case ok
        case compareFailed
        case unknown
    }

    /// Interned values, index = id.
    public var values: [HistoryValue]
    public var initialState: Int32

    public init(values: [HistoryValue], initialState: Int32 = Self.absent) {
        self.values = values
        self.initialState = initialState
    }

    @inline(__always)
    public func step(_ state: Int32, _ input: Input, _ output: Output) -> Int32? {
        switch input {
        case .read:
            switch output {
            case .value(let v): return v == state ? state : nil
            case .ok, .compareFailed, .unknown: return state
            }
        case .write(let v):
            return v
        case .cas(let expected, let new):
            switch output {
            case .ok, .value: return state == expected ? new : nil
            case .compareFailed: return state != expected ? state : nil
            case .unknown: return state == expected ? new : state
            }
        case .delete:
            return Self.absent
        }
    }

    @inline(__always)
    public func hash(state: Int32) -> UInt64 { SplitMix64.mix(UInt64(UInt32(bitPattern: state)) &+ 0x9E37_79B9) }

    @inline(__always)
    public func isReadOnly(_ input: Input, _ output: Output) -> Bool {
        switch (input, output) {
        case (.read, .value), (.cas, .compareFailed): true
        default: false
        }
    }

    public func describe(state: Int32) -> String {
        state == Self.absent ? "absent" : values[Int(state)].description
    }

    public static func compile(_ operations: [HistoryOperation]) throws(ModelError) -> (model: RegisterModel, calls: [(input: Input, output: Output)]) {
        try compile(operations, ModelSettings())
    }

    /// Compiles with the register starting at `settings.initialValue`.
    public static func compile(_ operations: [HistoryOperation], _ settings: ModelSettings) throws(ModelError)
        -> (model: RegisterModel, calls: [(input: Input, output: Output)]) {
        var ids: [HistoryValue: Int32] = [:]
        var values: [HistoryValue] = []
        func intern(_ v: HistoryValue) -> Int32 {
            if v.isNull { return absent }
            if let id = ids[v] { return id }
            let id = Int32(values.count)
            values.append(v)
            ids[v] = id
            return id
        }
        let initial = intern(settings.initialValue)
        var calls: [(input: Input, output: Output)] = []
        calls.reserveCapacity(operations.count)
        for op in operations {
            let known = op.status == .ok
            switch op.f {
            case .read:
                calls.append((.read, known ? .value(intern(op.output)) : .unknown))
            case .write:
                calls.append((.write(intern(op.input)), known ? .ok : .unknown))
            case .delete:
                calls.append((.delete, known ? .ok : .unknown))
            case .cas:
                guard case .list(let pair) = op.input, pair.count == 2 else {
                    throw ModelError(operation: op.id, reason: "cas value must be [expected, new], got \(op.input)")
                }
                let output: Output = !known ? .unknown : (op.isFailedCompare ? .compareFailed : .ok)
                calls.append((.cas(expected: intern(pair[0]), new: intern(pair[1])), output))
            case .get, .put, .append, .txn, .add:
                throw ModelError(operation: op.id, reason: "\(op.f.rawValue) is not a register operation")
            }
        }
        return (RegisterModel(values: values, initialState: initial), calls)
    }
}
