/// A value as histories carry it: JSON's values, with integers kept exact.
///
/// EDN keywords and symbols read as strings (`:timed-out` is `"timed-out"`), vectors, lists and
/// sets read as lists, so one value type serves every supported format.
public enum HistoryValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case list([HistoryValue])
    case object([String: HistoryValue])

    public var intValue: Int64? {
        if case .int(let v) = self { return v }
        return nil
    }

    public var stringValue: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

extension HistoryValue: CustomStringConvertible {
    /// Compact JSON text; objects with sorted keys so output is deterministic.
    public var description: String {
        var out = ""
        appendJSON(to: &out)
        return out
    }

    public func appendJSON(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? "\(d)" : "null"
        case .string(let s): JSONText.appendQuoted(s, to: &out)
        case .list(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.appendJSON(to: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, key) in fields.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                JSONText.appendQuoted(key, to: &out)
                out += ":"
                fields[key]!.appendJSON(to: &out)
            }
            out += "}"
        }
    }
}

/// JSON string quoting shared by the writer and the checker's JSON report.
public enum JSONText {
    public static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    public static func quoted(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }
}

extension HistoryValue {
    /// A scalar as a user types it on a command line or in YAML, read the way histories read
    /// values: `0` and `-3` are integers, `nil`/`null` is null, `true`/`false` are booleans,
    /// `:x` is the string `x` (an EDN keyword) and `"0"` the string `0`; anything else is a string.
    public init(scalarText text: String) {
        if let n = Int64(text) {
            self = .int(n)
        } else if text == "nil" || text == "null" {
            self = .null
        } else if text == "true" || text == "false" {
            self = .bool(text == "true")
        } else if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
            self = .string(String(text.dropFirst().dropLast()))
        } else if text.hasPrefix(":"), text.count > 1 {
            self = .string(String(text.dropFirst()))
        } else if let d = Double(text), d.isFinite, text.first.map({ $0.isNumber || $0 == "-" || $0 == "+" }) == true {
            self = .double(d)
        } else {
            self = .string(text)
        }
    }

    /// How deep the readers let values nest: history values are a few levels deep, and a
    /// deeper (garbled or hostile) file must get an error, not overflow the reader's stack.
    static let maxNesting = 100
}
