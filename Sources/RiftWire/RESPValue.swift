/// One RESP2 or RESP3 reply, as the server sent it. Bulk payloads are raw bytes, so binary
/// values round-trip exactly; line types (simple strings, errors, big numbers) are text.
public indirect enum RESPValue: Equatable, Hashable, Sendable {
    /// `+OK`
    case simpleString(String)
    /// `-ERR ...` and RESP3 blob errors `!<n>`: the whole message, including its code.
    case error(String)
    /// `:<n>`
    case integer(Int64)
    /// `$<n>`; nil is the RESP2 null bulk `$-1`.
    case bulkString([UInt8]?)
    /// `*<n>`; nil is the RESP2 null array `*-1`.
    case array([RESPValue]?)
    /// RESP3 `_`.
    case null
    /// RESP3 `#t` / `#f`.
    case boolean(Bool)
    /// RESP3 `,<double>` (including `inf`, `-inf`; `nan` is never equal to itself).
    case double(Double)
    /// RESP3 `(<digits>`, kept as text: it may not fit any fixed-width integer.
    case bigNumber(String)
    /// RESP3 `=<n>\r\nfmt:<text>`, split into the three-letter format and the text.
    case verbatimString(format: String, text: [UInt8])
    /// RESP3 `%<n>`: pairs in wire order (keys may repeat or be aggregates).
    case map([RESPPair])
    /// RESP3 `~<n>`, in wire order.
    case set([RESPValue])
    /// RESP3 `><n>`: out-of-band data such as pub/sub messages or invalidations.
    case push([RESPValue])
    /// RESP3 `|<n>` attributes followed by the value they describe.
    case attributed(attributes: [RESPPair], value: RESPValue)
}

/// A key and value of a RESP3 map or attribute.
public struct RESPPair: Equatable, Hashable, Sendable {
    public var key: RESPValue
    public var value: RESPValue
    public init(_ key: RESPValue, _ value: RESPValue) {
        self.key = key
        self.value = value
    }
}

extension RESPValue {
    /// A bulk string from text, for building expected values in tests.
    public static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }

    /// The payload of a bulk, simple or verbatim string; nil for anything else.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .simpleString(let text): Array(text.utf8)
        case .verbatimString(_, let text): text
        case .error, .integer, .array, .null, .boolean, .double, .bigNumber, .map, .set, .push, .attributed: nil
        }
    }

    /// `bytes` decoded as UTF-8 (lossy), for asserting on textual replies such as INFO.
    public var string: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    public var isError: Bool {
        if case .error = self { return true }
        return false
    }
}

extension RESPValue {
    /// The value an attribute describes (attributes peeled off, at any depth of nesting in
    /// front of it): what a client that ignores RESP3 attributes acts on.
    public var withoutAttributes: RESPValue {
        var value = self
        while case .attributed(_, let described) = value { value = described }
        return value
    }
}
