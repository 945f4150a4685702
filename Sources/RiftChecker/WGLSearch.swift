import RiftCore

/// The outcome of searching one partition.
enum SearchOutcome: Sendable {
    case linearizable
    /// `prefix` is the longest linearizable prefix found (indices into the partition's calls) and
    /// `prefixState` the model state after it; `blocked` are the operations that could not be
    /// linearized next: the one whose return the search could not get past, then the pending calls.
    case notLinearizable(prefix: [Int], prefixState: String, blocked: [Int])
    case timedOut
}

struct SearchStats: Sendable {
    var steps = 0
    var cacheEntries = 0
}

/// Wing & Gong's search with Lowe's memoisation, as Porcupine implements it.
///
/// Calls and returns form a doubly linked list sorted by time (a call before a return at the same
/// time: they count as concurrent). The search walks the list; at a call it tries to linearize
/// the operation now (step the model, unlink the call and its return); at a return it is stuck
/// and backtracks. A cache of (linearized set, state) pairs prunes configurations already
/// explored. The set is a bitset; its hash is a Zobrist hash (one random word per operation,
/// xor-ed in and out), so it is well mixed and updated in O(1), then combined with the state's
/// hash through a 64-bit finalizer.
struct WGLSearch<M: Model> {
    let model: M
    let calls: [(input: M.Input, output: M.Output)]
    /// Invocation and completion time per call; `Int64.max` for an operation whose outcome is
    /// unknown (it may be linearized anywhere after its invocation).
    let invokeTimes: [Int64]
    let returnTimes: [Int64]

