import NIOCore

/// Decodes a memcached byte stream (text and meta protocol) into `MemcachedFrame`s on a
/// channel: commands client to server (`role: .request`), replies the other way (`.reply`).
public final class MemcachedDecoder: ByteToMessageDecoder {
    public typealias InboundOut = MemcachedFrame

    private var parser: MemcachedParser

    public init(role: WireRole, limits: WireLimits = .default) {
        parser = MemcachedParser(role: role, limits: limits)
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
extension MemcachedDecoder: Sendable {}
