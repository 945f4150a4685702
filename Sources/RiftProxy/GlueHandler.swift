import NIOCore
import RiftFaults

/// The tail of each side's pipeline: writes what its channel reads (after the fault stages)
/// to the partner channel, and carries flushes, half-closes and closes across.
///
/// Backpressure as in SwiftNIO's connect-proxy: a side only reads while its partner is
/// writable, so a slow reader makes the proxy stop reading, not buffer without bound.
/// Directives from fault stages (`FaultDirective`) arrive here as user events.
final class GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Side { case client, server }

    let side: Side
    private let counters: ByteCounters
    private var partner: GlueHandler?
    fileprivate var context: ChannelHandlerContext?
    private var pendingRead = false
    /// True while no fault stage sits before this glue, so what it passes on is what was read.
    var countsReceived = true
    private var inputClosed = false
    private var outputClosed = false

    init(side: Side, counters: ByteCounters) {
        self.side = side
        self.counters = counters
    }

    static func matchedPair(counters: ByteCounters) -> (client: GlueHandler, server: GlueHandler) {
        let client = GlueHandler(side: .client, counters: counters)
        let server = GlueHandler(side: .server, counters: counters)
        client.partner = server
        server.partner = client
        return (client, server)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.partner = nil
    }

    // MARK: Inbound: what this side read, after its fault stages.

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let direction: StreamDirection = side == .client ? .upstream : .downstream
        counters.add(buffer.readableBytes, direction: direction)
        if countsReceived { counters.addReceived(buffer.readableBytes, direction: direction) }
        partner?.partnerWrite(buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerCloseAfterFlush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed {
            inputClosed = true
            partner?.partnerWriteEOF()
            closeIfDone(context: context)
        } else if let directive = event as? FaultDirective {
            switch directive {
            case .close:
                partner?.partnerCloseAfterFlush()
                context.close(promise: nil)
            case .reset:
                // A middlebox that drops a connection's state resets both ends. Arm both
                // sockets before closing either: closing one closes the other.
                let partner = self.partner
                armReset()
                partner?.armReset()
                partner?.context?.close(promise: nil)
                context.close(promise: nil)
            }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A reset or broken pipe on one side: pass the abrupt end to the other side as a reset
        // too, as a TCP middlebox with no buffer would.
        if let ioError = error as? IOError, ioError.errnoCode == ECONNRESET {
            partner?.armReset()
        }
        partner?.context?.close(promise: nil)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            partner?.partnerBecameWritable()
        }
    }

    // MARK: Outbound: reads are only asked for while the partner can take the bytes.

    func read(context: ChannelHandlerContext) {
        if let partner, partner.partnerWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }

    // MARK: Calls from the partner

    private func partnerWrite(_ buffer: ByteBuffer) {
        guard let context, !outputClosed else { return }
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    private func partnerWriteEOF() {
        guard let context, !outputClosed else { return }
        outputClosed = true
        context.flush()
        context.close(mode: .output, promise: nil)
        closeIfDone(context: context)
    }

    private func partnerCloseAfterFlush() {
        guard let context else { return }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Sets SO_LINGER to zero, so that closing the socket sends RST instead of FIN. On the
    /// event loop the option is set at once.
    fileprivate func armReset() {
        guard let provider = context?.channel as? SocketOptionProvider else { return }
        provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenFailure { _ in }
    }

    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerBecameWritable() {
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    private func closeIfDone(context: ChannelHandlerContext) {
        if inputClosed && outputClosed { context.close(promise: nil) }
    }
}

@available(*, unavailable)
extension GlueHandler: Sendable {}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
