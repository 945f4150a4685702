@_exported import RiftCore
import NIOCore

/// Bounds every wire parser keeps, so that no byte sequence can make it hold unbounded
/// memory or recurse without end. A declared length is checked against these before any
/// byte of its payload is awaited, and nothing is ever allocated from a declared length.
public struct WireLimits: Sendable, Equatable {
    /// Longest line (a RESP header or simple value, an inline command, a memcached command
    /// or reply line), excluding its terminator.
    public var maxLineLength: Int
    /// Largest bulk string, blob or memcached data block, in bytes.
    public var maxBulkLength: Int
    /// Most elements one aggregate may declare (a map counts its keys and values).
    public var maxElements: Int
    /// Deepest nesting of RESP aggregates.
    public var maxDepth: Int
    /// Most bytes a whole frame may span; a frame is held until it is complete, so this
    /// bounds what a parser holds.
    public var maxFrameBytes: Int
    /// Most top-level arguments a frame records for matching (command, keys, channels);
    /// further arguments are parsed and kept in the bytes but not recorded.
    public var maxRecordedArguments: Int

    public init(
        maxLineLength: Int = 64 * 1024,
        maxBulkLength: Int = 512 * 1024 * 1024,
        maxElements: Int = 1 << 20,
        maxDepth: Int = 64,
        maxFrameBytes: Int = 1024 * 1024 * 1024,
        maxRecordedArguments: Int = 1024
    ) {
        self.maxLineLength = maxLineLength
        self.maxBulkLength = maxBulkLength
        self.maxElements = maxElements
        self.maxDepth = maxDepth
        self.maxFrameBytes = maxFrameBytes
        self.maxRecordedArguments = maxRecordedArguments
    }

    /// The defaults: redis-server's own bounds (512 MB bulk, 64 KB inline line).
    public static let `default` = WireLimits()
}

/// Which side of a connection a parser reads.
public enum WireRole: String, Sendable, Hashable {
    /// Client to server: commands.
    case request
    /// Server to client: replies and pushes.
    case reply
}

/// Why a byte stream is not valid protocol. Once a parser has thrown, the stream cannot be
/// followed any more (there is no resynchronisation in these protocols); callers fall back
/// to forwarding bytes unparsed.
public enum WireParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A line grew past `WireLimits.maxLineLength` without a terminator.
    case lineTooLong(limit: Int)
    /// A carriage return not followed by a line feed.
    case expectedLineFeed(found: UInt8)
    /// A RESP value began with a byte that is no RESP type.
    case unknownType(UInt8)
    /// A length or count that is not a decimal integer (or is negative where only -1 is allowed).
    case invalidLength(String)
    /// A declared length above `WireLimits.maxBulkLength`.
    case bulkTooLong(Int, limit: Int)
    /// A declared element count above `WireLimits.maxElements`.
    case tooManyElements(Int, limit: Int)
    /// Aggregates nested deeper than `WireLimits.maxDepth`.
    case nestingTooDeep(limit: Int)
    /// A frame larger than `WireLimits.maxFrameBytes`.
    case frameTooLarge(limit: Int)
    /// A bulk payload or data block not followed by CRLF.
    case missingPayloadTerminator
    /// A RESP scalar whose text does not fit its type (`:`, `#`, `,`, `(`, `_`, `=`).
    case invalidScalar(type: UInt8, text: String)
    /// RESP3 streamed strings and aggregates (`$?`, `*?`, `;`, `.`) are not supported.
    case streamedUnsupported
    /// A RESP request array whose element is not a bulk string (redis-server rejects these too).
    case requestElementNotBulk(found: UInt8)
    /// A memcached command line that does not fit its command's syntax.
    case invalidCommandLine(String)
    /// A memcached reply line that does not fit its reply's syntax.
    case invalidReplyLine(String)

    public var description: String {
        switch self {
        case .lineTooLong(let limit): return "line longer than \(limit) bytes"
        case .expectedLineFeed(let found): return "expected LF after CR, found byte \(found)"
        case .unknownType(let byte): return "unknown RESP type byte \(byte)"
        case .invalidLength(let text): return "invalid length '\(text)'"
        case .bulkTooLong(let length, let limit): return "bulk length \(length) above limit \(limit)"
        case .tooManyElements(let count, let limit): return "element count \(count) above limit \(limit)"
        case .nestingTooDeep(let limit): return "aggregates nested deeper than \(limit)"
        case .frameTooLarge(let limit): return "frame larger than \(limit) bytes"
        case .missingPayloadTerminator: return "payload not followed by CRLF"
        case .invalidScalar(let type, let text): return "invalid '\(Character(Unicode.Scalar(type)))' value '\(text)'"
        case .streamedUnsupported: return "RESP3 streamed strings and aggregates are not supported"
        case .requestElementNotBulk(let found): return "request element is not a bulk string (type byte \(found))"
        case .invalidCommandLine(let line): return "invalid memcached command line '\(line)'"
        case .invalidReplyLine(let line): return "invalid memcached reply line '\(line)'"
        }
    }
}

