import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Sits at the head of one side's pipeline (before any fault stage) and copies that socket's
/// traffic into a `PacketCapture`: what the peer sent as it arrived, and what the proxy wrote
/// as the peer will receive it. So on the client leg a dropped request is present and on the
/// upstream leg it is absent, as each end saw it.
///
/// It only reads buffers and hands references to a bounded queue: it never waits and never
/// changes, holds or drops a proxied byte.
public final class CaptureTapHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let capture: PacketCapture
    private var conversation: TCPConversation
    private var opened = false

    /// `localOpens`: the proxy dialled this side (the upstream leg).
    public init(capture: PacketCapture, local: SocketAddress?, remote: SocketAddress?, localOpens: Bool, connectionID: UInt64) {
        self.capture = capture
        let mixed = (connectionID &+ (localOpens ? 0x5151 : 0)) &* 0x9E37_79B9_7F4A_7C15
        conversation = TCPConversation(
            local: CaptureEndpoint(local), remote: CaptureEndpoint(remote), localOpens: localOpens,
            localISN: UInt32(truncatingIfNeeded: mixed >> 32), remoteISN: UInt32(truncatingIfNeeded: mixed))
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        guard !opened else { return }
        opened = true
        for record in conversation.handshake(at: .now()) { capture.submit(record) }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let record = conversation.data(fromLocal: false, unwrapInboundIn(data), at: .now()) { capture.submit(record) }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if let record = conversation.data(fromLocal: true, unwrapOutboundIn(data), at: .now()) { capture.submit(record) }
        context.write(data, promise: promise)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            finish(fromLocal: false)
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .output { finish(fromLocal: true) }
        context.close(mode: mode, promise: promise)
    }

    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        // The peer reset the connection: show its RST instead of the FINs a close would add.
        if let ioError = error as? IOError, ioError.errnoCode == ECONNRESET,
           let record = conversation.reset(fromLocal: false, at: .now()) {
            capture.submit(record)
        }
        context.fireErrorCaught(error)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        // The proxy closes its side first when it closes; the peer's FIN then completes the stream.
        finish(fromLocal: true)
        finish(fromLocal: false)
        context.fireChannelInactive()
    }

    private func finish(fromLocal: Bool) {
        if let record = conversation.fin(fromLocal: fromLocal, at: .now()) { capture.submit(record) }
    }
}

@available(*, unavailable)
extension CaptureTapHandler: Sendable {}
