import Foundation
import RiftCore
import Synchronization

/// The outcome of searching one partition.
enum SearchOutcome: Sendable {
    case linearizable
    /// `prefix` is the longest linearizable prefix found (indices into the partition's calls) and
    /// `prefixState` the model state after it; `blocked` are the operations that could not be
    /// linearized next: the one whose return the search could not get past, then the pending calls.
    case notLinearizable(prefix: [Int], prefixState: String, blocked: [Int])
    case timedOut
    case cancelled
    /// The cache outgrew its memory bound.
    case outOfMemory
}

/// Bounds on one key's search.
enum WGLSearchLimits {
    /// The cache of explored configurations may hold this much per key being searched; past it
    /// the key is unknown rather than the process killed.
    static let memoryBytes = 768 << 20
}

/// Set once by any worker; searches poll it with their deadline.
final class SearchCancellation: Sendable {
    private let flag = Atomic<Bool>(false)
    var isCancelled: Bool { flag.load(ordering: .relaxed) }
    func cancel() { flag.store(true, ordering: .relaxed) }
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
    /// For an operation whose outcome is unknown: the previous unknown-outcome operation with
    /// the same function and input (interchangeable with it), else -1.
    let infoPredecessor: [Int32]

    func run(deadlineNs: Int64?, cancellation: SearchCancellation? = nil, memoryLimitBytes: Int = WGLSearchLimits.memoryBytes, stats: inout SearchStats) -> SearchOutcome {
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
        // Raw buffers: the loop below is the checker's hot path; arrays would add bounds,
        // uniqueness and exclusivity checks to every link update.
        let next = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * n + 1)
        let prev = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * n + 1)
        let entryOp = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * n)
        let match = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * n)  // call -> its return; -1 for a return
        let callEntry = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        let words = (n + 63) / 64
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        let zobrist = UnsafeMutablePointer<UInt64>.allocate(capacity: n)
        defer {
            next.deallocate(); prev.deallocate(); entryOp.deallocate(); match.deallocate()
            callEntry.deallocate(); bits.deallocate(); zobrist.deallocate()
        }
        next.initialize(repeating: -1, count: 2 * n + 1)
        prev.initialize(repeating: -1, count: 2 * n + 1)
        bits.initialize(repeating: 0, count: words)
        var last = head
        for (e, item) in order.enumerated() {
            let e32 = Int32(e)
            entryOp[e] = item.op
            match[e] = -1
            if item.kind == 0 { callEntry[Int(item.op)] = e32 } else { match[Int(callEntry[Int(item.op)])] = e32 }
            next[Int(last)] = e32
            prev[e] = last
            last = e32
        }
        var sm = SplitMix64(state: 0x5EED_0F_1A_2B3C)
        for i in 0..<n { zobrist[i] = sm.next() }
        var bitsHash: UInt64 = 0

        var cache = SearchCache<M.State>(words: words)
        var stack: [(entry: Int32, state: M.State, forced: Bool)] = []
        stack.reserveCapacity(n)
        var state = model.initialState
        var entry = next[Int(head)]
        var best: (prefix: [Int], state: String, blocked: [Int])?
        var iterations = 0

        while next[Int(head)] >= 0 {
            iterations &+= 1
            if iterations & 1023 == 0 {
                if let deadlineNs, RiftClock.monotonicNanoseconds() > deadlineNs {
                    stats.steps += iterations
                    stats.cacheEntries += cache.count
                    return .timedOut
                }
                if let cancellation, cancellation.isCancelled {
                    stats.steps += iterations
                    stats.cacheEntries += cache.count
                    return .cancelled
                }
                if cache.approximateBytes > memoryLimitBytes {
                    stats.steps += iterations
                    stats.cacheEntries += cache.count
                    return .outOfMemory
                }
            }
            let e = Int(entry)
            let r = Int(match[e])
            if r >= 0 {
                let op = Int(entryOp[e])
                // Unknown-outcome operations are optional (they may never take effect). Of
                // interchangeable ones, use them in invocation order: any linearization can be
                // rewritten so (the earlier one was invoked first and has no deadline).
                let pred = Int(infoPredecessor[op])
                if pred >= 0, bits[pred >> 6] & (UInt64(1) << UInt64(pred & 63)) == 0 {
                    entry = next[e]
                    continue
                }
                guard let newState = model.step(state, calls[op].input, calls[op].output) else {
                    entry = next[e]
                    continue
                }
                // An optional operation that changes nothing here is never worth linearizing here.
                if returnTimes[op] == .max, newState == state {
                    entry = next[e]
                    continue
                }
                let forced = model.isReadOnly(calls[op].input, calls[op].output)
                let w = op >> 6, mask = UInt64(1) << UInt64(op & 63)
                bits[w] |= mask
                let h = bitsHash ^ zobrist[op]
                if cache.insert(hash: SplitMix64.mix(h ^ model.hash(state: newState)), bits: bits, state: newState) {
                    stack.append((entry, state, forced))
                    state = newState
                    bitsHash = h
                    // Lift the call and its return out of the list.
                    next[Int(prev[e])] = next[e]
                    if next[e] >= 0 { prev[Int(next[e])] = prev[e] }
                    next[Int(prev[r])] = next[r]
                    if next[r] >= 0 { prev[Int(next[r])] = prev[r] }
                    entry = next[Int(head)]
                    continue
                }
                bits[w] &= ~mask
                if !forced {
                    entry = next[e]
                    continue
                }
                // A read-only call legal here leads to an explored, failed configuration, so
                // this configuration fails too: backtrack.
            } else {
                // Returns of unknown-outcome operations sort last: reaching one means every
                // operation with a deadline is linearized; the optional rest may never happen.
                if returnTimes[Int(entryOp[e])] == .max {
                    stats.steps += iterations
                    stats.cacheEntries += cache.count
                    return .linearizable
                }
                // A return: its operation had to be linearized by now and was not.
                if best == nil || stack.count > best!.prefix.count {
                    var blocked = [Int(entryOp[e])]
                    var c = next[Int(head)]
                    while c >= 0, c != entry {
                        if match[Int(c)] >= 0, entryOp[Int(c)] != entryOp[e] { blocked.append(Int(entryOp[Int(c)])) }
                        c = next[Int(c)]
                    }
                    best = (stack.map { Int(entryOp[Int($0.entry)]) }, model.describe(state: state), blocked)
                }
            }
            // Backtrack past forced (read-only) linearizations: they have no alternative.
            var te = 0
            while true {
                guard let top = stack.popLast() else {
                    stats.steps += iterations
                    stats.cacheEntries += cache.count
                    return .notLinearizable(prefix: best?.prefix ?? [], prefixState: best?.state ?? model.describe(state: state), blocked: best?.blocked ?? [])
                }
                te = Int(top.entry)
                let op = Int(entryOp[te])
                bits[op >> 6] &= ~(UInt64(1) << UInt64(op & 63))
                bitsHash ^= zobrist[op]
                state = top.state
                // Unlift: put the return back, then the call.
                let tr = Int(match[te])
                next[Int(prev[tr])] = Int32(tr)
                if next[tr] >= 0 { prev[Int(next[tr])] = Int32(tr) }
                next[Int(prev[te])] = Int32(te)
                if next[te] >= 0 { prev[Int(next[te])] = Int32(te) }
                if !top.forced { break }
            }
            entry = next[te]
        }
        stats.steps += iterations
        stats.cacheEntries += cache.count
        return .linearizable
    }
}

