/// One step of a transaction, as Knossos' multi-register writes it: `[f key value]`, e.g.
/// `[:read :x 0]` or `[:write :y 2]`.
///
/// A `txn` operation's value is a list of steps applied atomically, in order, across the
/// registers they name. On an invocation a read's value is `nil` (not known yet); on an `ok`
/// completion it is the value read.
public struct TxnStep: Hashable, Sendable {
    public enum Function: String, Sendable, Hashable {
        case read, write
    }

    public var f: Function
    public var key: String
    public var value: HistoryValue

    public init(f: Function, key: String, value: HistoryValue) {
        self.f = f
        self.key = key
        self.value = value
    }

    /// Why a value is not a list of steps, for `FILE:LINE: reason` messages.
    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Parses a txn value: a list of `[f key value]` with `f` read or write and a scalar key
    /// (a keyword, string or integer).
    public static func parse(_ value: HistoryValue) throws(Failure) -> [TxnStep] {
        guard case .list(let items) = value else {
            throw Failure(reason: "txn value must be a list of [f key value] steps, got \(value)")
        }
        var steps: [TxnStep] = []
        steps.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard case .list(let parts) = item, parts.count == 3 else {
                throw Failure(reason: "txn step \(i + 1) must be [f key value] (e.g. [:read :x 0]), got \(item)")
            }
            guard let name = parts[0].stringValue, let f = Function(rawValue: name) else {
                throw Failure(reason: "txn step \(i + 1): unknown function \(parts[0]) (expected read or write)")
            }
            let key: String
            switch parts[1] {
            case .string(let s): key = s
            case .int(let n): key = String(n)
            default: throw Failure(reason: "txn step \(i + 1): key must be a keyword, string or integer, got \(parts[1])")
            }
            steps.append(TxnStep(f: f, key: key, value: parts[2]))
        }
        return steps
    }
}

extension HistoryOperation {
    /// The steps a `txn` applies: the completion's (with the values read) when it completed
    /// `ok`, else the invocation's (writes known, reads not). Keys are qualified by the
    /// operation's own key when it has one (jepsen.independent: `3/x`). nil for other functions
    /// or a malformed value.
    public var txnSteps: [TxnStep]? {
        guard f == .txn else { return nil }
        guard var steps = try? TxnStep.parse(status == .ok ? output : input) else { return nil }
        if !key.isEmpty {
            for i in steps.indices { steps[i].key = key + "/" + steps[i].key }
        }
        return steps
    }
}
