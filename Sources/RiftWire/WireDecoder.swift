import NIOCore

/// A streaming parser of one wire protocol in one role: what `WireDecoder` runs.
public protocol WireStreamParser {
    associatedtype Frame
    init(role: WireRole, limits: WireLimits)
    /// The next whole frame at the front of `buffer` (consuming its bytes), or nil when more
    /// input is needed. A parse error is final for the stream.
    mutating func next(_ buffer: inout ByteBuffer) throws(WireParseError) -> Frame?
}

extension RESPParser: WireStreamParser {}
extension MemcachedParser: WireStreamParser {}

/// Decodes a byte stream into frames on a channel: commands on the client-to-server side
/// (`role: .request`), replies and pushes on the other (`.reply`).
public final class WireDecoder<Parser: WireStreamParser>: ByteToMessageDecoder {
    public typealias InboundOut = Parser.Frame

    private var parser: Parser

    public init(role: WireRole, limits: WireLimits = .default) {
        parser = Parser(role: role, limits: limits)
    }

    public func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try parser.next(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while let frame = try parser.next(&buffer) {
            context.fireChannelRead(wrapInboundOut(frame))
        }
        return .needMoreData
    }
}

@available(*, unavailable)
extension WireDecoder: Sendable {}

/// RESP2/RESP3 frames on a channel.
public typealias RESPDecoder = WireDecoder<RESPParser>
/// Memcached text and meta protocol frames on a channel.
public typealias MemcachedDecoder = WireDecoder<MemcachedParser>