/// Open-addressing set of (bitset, state) configurations keyed by a precomputed 64-bit hash.
/// A slot holds the hash beside the entry index so that most probes touch one cache line.
struct SearchCache<State: Hashable> {
    let words: Int
    private var slotHash: [UInt64]
    private var slotIndex: [Int32]
    private var states: [State] = []
    private var arena: [UInt64] = []
    private(set) var count = 0

    init(words: Int) {
        self.words = words
        slotHash = [UInt64](repeating: 0, count: 1024)
        slotIndex = [Int32](repeating: -1, count: 1024)
    }

    /// Slots, states and bitsets held, roughly.
    var approximateBytes: Int { slotIndex.count * 12 + count * (words * 8 + MemoryLayout<State>.stride) }

    /// Inserts the configuration; false when it was already present.
    mutating func insert(hash: UInt64, bits: UnsafeMutablePointer<UInt64>, state: State) -> Bool {
        let mask = slotIndex.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        let found: Bool = slotIndex.withUnsafeBufferPointer { idx in
            slotHash.withUnsafeBufferPointer { hs in
                arena.withUnsafeBufferPointer { ar in
                    while true {
                        let s = idx[i]
                        if s < 0 { return false }
                        if hs[i] == hash, states[Int(s)] == state {
                            let base = Int(s) * words
                            var same = true
                            for w in 0..<words where ar[base + w] != bits[w] {
                                same = false
                                break
                            }
                            if same { return true }
                        }
                        i = (i + 1) & mask
                    }
                }
            }
        }
        if found { return false }
        slotHash[i] = hash
        slotIndex[i] = Int32(count)
        states.append(state)
        arena.append(contentsOf: UnsafeBufferPointer(start: bits, count: words))
        count += 1
        if count * 2 > slotIndex.count { grow() }
        return true
    }

    private mutating func grow() {
        let oldHash = slotHash, oldIndex = slotIndex
        slotHash = [UInt64](repeating: 0, count: oldIndex.count * 2)
        slotIndex = [Int32](repeating: -1, count: oldIndex.count * 2)
        let mask = slotIndex.count - 1
        for j in 0..<oldIndex.count where oldIndex[j] >= 0 {
            var k = Int(truncatingIfNeeded: oldHash[j]) & mask
            while slotIndex[k] >= 0 { k = (k + 1) & mask }
            slotHash[k] = oldHash[j]
            slotIndex[k] = oldIndex[j]
        }
    }
}
