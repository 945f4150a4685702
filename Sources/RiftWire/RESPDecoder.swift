import NIOCore

/// Decodes a RESP byte stream into `RESPFrame`s on a channel: redis commands on the
/// client-to-server side (`role: .request`), replies and pushes on the other (`.reply`).
public final class RESPDecoder: ByteToMessageDecoder {
    public typealias InboundOut = RESPFrame

    private var parser: RESPParser

    public init(role: WireRole, limits: WireLimits = .default) {
        parser = RESPParser(role: role, limits: limits)
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
extension RESPDecoder: Sendable {}
