import RiftHistory

/// Porcupine's string key-value model for one key: initially `""`; put sets, append
/// concatenates, get returns the current string (`null` reads as `""`).
public struct KVModel: Model {
    public typealias State = String

    public enum Input: Sendable {
        case get
        case put(String)
        case append(String)
    }

    public enum Output: Sendable {
        case value(String)
        case ok
        case unknown
    }

    public init() {}

    public var initialState: String { "" }

    @inline(__always)
    public func step(_ state: String, _ input: Input, _ output: Output) -> String? {
        switch input {
        case .get:
            switch output {
            case .value(let v): return v == state ? state : nil
            case .ok, .unknown: return state
            }
        case .put(let v): return v
        case .append(let v): return state + v
        }
    }

    public func describe(state: String) -> String { JSONTextQuote.quote(state) }

    static func text(_ v: HistoryValue) -> String {
        switch v {
        case .null: ""
        case .string(let s): s
        default: v.description
        }
    }

    public static func compile(_ operations: [HistoryOperation]) throws(ModelError) -> (model: KVModel, calls: [(input: Input, output: Output)]) {
        var calls: [(input: Input, output: Output)] = []
        calls.reserveCapacity(operations.count)
        for op in operations {
            let known = op.status == .ok
            switch op.f {
            case .get, .read: calls.append((.get, known ? .value(text(op.output)) : .unknown))
            case .put, .write: calls.append((.put(text(op.input)), known ? .ok : .unknown))
            case .append: calls.append((.append(text(op.input)), known ? .ok : .unknown))
            case .cas, .delete:
                throw ModelError(operation: op.id, reason: "\(op.f.rawValue) is not a key-value operation (get, put, append)")
            }
        }
        return (KVModel(), calls)
    }
}

enum JSONTextQuote {
    static func quote(_ s: String) -> String { JSONText.quoted(s) }
}
