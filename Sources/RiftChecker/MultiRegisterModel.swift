import RiftCore
import RiftHistory

/// Knossos' multi-register: registers named by keys, read and written together by `txn`
/// operations (`[[:read :x 0] [:write :y 2]]`) whose steps apply atomically and in order.
///
/// One model instance covers one partition: the keys that operations touch together (see
/// `KeyComponents`), since a txn over several keys cannot be checked key by key. A state holds one
/// interned value per key (`RegisterModel.absent` when absent). A txn completed `ok` is checked
/// with the values it read; one whose outcome is unknown applies its writes and constrains
/// nothing (its reads were never seen), as Knossos reads the invocation of a crashed op. A read
/// of `null` is absent, or unconstrained when `ModelSettings.nullReads` is `.unknown` (Knossos:
/// "nil reads are always legal"). Plain read, write, cas and delete on a key of the partition
/// are one-step transactions.
public struct MultiRegisterModel: Model {
    public typealias State = [Int32]

    public enum Step: Sendable {
        /// Reads register `key`; `expected` is nil when the value read is not known.
        case read(key: Int32, expected: Int32?)
        case write(key: Int32, value: Int32)
        /// A plain cas on a key that txns also touch.
        case cas(key: Int32, expected: Int32, new: Int32)
    }

    public typealias Input = [Step]

    public enum Output: Sendable, Equatable {
        case ok
        /// A cas that ran and compared false.
        case compareFailed
        case unknown
    }

    /// The partition's keys, sorted; a step's `key` indexes them.
    public var keys: [String]
    /// Interned values, index = id.
    public var values: [HistoryValue]
    public var initialState: [Int32]

    public func step(_ state: [Int32], _ input: [Step], _ output: Output) -> [Int32]? {
        var s = state
        for step in input {
            switch step {
            case .read(let k, let expected):
                if let expected, s[Int(k)] != expected { return nil }
            case .write(let k, let v):
                s[Int(k)] = v
            case .cas(let k, let expected, let new):
                let holds = s[Int(k)] == expected
                switch output {
                case .ok: if holds { s[Int(k)] = new } else { return nil }
                case .compareFailed: if holds { return nil }
                case .unknown: if holds { s[Int(k)] = new }
                }
            }
        }
        return s
    }

    public func hash(state: [Int32]) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for v in state { h = SplitMix64.mix(h ^ UInt64(UInt32(bitPattern: v))) }
        return h
    }

    public func isReadOnly(_ input: [Step], _ output: Output) -> Bool {
        if case .compareFailed = output { return true }
        return input.allSatisfy { if case .read = $0 { true } else { false } }
    }

    public func describe(state: [Int32]) -> String {
        zip(keys, state).map { key, v in "\(key)=\(v == RegisterModel.absent ? "absent" : values[Int(v)].description)" }.joined(separator: ", ")
    }

    public static func compile(_ operations: [HistoryOperation]) throws(ModelError) -> (model: MultiRegisterModel, calls: [(input: [Step], output: Output)]) {
        try compile(operations, ModelSettings())
    }

    /// Compiles one partition: every register starts at `settings.initialValue`.
    public static func compile(_ operations: [HistoryOperation], _ settings: ModelSettings) throws(ModelError)
        -> (model: MultiRegisterModel, calls: [(input: [Step], output: Output)]) {
        var stepsOf: [[TxnStep]?] = []
        stepsOf.reserveCapacity(operations.count)
        var keySet = Set<String>()
        for op in operations {
            if op.f == .txn {
                guard let steps = op.txnSteps else {
                    throw ModelError(operation: op.id, reason: "txn value must be a list of [f key value] steps, got \(op.status == .ok ? op.output : op.input)")
                }
                keySet.formUnion(steps.map(\.key))
                stepsOf.append(steps)
            } else {
                keySet.insert(op.key)
                stepsOf.append(nil)
            }
        }
        let keys = keySet.sorted()
        var keyIndex: [String: Int32] = [:]
        for (i, k) in keys.enumerated() { keyIndex[k] = Int32(i) }
        var ids: [HistoryValue: Int32] = [:]
        var values: [HistoryValue] = []
        func intern(_ v: HistoryValue) -> Int32 {
            if v.isNull { return RegisterModel.absent }
            if let id = ids[v] { return id }
            let id = Int32(values.count)
            values.append(v)
            ids[v] = id
            return id
        }
        func seen(_ v: HistoryValue) -> Int32? { v.isNull && settings.nullReads == .unknown ? nil : intern(v) }
        let initial = intern(settings.initialValue)
        var calls: [(input: [Step], output: Output)] = []
        calls.reserveCapacity(operations.count)
        for (op, steps) in zip(operations, stepsOf) {
            let known = op.status == .ok
            let k = keyIndex[op.key] ?? 0
            switch op.f {
            case .txn:
                let input: [Step] = (steps ?? []).map { step in
                    switch step.f {
                    case .read: .read(key: keyIndex[step.key]!, expected: known ? seen(step.value) : nil)
                    case .write: .write(key: keyIndex[step.key]!, value: intern(step.value))
                    }
                }
                calls.append((input, known ? .ok : .unknown))
            case .read:
                calls.append(([.read(key: k, expected: known ? seen(op.output) : nil)], known ? .ok : .unknown))
            case .write:
                calls.append(([.write(key: k, value: intern(op.input))], known ? .ok : .unknown))
            case .delete:
                calls.append(([.write(key: k, value: RegisterModel.absent)], known ? .ok : .unknown))
            case .cas:
                guard case .list(let pair) = op.input, pair.count == 2 else {
                    throw ModelError(operation: op.id, reason: "cas value must be [expected, new], got \(op.input)")
                }
                let output: Output = !known ? .unknown : (op.isFailedCompare ? .compareFailed : .ok)
                calls.append(([.cas(key: k, expected: intern(pair[0]), new: intern(pair[1]))], output))
            case .get, .put, .append:
                throw ModelError(operation: op.id, reason: "\(op.f.rawValue) is a key-value operation; it cannot share keys with txns")
            case .add:
                throw ModelError(operation: op.id, reason: "add is a set operation; it cannot share keys with txns")
            }
        }
        let model = MultiRegisterModel(keys: keys, values: values, initialState: [Int32](repeating: initial, count: keys.count))
        return (model, calls)
    }
}
