import RiftCore
import RiftHistory

/// Porcupine's string key-value model for one key: initially `""` (or the text of
/// `ModelSettings.initialValue`); put sets, append
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
    public let initialState: Int32

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
        try compile(operations, ModelSettings())
    }

    /// Compiles with the key starting at the text of `settings.initialValue` (`""` for null).
    public static func compile(_ operations: [HistoryOperation], _ settings: ModelSettings) throws(ModelError)
        -> (model: KVModel, calls: [(input: Input, output: Output)]) {
        let strings = KVInterner()
        let initial = strings.intern(text(settings.initialValue))
        var calls: [(input: Input, output: Output)] = []
        calls.reserveCapacity(operations.count)
        for op in operations {
            let known = op.status == .ok
            switch op.f {
            case .get, .read: calls.append((.get, known ? .value(strings.intern(text(op.output))) : .unknown))
            case .put, .write: calls.append((.put(strings.intern(text(op.input))), known ? .ok : .unknown))
            case .append: calls.append((.append(strings.argument(text(op.input))), known ? .ok : .unknown))
            case .cas, .delete, .txn, .add:
                throw ModelError(operation: op.id, reason: "\(op.f.rawValue) is not a key-value operation (get, put, append)")
            }
        }
        return (KVModel(strings: strings, initialState: initial), calls)
    }
}

/// Hash-consed strings and memoised appends for one key's search.
///
/// A string state is a node: a leaf holding text (the initial "", put values, get results) or
/// a parent node plus an appended argument. Nodes are identified by a polynomial hash modulo
/// 2^61-1 and the length, which an append extends in O(1) without building the string; equal
/// hash and length are confirmed by comparing the texts, so equality stays exact.
// @unchecked: one thread only: each key's model has its own interner, compiled and searched by one worker.
final class KVInterner: @unchecked Sendable {
    private struct Node {
        var hash: UInt64
        var length: Int
        var parent: Int32
        /// Appended argument, or -1 for a leaf.
        var argument: Int32
    }

    private struct Argument {
        var text: String
        var hash: UInt64
        var power: UInt64
        var length: Int
    }

    private static let prime: UInt64 = (1 << 61) - 1
    private static let base: UInt64 = 1_000_003

    private var nodes: [Node] = [Node(hash: 0, length: 0, parent: -1, argument: -1)]
    private var leafTexts: [Int32: String] = [0: ""]
    private var arguments: [Argument] = []
    private var table = [Int32](repeating: -1, count: 1024)
    private var tableCount = 0
    // Open addressing: (state, argument + 1) packed in a word -> resulting state. Raw memory:
    // this is the hot path of every append step, and class-held arrays would pay dynamic
    // exclusivity checks on each access.
    private var memoKeys: UnsafeMutablePointer<UInt64>
    private var memoValues: UnsafeMutablePointer<Int32>
    private var memoCapacity = 1024
    private var memoCount = 0

    init() {
        memoKeys = .allocate(capacity: 1024)
        memoKeys.initialize(repeating: 0, count: 1024)
        memoValues = .allocate(capacity: 1024)
        memoValues.initialize(repeating: 0, count: 1024)
        insertInTable(0)
    }

    deinit {
        memoKeys.deallocate()
        memoValues.deallocate()
    }

    @inline(__always)
    private static func mulmod(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (high, low) = a.multipliedFullWidth(by: b)
        // (high * 2^64 + low) mod (2^61 - 1), using 2^61 ≡ 1.
        let lo61 = low & prime
        let rest = (low >> 61) | (high << 3)
        var r = lo61 &+ rest
        while r >= prime { r -= prime }
        return r
    }

    private static func hashOf(_ s: String) -> (hash: UInt64, power: UInt64, length: Int) {
        var h: UInt64 = 0
        var p: UInt64 = 1
        var n = 0
        for byte in s.utf8 {
            h = mulmod(h, base) &+ UInt64(byte) &+ 1
            if h >= prime { h -= prime }
            p = mulmod(p, base)
            n += 1
        }
        return (h, p, n)
    }

    private func slot(_ hash: UInt64, _ length: Int) -> Int {
        Int(truncatingIfNeeded: SplitMix64.mix(hash ^ UInt64(length) &* 0x9E37_79B9_7F4A_7C15)) & (table.count - 1)
    }

