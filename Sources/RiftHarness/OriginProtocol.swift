import NIOCore

/// The origin's wire protocol: CRLF lines, one request in flight per connection (pipelined
/// requests are answered in order).
///
/// ```
/// GET <key>                    -> VALUE <version> <bytes>\r\n<data>   | NONE (version 0)
/// SET <key> <bytes>            -> OK <version>   (the key's version + 1)
/// SET <key> <bytes> <version>  -> OK <version>   | STALE <current>   (only a newer version)
/// GAUGE                        -> GAUGE <in flight> <peak>   (no service time)
/// anything else                -> ERROR <why>
/// ```
/// `SET` with a version is how the cache-aside workload writes: the client picks the version
/// at invocation (as the register workload picks its values), so every write in the history
/// carries its version even when its reply is lost; the origin refuses to go back in time.
public enum OriginRequest: Sendable, Equatable {
    case get(key: String)
    case set(key: String, value: String, version: Int64?)
    case gauge
    /// A line the origin does not understand; answered with `ERROR`, the connection stays.
    case invalid(String)
}

public enum OriginReply: Sendable, Equatable {
    case value(version: Int64, data: String)
    case none
    case ok(version: Int64)
    case stale(current: Int64)
    case gauge(inFlight: Int, peak: Int)
    case error(String)

    public var wire: String {
        switch self {
        case .value(let v, let d): "VALUE \(v) \(d.utf8.count)\r\n\(d)\r\n"
        case .none: "NONE\r\n"
        case .ok(let v): "OK \(v)\r\n"
        case .stale(let c): "STALE \(c)\r\n"
        case .gauge(let n, let p): "GAUGE \(n) \(p)\r\n"
        case .error(let why): "ERROR \(why)\r\n"
        }
    }
}

/// Limits of the origin protocol.
public enum OriginLimits {
    public static let maxLineBytes = 1024
    public static let maxKeyBytes = 250
    public static let maxValueBytes = 1 << 20
}

/// Framing error: the connection is closed (the byte stream cannot be resynchronised).
public struct OriginFramingError: Error, Equatable, Sendable {
    public var reason: String
}

/// Bytes to `OriginRequest`s. A line over the limit or a `SET` with a bad length is a framing
/// error; an unknown command is an `.invalid` request.
public struct OriginRequestDecoder: ByteToMessageDecoder {
    public typealias InboundOut = OriginRequest

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let request = try Self.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(self.wrapInboundOut(request))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// One request from the front of `buffer`, consumed; nil (nothing consumed) when incomplete.
    public static func parse(_ buffer: inout ByteBuffer) throws(OriginFramingError) -> OriginRequest? {
        let view = buffer.readableBytesView
        guard let lf = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count > OriginLimits.maxLineBytes { throw OriginFramingError(reason: "line longer than \(OriginLimits.maxLineBytes) bytes") }
            return nil
        }
        let lineLength = lf - view.startIndex
        if lineLength > OriginLimits.maxLineBytes { throw OriginFramingError(reason: "line longer than \(OriginLimits.maxLineBytes) bytes") }
        var line = String(decoding: view[view.startIndex..<lf], as: UTF8.self)
        if line.hasSuffix("\r") { line.removeLast() }
        let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let consumedLine = lineLength + 1
        func done(_ r: OriginRequest) -> OriginRequest {
            buffer.moveReaderIndex(forwardBy: consumedLine)
            return r
        }
        guard let command = parts.first?.uppercased() else { return done(.invalid("empty line")) }
        switch command {
        case "GET":
            guard parts.count == 2 else { return done(.invalid("usage: GET <key>")) }
            guard parts[1].utf8.count <= OriginLimits.maxKeyBytes else { return done(.invalid("key longer than \(OriginLimits.maxKeyBytes) bytes")) }
            return done(.get(key: parts[1]))
        case "GAUGE":
            return done(parts.count == 1 ? .gauge : .invalid("usage: GAUGE"))
        case "SET":
            guard parts.count == 3 || parts.count == 4, let n = Int(parts[2]), n >= 0 else {
                throw OriginFramingError(reason: "usage: SET <key> <bytes> [<version>]")
            }
            guard n <= OriginLimits.maxValueBytes else { throw OriginFramingError(reason: "value longer than \(OriginLimits.maxValueBytes) bytes") }
            // The data and its CRLF must all be here before anything is consumed.
            let dataStart = consumedLine
            guard buffer.readableBytes >= dataStart + n + 2 else { return nil }
            let bytes = buffer.getBytes(at: buffer.readerIndex + dataStart, length: n + 2)!
            guard bytes[n] == UInt8(ascii: "\r"), bytes[n + 1] == UInt8(ascii: "\n") else {
                throw OriginFramingError(reason: "SET data is not followed by CRLF")
            }
            buffer.moveReaderIndex(forwardBy: dataStart + n + 2)
            let value = String(decoding: bytes[0..<n], as: UTF8.self)
            if parts[1].utf8.count > OriginLimits.maxKeyBytes { return .invalid("key longer than \(OriginLimits.maxKeyBytes) bytes") }
            if parts.count == 4 {
                guard let v = Int64(parts[3]), v > 0 else { return .invalid("version must be a positive integer") }
                return .set(key: parts[1], value: value, version: v)
            }
            return .set(key: parts[1], value: value, version: nil)
        default:
            return done(.invalid("unknown command \(command.prefix(32))"))
        }
    }
}