/// Line scanning shared by the parsers.
enum LineScanner {
    /// Where the line starting at `start` (an index into `buffer`'s storage) ends.
    /// - Parameters:
    ///   - scanFrom: the first index not yet known to be free of terminators (resumption).
    ///   - lenientLF: accept a bare `\n` as terminator (inline commands, memcached).
    /// - Returns: the index of the first terminator byte and the terminator's length, or nil
    ///   with `scanFrom` advanced when more bytes are needed.
    static func findLineEnd(
        in buffer: ByteBuffer, start: Int, scanFrom: inout Int, lenientLF: Bool, limit: Int
    ) throws(WireParseError) -> (end: Int, terminatorLength: Int)? {
        let available = buffer.writerIndex
        var i = max(scanFrom, start)
        while i < available {
            let byte = buffer.getInteger(at: i, as: UInt8.self)!
            if lenientLF {
                if byte == UInt8(ascii: "\n") {
                    let crlf = i > start && buffer.getInteger(at: i - 1, as: UInt8.self)! == UInt8(ascii: "\r")
                    let end = crlf ? i - 1 : i
                    guard end - start <= limit else { throw .lineTooLong(limit: limit) }
                    return (end, crlf ? 2 : 1)
                }
                // The byte at `start + limit` may still be the CR of a CRLF.
                if i - start > limit { throw .lineTooLong(limit: limit) }
            } else {
                if byte == UInt8(ascii: "\r") {
                    guard i + 1 < available else {
                        scanFrom = i
                        return nil
                    }
                    let next = buffer.getInteger(at: i + 1, as: UInt8.self)!
                    guard next == UInt8(ascii: "\n") else { throw .expectedLineFeed(found: next) }
                    return (i, 2)
                }
                if i - start >= limit { throw .lineTooLong(limit: limit) }
            }
            i += 1
        }
        scanFrom = i
        return nil
    }

    /// A decimal integer with optional sign, or nil; at most 19 digits so it cannot overflow.
    static func parseInt(_ bytes: ByteBufferView) -> Int? {
        var it = bytes.makeIterator()
        guard var c = it.next() else { return nil }
        var negative = false
        if c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
            negative = c == UInt8(ascii: "-")
            guard let n = it.next() else { return nil }
            c = n
        }
        var value = 0
        var digits = 0
        while true {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"), digits < 18 else { return nil }
            value = value * 10 + Int(c - UInt8(ascii: "0"))
            digits += 1
            guard let n = it.next() else { break }
            c = n
        }
        return negative ? -value : value
    }

    static func text(_ bytes: ByteBufferView, max: Int = 64) -> String {
        String(decoding: bytes.prefix(max), as: UTF8.self)
    }
}
