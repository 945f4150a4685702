import NIOCore

/// One item of a `VALUE` block: what `get`, `gets`, `gat` and `gats` return per key.
public struct MemcachedItem: Equatable, Sendable {
    public var key: String
    public var flags: UInt32
    public var value: [UInt8]
    /// The CAS unique, present when the request was `gets`/`gats`.
    public var cas: UInt64?

    public init(key: String, flags: UInt32, value: [UInt8], cas: UInt64? = nil) {
        self.key = key
        self.flags = flags
        self.value = value
        self.cas = cas
    }
}

/// One memcached reply (text or meta protocol), as a client acts on it.
public enum MemcachedReply: Equatable, Sendable {
    /// `VALUE` blocks then `END`: empty for a miss.
    case values([MemcachedItem])
    /// `STAT <name> <value>` lines then `END`, in wire order.
    case stats([(name: String, value: String)])
    case stored
    case notStored
    case exists
    case notFound
    case deleted
    case touched
    case ok
    /// `VERSION <text>`.
    case version(String)
    /// The new value after `incr`/`decr`.
    case number(UInt64)
    /// `ERROR`: an unknown command.
    case error
    /// `CLIENT_ERROR <message>`.
    case clientError(String)
    /// `SERVER_ERROR <message>`.
    case serverError(String)
    /// A meta reply: its two-letter code (`VA`, `HD`, `NS`, `EX`, `NF`, `EN`, `MN`, `ME`), its
    /// flags (`VA`'s length is not among them), and `VA`'s data.
    case meta(code: String, flags: [String], data: [UInt8]?)
    /// Any other line, as it came.
    case other(String)

    public static func == (a: MemcachedReply, b: MemcachedReply) -> Bool {
        switch (a, b) {
        case (.values(let x), .values(let y)): return x == y
        case (.stats(let x), .stats(let y)): return x.elementsEqual(y) { $0.name == $1.name && $0.value == $1.value }
        case (.stored, .stored), (.notStored, .notStored), (.exists, .exists), (.notFound, .notFound),
            (.deleted, .deleted), (.touched, .touched), (.ok, .ok), (.error, .error):
            return true
        case (.version(let x), .version(let y)), (.clientError(let x), .clientError(let y)),
            (.serverError(let x), .serverError(let y)), (.other(let x), .other(let y)):
            return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.meta(let c1, let f1, let d1), .meta(let c2, let f2, let d2)): return c1 == c2 && f1 == f2 && d1 == d2
        default: return false
        }
    }

    /// `ERROR`, `CLIENT_ERROR …` or `SERVER_ERROR …`: the server refused the request.
    public var isError: Bool {
        switch self {
        case .error, .clientError, .serverError: return true
        default: return false
        }
    }
}

/// Decodes a memcached reply stream into `MemcachedReply`s: the one memcached reply decoder
/// Rift's clients use, with the grammar and `WireLimits` of the proxy's `MemcachedParser`
/// (which finds each complete reply; the value is built from that frame's bytes).
public struct MemcachedReplyDecoder: WireReplyDecoder {
    private var parser: MemcachedParser

    public init(limits: WireLimits = .default) {
        parser = MemcachedParser(role: .reply, limits: limits)
    }

    /// The next complete reply (consuming its bytes), or nil when more bytes are needed.
    public mutating func next(_ buffer: inout ByteBuffer) throws(WireParseError) -> MemcachedReply? {
        guard let frame = try parser.next(&buffer) else { return nil }
        return try MemcachedReply(frame: frame)
    }
}

extension MemcachedReply {
    /// The reply carried by one complete frame from `MemcachedParser(role: .reply)`.
    public init(frame: MemcachedFrame) throws(WireParseError) {
        var reader = LineReader(frame.bytes)
        guard let kind = frame.replyKind else { throw .invalidReplyLine("not a reply") }
        switch kind {
        case .values:
            var items: [MemcachedItem] = []
            while true {
                let words = try reader.words()
                if words == ["END"] { break }
                guard words.count == 4 || words.count == 5, words[0] == "VALUE", let flags = UInt32(words[2]),
                    let length = Int(words[3]), length >= 0
                else { throw .invalidReplyLine(Self.shown(words)) }
                var cas: UInt64?
                if words.count == 5 {
                    guard let c = UInt64(words[4]) else { throw .invalidReplyLine(Self.shown(words)) }
                    cas = c
                }
                items.append(MemcachedItem(key: words[1], flags: flags, value: try reader.data(length), cas: cas))
            }
            self = .values(items)
        case .stats:
            var stats: [(name: String, value: String)] = []
            while true {
                let line = try reader.line()
                if line == "END" { break }
                let parts = line.split(separator: " ", maxSplits: 2)
                guard parts.count >= 2, parts[0] == "STAT" else { throw .invalidReplyLine(String(line.prefix(64))) }
                stats.append((String(parts[1]), parts.count == 3 ? String(parts[2]) : ""))
            }
            self = .stats(stats)
        case .stored: self = .stored
        case .notStored: self = .notStored
        case .exists: self = .exists
        case .notFound: self = .notFound
        case .deleted: self = .deleted
        case .touched: self = .touched
        case .ok: self = .ok
        case .error: self = .error
        case .version: self = .version(Self.rest(try reader.line(), after: "VERSION"))
        case .clientError: self = .clientError(Self.rest(try reader.line(), after: "CLIENT_ERROR"))
        case .serverError: self = .serverError(Self.rest(try reader.line(), after: "SERVER_ERROR"))
        case .number:
            let line = try reader.line()
            guard let n = UInt64(line) else { throw .invalidReplyLine(String(line.prefix(64))) }
            self = .number(n)
        case .metaValue:
            let words = try reader.words()
            guard words.count >= 2, let length = Int(words[1]), length >= 0 else { throw .invalidReplyLine(Self.shown(words)) }
            self = .meta(code: words[0], flags: Array(words.dropFirst(2)), data: try reader.data(length))
        case .metaHeader, .metaNotStored, .metaExists, .metaNotFound, .metaEnd, .metaNoop, .metaDebug:
            let words = try reader.words()
            self = .meta(code: words.first ?? kind.rawValue, flags: Array(words.dropFirst()), data: nil)
        case .other:
            self = .other(try reader.line())
        }
    }

    private static func rest(_ line: String, after word: String) -> String {
        String(line.dropFirst(word.count).drop { $0 == " " })
    }

    private static func shown(_ words: [String]) -> String { String(words.joined(separator: " ").prefix(64)) }
}

/// Lines (CRLF or bare LF, as `MemcachedParser` accepts) and data blocks of one complete frame.
private struct LineReader {
    let bytes: ByteBuffer
    var index: Int

    init(_ bytes: ByteBuffer) {
        self.bytes = bytes
        index = bytes.readerIndex
    }

    mutating func line() throws(WireParseError) -> String {
        let view = bytes.readableBytesView
        guard let newline = view[index...].firstIndex(of: UInt8(ascii: "\n")) else { throw .invalidReplyLine("no line end") }
        var lineEnd = newline
        if lineEnd > index && view[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
        let text = String(decoding: view[index..<lineEnd], as: UTF8.self)
        index = newline + 1
        return text
    }

    mutating func words() throws(WireParseError) -> [String] {
        try line().split(separator: " ").map(String.init)
    }

    mutating func data(_ length: Int) throws(WireParseError) -> [UInt8] {
        guard bytes.writerIndex - index >= length + 2, let data = bytes.getBytes(at: index, length: length) else {
            throw .missingPayloadTerminator
        }
        index += length + 2
        return data
    }
}
