import Foundation
import RiftFaults

/// Any JSON value, as the API reads and writes it. Bodies are read into this first so that
/// keys can be matched case-insensitively and `null` can mean "absent", as Toxiproxy's Go
/// decoder does.
public enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    /// Written only: whole numbers beyond a double's 53 bits (nanosecond timestamps). Bodies
    /// are read as `number`.
    case integer(Int64)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d):
            // Whole numbers print without a fraction (`100`, not `100.0`), as Go does.
            if d.isFinite, d == d.rounded(), abs(d) < 9.0e15 { try c.encode(Int64(d)) } else { try c.encode(d) }
        case .integer(let i): try c.encode(i)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Parses a body; the error carries the parser's reason.
    public static func parse(_ bytes: [UInt8]) throws(APIError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw APIError(.badRequest, "bad request body: \(Self.reason(error))")
        }
    }

    private static func reason(_ error: Error) -> String {
        if let e = error as? DecodingError {
            switch e {
            case .dataCorrupted(let ctx):
                if let underlying = ctx.underlyingError { return "\(ctx.debugDescription) \(underlying)" }
                return ctx.debugDescription
            case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .keyNotFound(_, let ctx):
                return ctx.debugDescription
            @unknown default:
                return "\(e)"
            }
        }
        return "\(error)"
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data("null".utf8))
    }

    // MARK: - Reading fields

    /// The value of `key`, matched case-insensitively; `null` reads as absent.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let o) = self else { return nil }
        if let exact = o[key] { return exact == .null ? nil : exact }
        let lower = key.lowercased()
        for (k, v) in o where k.lowercased() == lower { return v == .null ? nil : v }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }
}

/// Typed reads of a request body's fields, with Toxiproxy's error words.
struct BodyReader {
    let body: JSONValue

    init(_ body: JSONValue) throws(APIError) {
        guard case .object = body else { throw APIError(.badRequest, "bad request body: expected a JSON object") }
        self.body = body
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard let v = body[key] else { return nil }
        guard case .string(let s) = v else { throw APIError(.badRequest, "bad request body: \(key) must be a string") }
        return s
    }

    func requiredString(_ key: String) throws(APIError) -> String {
        guard let s = try string(key), !s.isEmpty else { throw APIError(.badRequest, "missing required field: \(key)") }
        return s
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let v = body[key] else { return nil }
        guard case .bool(let b) = v else { throw APIError(.badRequest, "bad request body: \(key) must be true or false") }
        return b
    }

    func number(_ key: String) throws(APIError) -> Double? {
        guard let v = body[key] else { return nil }
        switch v {
        case .number(let d) where d.isFinite: return d
        case .integer(let i): return Double(i)
        default: throw APIError(.badRequest, "bad request body: \(key) must be a number")
        }
    }

    /// A non-negative whole number of milliseconds (`duration_ms`).
    func milliseconds(_ key: String) throws(APIError) -> Int64? {
        guard let d = try number(key) else { return nil }
        guard d >= 0, d == d.rounded(), d < 1e12 else {
            throw APIError(.badRequest, "bad request body: \(key) must be a whole number of milliseconds, 0 or more")
        }
        return Int64(d)
    }

    /// Fault attributes; unknown JSON shapes (arrays, objects) are rejected per key.
    func attributes(_ key: String) throws(APIError) -> FaultAttributes {
        guard let v = body[key] else { return [:] }
        guard case .object(let o) = v else { throw APIError(.badRequest, "bad request body: \(key) must be an object") }
        var out: FaultAttributes = [:]
        for (k, value) in o {
            switch value {
            case .null: continue
            case .bool(let b): out[k.lowercased()] = .bool(b)
            case .string(let s): out[k.lowercased()] = .string(s)
            case .integer(let i): out[k.lowercased()] = .int(i)
            case .number(let d):
                out[k.lowercased()] = (d.isFinite && d == d.rounded() && abs(d) < 9.0e18) ? .int(Int64(d)) : .double(d)
            case .array, .object:
                throw APIError(.badRequest, "bad request body: attribute \(k) must be a number, string or boolean")
            }
        }
        return out
    }
}

extension AttributeValue {
    var json: JSONValue {
        switch self {
        case .int(let v): return .number(Double(v))
        case .double(let v): return .number(v)
        case .string(let v): return .string(v)
        case .bool(let v): return .bool(v)
        }
    }
}
