import NIOCore

/// One origin connection: requests are served one at a time in arrival order, each after the
/// service time (on the event loop's timer, no thread held), counted in the gauge meanwhile.
final class OriginHandler: ChannelInboundHandler {
    typealias InboundIn = OriginRequest
    typealias OutboundOut = ByteBuffer

    /// Requests read but not yet started; a client beyond it is closed (the protocol has one
    /// request in flight per connection, so only a misbehaving client gets here).
    static let maxQueued = 64

    private let store: OriginStore
    private let serviceTime: TimeAmount
    private var queue: [OriginRequest] = []
    private var busy = false
    private var closed = false

    init(store: OriginStore, serviceTime: TimeAmount) {
        self.store = store
        self.serviceTime = serviceTime
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let request = unwrapInboundIn(data)
        if case .gauge = request, queue.isEmpty, !busy {
            write(store.execute(request), context: context)
            return
        }
        guard queue.count < Self.maxQueued else {
            context.close(promise: nil)
            return
        }
        queue.append(request)
        startNext(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let e = error as? OriginFramingError { write(.error(e.reason), context: context) }
        context.close(promise: nil)
    }

    private func startNext(context: ChannelHandlerContext) {
        guard !busy, !queue.isEmpty else { return }
        let request = queue.removeFirst()
        busy = true
        let timed: Bool
        if case .gauge = request { timed = false } else { timed = true }
        if timed { store.gauge.begin() }
        let finish = { [self] in
            let reply = store.execute(request)
            if timed { store.gauge.end() }
            busy = false
            if !closed {
                write(reply, context: context)
                startNext(context: context)
            }
        }
        if timed && serviceTime.nanoseconds > 0 {
            context.eventLoop.assumeIsolated().scheduleTask(in: serviceTime, finish)
        } else {
            finish()
        }
    }

    private func write(_ reply: OriginReply, context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: reply.wire)), promise: nil)
    }
}

@available(*, unavailable)
extension OriginHandler: Sendable {}