    private func insertInTable(_ id: Int32) {
        var i = slot(nodes[Int(id)].hash, nodes[Int(id)].length)
        while table[i] >= 0 { i = (i + 1) & (table.count - 1) }
        table[i] = id
        tableCount += 1
        if tableCount * 2 > table.count {
            table = [Int32](repeating: -1, count: table.count * 2)
            tableCount = 0
            for n in 0..<nodes.count {
                var j = slot(nodes[n].hash, nodes[n].length)
                while table[j] >= 0 { j = (j + 1) & (table.count - 1) }
                table[j] = Int32(n)
                tableCount += 1
            }
        }
    }

    /// The node with this hash and length whose text is `text()`, if any.
    private func find(_ hash: UInt64, _ length: Int, _ text: () -> String) -> Int32? {
        var i = slot(hash, length)
        var wanted: String?
        while table[i] >= 0 {
            let id = table[i]
            let node = nodes[Int(id)]
            if node.hash == hash, node.length == length {
                if wanted == nil { wanted = text() }
                if self.text(id) == wanted! { return id }
            }
            i = (i + 1) & (table.count - 1)
        }
        return nil
    }

    func intern(_ s: String) -> Int32 {
        let (h, _, n) = Self.hashOf(s)
        if let id = find(h, n, { s }) { return id }
        let id = Int32(nodes.count)
        nodes.append(Node(hash: h, length: n, parent: -1, argument: -1))
        leafTexts[id] = s
        insertInTable(id)
        return id
    }

    func argument(_ s: String) -> Int32 {
        let (h, p, n) = Self.hashOf(s)
        arguments.append(Argument(text: s, hash: h, power: p, length: n))
        return Int32(arguments.count - 1)
    }

    func text(_ id: Int32) -> String {
        var parts: [String] = []
        var cur = id
        while nodes[Int(cur)].argument >= 0 {
            parts.append(arguments[Int(nodes[Int(cur)].argument)].text)
            cur = nodes[Int(cur)].parent
        }
        var out = leafTexts[cur] ?? ""
        for part in parts.reversed() { out += part }
        return out
    }

    @inline(__always)
    func append(_ state: Int32, _ arg: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: state)) << 32 | UInt64(UInt32(bitPattern: arg &+ 1))
        let keys = memoKeys
        let mask = memoCapacity - 1
        var i = Int(truncatingIfNeeded: SplitMix64.mix(key)) & mask
        while keys[i] != 0 {
            if keys[i] == key { return memoValues[i] }
            i = (i + 1) & mask
        }
        return appendMiss(state, arg, key, i)
    }

    private func appendMiss(_ state: Int32, _ arg: Int32, _ key: UInt64, _ i: Int) -> Int32 {
        let a = arguments[Int(arg)]
        let parent = nodes[Int(state)]
        var h = Self.mulmod(parent.hash, a.power) &+ a.hash
        if h >= Self.prime { h -= Self.prime }
        let length = parent.length + a.length
        let id: Int32
        if let existing = find(h, length, { self.text(state) + a.text }) {
            id = existing
        } else {
            id = Int32(nodes.count)
            nodes.append(Node(hash: h, length: length, parent: state, argument: arg))
            insertInTable(id)
        }
        memoKeys[i] = key
        memoValues[i] = id
        memoCount += 1
        if memoCount * 2 > memoCapacity {
            let oldKeys = memoKeys, oldValues = memoValues, oldCapacity = memoCapacity
            memoCapacity *= 2
            memoKeys = .allocate(capacity: memoCapacity)
            memoKeys.initialize(repeating: 0, count: memoCapacity)
            memoValues = .allocate(capacity: memoCapacity)
            memoValues.initialize(repeating: 0, count: memoCapacity)
            let mask = memoCapacity - 1
            for j in 0..<oldCapacity where oldKeys[j] != 0 {
                var p = Int(truncatingIfNeeded: SplitMix64.mix(oldKeys[j])) & mask
                while memoKeys[p] != 0 { p = (p + 1) & mask }
                memoKeys[p] = oldKeys[j]
                memoValues[p] = oldValues[j]
            }
            oldKeys.deallocate()
            oldValues.deallocate()
        }
        return id
    }
}
