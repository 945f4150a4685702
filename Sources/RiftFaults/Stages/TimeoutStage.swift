import NIOCore
import RiftCore

/// `timeout`: no data gets through (it is read and dropped, as Toxiproxy does, so the
/// sender is not pushed back), and `timeout` ms after the stage meets the connection it sends
/// `FaultDirective.close`. With `timeout` 0 it never closes: the connection just hangs.
/// EOF and inactivity pass through (nothing is held).
///
/// The timer runs from when the stage meets the connection; unlike Toxiproxy 2.x, data
/// arriving in the meantime does not restart it, so a chatty client still times out.
///
/// Removal: if the stage dropped any byte, it sends `.close` as it leaves, because what
/// follows would be a corrupted stream (Toxiproxy closes on removal for the same reason);
/// if it dropped nothing, data simply flows again.
public struct TimeoutConfig: FaultStageConfig {
    public static let type = "timeout"
    public static let attributeNames = ["timeout"]

    /// Milliseconds before the connection is closed; 0 = never.
    public var timeoutMs: Int64

    public init(timeoutMs: Int64) {
        self.timeoutMs = timeoutMs
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        let r = AttributeReader(attributes)
        timeoutMs = try r.int("timeout", default: 0, range: 0...86_400_000)
    }

    public var attributes: FaultAttributes { ["timeout": .int(timeoutMs)] }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        TimeoutHandler(timeout: timeoutMs > 0 ? .milliseconds(timeoutMs) : nil)
    }
}

/// Drops every byte and closes the connection after a timeout. Holds nothing, so it needs
/// no backpressure and has nothing to flush on removal.
public final class TimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount?
    private var timer: Scheduled<Void>?
    private var closeSent = false

    /// Bytes dropped so far (for tests and metrics).
    public private(set) var droppedBytes: Int64 = 0

    /// - Parameter timeout: when to close after the handler is added; nil = never.
    public init(timeout: TimeAmount?) {
        self.timeout = timeout
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        guard let timeout else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self else { return }
            self.timer = nil
            self.sendClose(context: loopBound.value)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        droppedBytes += Int64(unwrapInboundIn(data).readableBytes)
    }

    public func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        timer?.cancel()
        timer = nil
        if droppedBytes > 0 { sendClose(context: context) }
        context.leavePipeline(removalToken: removalToken)
    }

    private func sendClose(context: ChannelHandlerContext) {
        guard !closeSent else { return }
        closeSent = true
        context.fireUserInboundEventTriggered(FaultDirective.close)
    }
}

@available(*, unavailable)
extension TimeoutHandler: Sendable {}
