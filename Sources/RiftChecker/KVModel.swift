import RiftCore
import RiftHistory

/// Porcupine's string key-value model for one key: initially `""`; put sets, append
/// concatenates, get returns the current string (`null` reads as `""`).
///
/// States are hash-consed strings: equal strings get one id, so the search hashes and compares
/// a word instead of an ever-growing string; `append` memoises (state, argument) → state. The
/// interner is per key and used by one search at a time, so `step` stays a pure function of its
/// arguments as far as the search can tell.
public struct KVModel: Model {
    public typealias State = Int32

    public enum Input: Sendable {
        case get
        case put(Int32)
        case append(Int32)
    }

    public enum Output: Sendable {
        case value(Int32)
        case ok
        case unknown
    }

    let strings: KVInterner

    public var initialState: Int32 { 0 }

    @inline(__always)
    public func step(_ state: Int32, _ input: Input, _ output: Output) -> Int32? {
        switch input {
        case .get:
            switch output {
            case .value(let v): return v == state ? state : nil
            case .ok, .unknown: return state
            }
        case .put(let v): return v
        case .append(let arg): return strings.append(state, arg)
        }
    }

    @inline(__always)
    public func hash(state: Int32) -> UInt64 { SplitMix64.mix(UInt64(UInt32(bitPattern: state)) &+ 0x9E37_79B9) }

    @inline(__always)
    public func isReadOnly(_ input: Input, _ output: Output) -> Bool {
        switch (input, output) {
        case (.get, .value): true
        default: false
        }
    }

    public func describe(state: Int32) -> String { JSONText.quoted(strings.text(state)) }

    static func text(_ v: HistoryValue) -> String {
        switch v {
        case .null: ""
        case .string(let s): s
        default: v.description
        }
    }

    public static func compile(_ operations: [HistoryOperation]) throws(ModelError) -> (model: KVModel, calls: [(input: Input, output: Output)]) {
        let strings = KVInterner()
        var calls: [(input: Input, output: Output)] = []
        calls.reserveCapacity(operations.count)
        for op in operations {
            let known = op.status == .ok
            switch op.f {
            case .get, .read: calls.append((.get, known ? .value(strings.intern(text(op.output))) : .unknown))
            case .put, .write: calls.append((.put(strings.intern(text(op.input))), known ? .ok : .unknown))
            case .append: calls.append((.append(strings.argument(text(op.input))), known ? .ok : .unknown))
            case .cas, .delete:
                throw ModelError(operation: op.id, reason: "\(op.f.rawValue) is not a key-value operation (get, put, append)")
            }
        }
        return (KVModel(strings: strings), calls)
    }
}

/// Hash-consed strings and memoised appends for one key's search.
final class KVInterner: @unchecked Sendable {
    private var texts: [String] = [""]
    private var ids: [String: Int32] = ["": 0]
    private var arguments: [String] = []
    // Open addressing: (state, argument) packed in a word -> resulting state; key 0 unused
    // because argument ids start at 1 in the packing.
    private var memoKeys = [UInt64](repeating: 0, count: 1024)
    private var memoValues = [Int32](repeating: 0, count: 1024)
    private var memoCount = 0

    func intern(_ s: String) -> Int32 {
        if let id = ids[s] { return id }
        let id = Int32(texts.count)
        texts.append(s)
        ids[s] = id
        return id
    }

    func argument(_ s: String) -> Int32 {
        arguments.append(s)
        return Int32(arguments.count - 1)
    }

    func text(_ id: Int32) -> String { texts[Int(id)] }

    @inline(__always)
    func append(_ state: Int32, _ arg: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: state)) << 32 | UInt64(UInt32(bitPattern: arg &+ 1))
        var mask = memoKeys.count - 1
        var i = Int(truncatingIfNeeded: SplitMix64.mix(key)) & mask
        while memoKeys[i] != 0 {
            if memoKeys[i] == key { return memoValues[i] }
            i = (i + 1) & mask
        }
        let id = intern(texts[Int(state)] + arguments[Int(arg)])
        memoKeys[i] = key
        memoValues[i] = id
        memoCount += 1
        if memoCount * 2 > memoKeys.count {
            let oldKeys = memoKeys, oldValues = memoValues
            memoKeys = [UInt64](repeating: 0, count: oldKeys.count * 2)
            memoValues = [Int32](repeating: 0, count: oldKeys.count * 2)
            mask = memoKeys.count - 1
            for (j, k) in oldKeys.enumerated() where k != 0 {
                var p = Int(truncatingIfNeeded: SplitMix64.mix(k)) & mask
                while memoKeys[p] != 0 { p = (p + 1) & mask }
                memoKeys[p] = k
                memoValues[p] = oldValues[j]
            }
        }
        return id
    }
}
