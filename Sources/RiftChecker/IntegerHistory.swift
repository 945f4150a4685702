import RiftHistory

/// The integer view the staleness and session checks need: values that grow per key in write
/// order, absent read as 0.
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

    init(_ ops: [HistoryOperation]) {
        var bad = Set<String>()
        for op in ops where op.status == .ok {
            switch op.f {
            case .read, .get:
                switch op.output {
                case .int(let v): reads[op.key, default: []].append(Read(op: op.id, value: v))
                case .null: reads[op.key, default: []].append(Read(op: op.id, value: 0))
                default: bad.insert(op.key)
                }
            case .write, .put:
                if case .int(let v) = op.input { writes[op.key, default: []].append(Write(op: op.id, value: v)) } else { bad.insert(op.key) }
            case .cas:
                if op.isFailedCompare { continue }
                if case .list(let pair) = op.input, pair.count == 2, case .int(let v) = pair[1] {
                    writes[op.key, default: []].append(Write(op: op.id, value: v))
                } else {
                    bad.insert(op.key)
                }
            case .append:
                bad.insert(op.key)
            case .delete:
                continue
            }
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

/// `[from, until]` on read invocation times.
public struct TimeWindow: Sendable, Equatable {
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
