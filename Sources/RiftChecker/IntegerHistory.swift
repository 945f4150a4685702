import RiftHistory

/// The integer view the staleness and session checks need: values that grow per key in write
/// order, absent read as 0 (a null read that tells nothing, Knossos' nil read, is skipped).
/// Keys that txns touch are left out: these checks judge one key's reads against its writes.
///
/// Concurrent writes to a key may land in either order: a writer that took value 5 can land
/// after one that took 6. So value order alone does not say which write is older. The checks
/// ask `definitelyBefore`: the write of x completed before the write of y was invoked, so every
/// linearization has x before y. Only then is reading x after seeing y an anomaly. Values with
/// no write in the history (the initial 0, or histories that record reads only) are ordered by
/// value, as versions.
struct IntegerView {
    struct Read {
        var op: Int
        var value: Int64
    }
    struct Write {
        var op: Int
        var value: Int64
    }

    /// Keys whose reads and writes all carry integers (or null) and whose written values grow in
    /// write order, in key order.
    var keys: [String] = []
    var reads: [String: [Read]] = [:]
    /// `ok` writes and successful cas (their new value).
    var writes: [String: [Write]] = [:]
    var unsupportedKeys: [String] = []
    /// Per key and value: the earliest invocation of a write of it (`ok` or `info`) and the
    /// earliest completion of an `ok` one (nil when every write of it is `info`).
    private var spans: [String: [Int64: (invoke: Int64, complete: Int64?)]] = [:]

    /// True when the history has a write (`ok` or `info`) of `value` to `key`.
    func isWritten(_ key: String, _ value: Int64) -> Bool { spans[key]?[value] != nil }

    /// When the write of `value` was invoked (`.min` for a value never written).
    func writeInvoked(_ key: String, _ value: Int64) -> Int64 { spans[key]?[value]?.invoke ?? .min }

    /// When the write of `value` surely took effect: its completion; `.max` when it never
    /// completed `ok` (an `info` write may land at any time); `.min` for a value never written.
    func writeCompleted(_ key: String, _ value: Int64) -> Int64 {
        guard let span = spans[key]?[value] else { return .min }
        return span.complete ?? .max
    }

    /// True when `older` surely came before `newer`: the write of `older` completed before the
    /// write of `newer` was invoked, or, when either has no write, `older < newer`.
    func definitelyBefore(_ key: String, _ older: Int64, _ newer: Int64) -> Bool {
        guard isWritten(key, older), isWritten(key, newer) else { return older < newer }
        return writeCompleted(key, older) < writeInvoked(key, newer)
    }

    private mutating func noteWrite(_ op: HistoryOperation, _ value: Int64) {
        var span = spans[op.key]?[value] ?? (invoke: op.invokeTime, complete: nil)
        span.invoke = min(span.invoke, op.invokeTime)
        if op.status == .ok, let c = op.completeTime { span.complete = min(span.complete ?? c, c) }
        spans[op.key, default: [:]][value] = span
    }

    init(_ ops: [HistoryOperation], nullReads: NullReadMeaning = .absent) {
        var bad = Set<String>()
        for op in ops where op.status == .info {
            switch op.f {
            case .write, .put:
                if case .int(let v) = op.input { noteWrite(op, v) }
            case .cas:
                if case .list(let pair) = op.input, pair.count == 2, case .int(let v) = pair[1] { noteWrite(op, v) }
            default: continue
            }
        }
        for op in ops where op.status == .ok {
            switch op.f {
            case .read, .get:
                switch op.output {
                case .int(let v): reads[op.key, default: []].append(Read(op: op.id, value: v))
                case .null: if nullReads == .absent { reads[op.key, default: []].append(Read(op: op.id, value: 0)) }
                default: bad.insert(op.key)
                }
            case .write, .put:
                if case .int(let v) = op.input {
                    writes[op.key, default: []].append(Write(op: op.id, value: v))
                    noteWrite(op, v)
                } else {
                    bad.insert(op.key)
                }
            case .cas:
                if op.isFailedCompare { continue }
                if case .list(let pair) = op.input, pair.count == 2, case .int(let v) = pair[1] {
                    writes[op.key, default: []].append(Write(op: op.id, value: v))
                    noteWrite(op, v)
                } else {
                    bad.insert(op.key)
                }
            case .append, .add:
                bad.insert(op.key)
            case .delete:
                continue
            case .txn:
                continue
            }
        }
        for op in ops where op.f == .txn {
            for key in KeyComponents.keys(of: op) ?? [op.key] { bad.insert(key) }
        }
        // Values must grow in write order: a write that started after another completed must not
        // carry a smaller value. Otherwise versions cannot be told from values.
        for (k, ws) in writes where !bad.contains(k) {
            let byInvoke = ws.sorted { ops[$0.op].invokeTime < ops[$1.op].invokeTime }
            let byComplete = ws.sorted { ops[$0.op].completeTime! < ops[$1.op].completeTime! }
            var c = 0
            var highest = Int64.min
            for w in byInvoke {
                while c < byComplete.count, ops[byComplete[c].op].completeTime! < ops[w.op].invokeTime {
                    highest = max(highest, byComplete[c].value)
                    c += 1
                }
                if w.value < highest {
                    bad.insert(k)
                    break
                }
            }
        }
        for k in bad {
            reads[k] = nil
            writes[k] = nil
        }
        unsupportedKeys = bad.sorted()
        keys = Set(reads.keys).union(writes.keys).sorted()
    }

    var isEmpty: Bool { keys.isEmpty }
}

/// The reads seen so far on one key, kept so that one question is cheap: is there a seen read
/// whose value surely came after a given value (`IntegerView.definitelyBefore`)?
struct NewestSeen {
    private var latestInvoked: (read: IntegerView.Read, invoked: Int64)?  // written values
    private var largestUnwritten: IntegerView.Read?
    private var largest: IntegerView.Read?

    mutating func note(_ r: IntegerView.Read, _ view: IntegerView, key: String) {
        if largest == nil || r.value > largest!.value { largest = r }
        if view.isWritten(key, r.value) {
            let invoked = view.writeInvoked(key, r.value)
            if latestInvoked == nil || invoked > latestInvoked!.invoked { latestInvoked = (r, invoked) }
        } else if largestUnwritten == nil || r.value > largestUnwritten!.value {
            largestUnwritten = r
        }
    }

    /// A seen read whose value surely came after `value`, if any.
    func newer(than value: Int64, _ view: IntegerView, key: String) -> IntegerView.Read? {
        guard view.isWritten(key, value) else {
            if let l = largest, value < l.value { return l }
            return nil
        }
        if let n = latestInvoked, view.writeCompleted(key, value) < n.invoked { return n.read }
        if let u = largestUnwritten, value < u.value { return u }
        return nil
    }
}

/// `[from, until]` on read invocation times.
public struct TimeWindow: Sendable, Hashable {
    public var from: Int64
    public var until: Int64
    public init(from: Int64 = .min, until: Int64 = .max) {
        self.from = from
        self.until = until
    }
    public func contains(_ t: Int64) -> Bool { t >= from && t <= until }
    public static let all = TimeWindow()
}

func percentile(_ sorted: [Int64], _ p: Double) -> Int64 {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}