    func run(deadlineNs: Int64?, stats: inout SearchStats) -> SearchOutcome {
        let n = calls.count
        if n == 0 { return .linearizable }

        // Entries 0..<2n sorted by (time, call first); node 2n is the head sentinel.
        var order: [(time: Int64, kind: Int8, op: Int32)] = []
        order.reserveCapacity(2 * n)
        for i in 0..<n {
            order.append((invokeTimes[i], 0, Int32(i)))
            order.append((returnTimes[i], 1, Int32(i)))
        }
        order.sort { a, b in
            if a.time != b.time { return a.time < b.time }
            if a.kind != b.kind { return a.kind < b.kind }
            return a.op < b.op
        }
        let head = Int32(2 * n)
        var next = [Int32](repeating: -1, count: 2 * n + 1)
        var prev = [Int32](repeating: -1, count: 2 * n + 1)
        var entryOp = [Int32](repeating: 0, count: 2 * n)
        var isCall = [Bool](repeating: false, count: 2 * n)
        var match = [Int32](repeating: -1, count: 2 * n)
        var callEntry = [Int32](repeating: -1, count: n)
        var last = head
        for (e, item) in order.enumerated() {
            let e32 = Int32(e)
            entryOp[e] = item.op
            isCall[e] = item.kind == 0
            if item.kind == 0 { callEntry[Int(item.op)] = e32 } else { match[Int(callEntry[Int(item.op)])] = e32 }
            next[Int(last)] = e32
            prev[e] = last
            last = e32
        }

        let words = (n + 63) / 64
        var bits = [UInt64](repeating: 0, count: words)
        var zobrist = [UInt64](repeating: 0, count: n)
        var sm = SplitMix64(state: 0x5EED_0F_1A_2B3C)
        for i in 0..<n { zobrist[i] = sm.next() }
        var bitsHash: UInt64 = 0

        var cache = SearchCache<M.State>(words: words)
        var stack: [(entry: Int32, state: M.State)] = []
        stack.reserveCapacity(n)
        var state = model.initialState
        var entry = next[Int(head)]
        var best: (prefix: [Int], state: String, blocked: [Int])?
        var iterations = 0

        @inline(__always) func lift(_ e: Int32) {
            let r = match[Int(e)]
            next[Int(prev[Int(e)])] = next[Int(e)]
            if next[Int(e)] >= 0 { prev[Int(next[Int(e)])] = prev[Int(e)] }
            next[Int(prev[Int(r)])] = next[Int(r)]
            if next[Int(r)] >= 0 { prev[Int(next[Int(r)])] = prev[Int(r)] }
        }
        @inline(__always) func unlift(_ e: Int32) {
            let r = match[Int(e)]
            next[Int(prev[Int(r)])] = r
            if next[Int(r)] >= 0 { prev[Int(next[Int(r)])] = r }
            next[Int(prev[Int(e)])] = e
            if next[Int(e)] >= 0 { prev[Int(next[Int(e)])] = e }
        }

        while next[Int(head)] >= 0 {
            iterations &+= 1
            if iterations & 1023 == 0, let deadlineNs, RiftClock.monotonicNanoseconds() > deadlineNs {
                stats.steps += iterations
                stats.cacheEntries += cache.count
                return .timedOut
            }
            let e = Int(entry)
            if isCall[e] {
                let op = Int(entryOp[e])
                if let newState = model.step(state, calls[op].input, calls[op].output) {
                    let w = op >> 6, mask = UInt64(1) << UInt64(op & 63)
                    bits[w] |= mask
                    let h = bitsHash ^ zobrist[op]
                    if cache.insert(hash: SplitMix64.mix(h ^ SplitMix64.mix(UInt64(bitPattern: Int64(newState.hashValue)))), bits: bits, state: newState) {
                        stack.append((entry, state))
                        state = newState
                        bitsHash = h
                        lift(entry)
                        entry = next[Int(head)]
                        continue
                    }
                    bits[w] &= ~mask
                }
                entry = next[e]
            } else {
                // A return: its operation had to be linearized by now and was not.
                if best == nil || stack.count > best!.prefix.count {
                    var blocked = [Int(entryOp[e])]
                    var c = next[Int(head)]
                    while c >= 0, c != entry {
                        if isCall[Int(c)], entryOp[Int(c)] != entryOp[e] { blocked.append(Int(entryOp[Int(c)])) }
                        c = next[Int(c)]
                    }
                    best = (stack.map { Int(entryOp[Int($0.entry)]) }, model.describe(state: state), blocked)
                }
                guard let top = stack.popLast() else {
                    stats.steps += iterations
                    stats.cacheEntries += cache.count
                    return .notLinearizable(prefix: best!.prefix, prefixState: best!.state, blocked: best!.blocked)
                }
                let op = Int(entryOp[Int(top.entry)])
                bits[op >> 6] &= ~(UInt64(1) << UInt64(op & 63))
                bitsHash ^= zobrist[op]
                state = top.state
                unlift(top.entry)
                entry = next[Int(top.entry)]
            }
        }
        stats.steps += iterations
        stats.cacheEntries += cache.count
        return .linearizable
    }
}

/// Open-addressing set of (bitset, state) configurations keyed by a precomputed 64-bit hash.
struct SearchCache<State: Hashable> {
    let words: Int
    private var slots: [Int32]
    private var hashes: [UInt64] = []
    private var states: [State] = []
    private var arena: [UInt64] = []
    private(set) var count = 0

    init(words: Int) {
        self.words = words
        slots = [Int32](repeating: -1, count: 1024)
    }

    /// Inserts the configuration; false when it was already present.
    mutating func insert(hash: UInt64, bits: [UInt64], state: State) -> Bool {
        var mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let s = slots[i]
            if s < 0 { break }
            let idx = Int(s)
            if hashes[idx] == hash, states[idx] == state {
                var same = true
                let base = idx * words
                for w in 0..<words where arena[base + w] != bits[w] {
                    same = false
                    break
                }
                if same { return false }
            }
            i = (i + 1) & mask
        }
        let idx = count
        hashes.append(hash)
        states.append(state)
        arena.append(contentsOf: bits)
        count += 1
        slots[i] = Int32(idx)
        if count * 2 > slots.count {
            slots = [Int32](repeating: -1, count: slots.count * 2)
            mask = slots.count - 1
            for j in 0..<count {
                var k = Int(truncatingIfNeeded: hashes[j]) & mask
                while slots[k] >= 0 { k = (k + 1) & mask }
                slots[k] = Int32(j)
            }
        }
        return true
    }
}
