import NIOCore
import RiftCore

/// What a stage's policy decides for a chunk of bytes.
public enum StageAction: Sendable {
    /// Pass these bytes on at `at` or later; never before anything queued ahead of them.
    case pass(ByteBuffer, at: NIODeadline)
    /// Hold these bytes (and so everything behind them) until the stage is removed.
    case holdUntilRemoved(ByteBuffer)
    /// Discard these bytes.
    case drop(ByteBuffer)
    /// Send a directive to the glue once everything queued ahead of it has been passed on.
    case directive(FaultDirective)
}

/// The pure part of a fault stage: given bytes and the time, decide what happens to them.
/// A policy never touches a channel, so it is tested without one; `TimedStageHandler` runs it.
public protocol StagePolicy {
    /// Decides what happens to `buffer`, read at `now`; appends one or more actions.
    mutating func transform(_ buffer: ByteBuffer, now: NIODeadline, into actions: inout [StageAction])
    /// When the end of the stream (EOF or close) that arrived at `now` may be passed on.
    /// It is never passed on before the bytes queued ahead of it.
    mutating func endOfStreamRelease(now: NIODeadline) -> NIODeadline
    /// A directive to send at a fixed time after the stage meets the connection
    /// (the `timeout` and `reset_peer` toxics), or nil.
    mutating func timedDirective(addedAt now: NIODeadline) -> (FaultDirective, NIODeadline)?
}

extension StagePolicy {
    public mutating func endOfStreamRelease(now: NIODeadline) -> NIODeadline { now }
    public mutating func timedDirective(addedAt now: NIODeadline) -> (FaultDirective, NIODeadline)? { nil }
}

/// Runs a `StagePolicy` on one direction of one connection.
///
/// It sits on the pipeline of the channel that reads the bytes, between the socket and the
/// glue that writes them to the other side. It keeps the stage contract for every policy:
/// order is kept (release times never go backwards), EOF and inactivity wait behind the
/// bytes before them, removal passes on everything held at once, and above `highWaterMark`
/// held bytes the stage stops forwarding `read()` so the socket, not the proxy, buffers.
public final class TimedStageHandler<Policy: StagePolicy>: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum Event {
        case data(ByteBuffer)
        case inputClosed
        case inactive
        case directive(FaultDirective)
    }

    private struct Item {
        var release: NIODeadline
        var event: Event
    }

    private var policy: Policy
    private let highWaterMark: Int
    private let lowWaterMark: Int
    private var queue = CircularBuffer<Item>(initialCapacity: 8)
    private var queuedBytes = 0
    private var lastRelease = NIODeadline.uptimeNanoseconds(0)
    private var releaseTimer = EarliestTimer()
    private var directiveTimer: Scheduled<Void>?
    private var readPending = false
    private var context: ChannelHandlerContext?
    private var scratch: [StageAction] = []

    /// - Parameters:
    ///   - highWaterMark: held bytes above which the stage stops asking the socket for more.
    public init(policy: Policy, highWaterMark: Int = 1 << 20) {
        self.policy = policy
        self.highWaterMark = highWaterMark
        self.lowWaterMark = highWaterMark / 2
    }

    /// Bytes the stage holds right now (for tests and metrics).
    public var heldBytes: Int { queuedBytes }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let now = context.eventLoop.now
        if let (directive, at) = policy.timedDirective(addedAt: now) {
            directiveTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: at) { [weak self] in
                guard let self, let context = self.context else { return }
                self.directiveTimer = nil
                context.fireUserInboundEventTriggered(directive)
            }
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        self.context = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let now = context.eventLoop.now
        scratch.removeAll(keepingCapacity: true)
        policy.transform(buffer, now: now, into: &scratch)
        for action in scratch {
            switch action {
            case .pass(let bytes, let at):
                if queue.isEmpty && at <= now {
                    context.fireChannelRead(wrapInboundOut(bytes))
                } else {
                    enqueue(.data(bytes), at: at)
                }
            case .holdUntilRemoved(let bytes):
                enqueue(.data(bytes), at: .distantFuture)
            case .drop:
                break
            case .directive(let directive):
                if queue.isEmpty {
                    context.fireUserInboundEventTriggered(directive)
                } else {
                    enqueue(.directive(directive), at: now)
                }
            }
        }
        scheduleRelease(context: context)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed {
            let now = context.eventLoop.now
            let at = policy.endOfStreamRelease(now: now)
            if queue.isEmpty && at <= now {
                context.fireUserInboundEventTriggered(event)
            } else {
                enqueue(.inputClosed, at: at)
                scheduleRelease(context: context)
            }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        let at = policy.endOfStreamRelease(now: now)
        if queue.isEmpty && at <= now {
            context.fireChannelInactive()
        } else {
            enqueue(.inactive, at: at)
            scheduleRelease(context: context)
        }
    }

    public func read(context: ChannelHandlerContext) {
        if queuedBytes > highWaterMark {
            readPending = true
        } else {
            context.read()
        }
    }

    public func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        cancelTimers()
        // The contract: on removal every held byte is passed on at once, in order.
        releaseAll(context: context, upTo: nil)
        if readPending {
            readPending = false
            context.read()
        }
        context.leavePipeline(removalToken: removalToken)
    }

    // MARK: - Queue

    private func enqueue(_ event: Event, at requested: NIODeadline) {
        let release = max(requested, lastRelease)
        lastRelease = release
        if case .data(let bytes) = event { queuedBytes += bytes.readableBytes }
        queue.append(Item(release: release, event: event))
    }

    private func scheduleRelease(context: ChannelHandlerContext) {
        guard let head = queue.first else { return }
        if head.release == .distantFuture { return }
        releaseTimer.arm(at: head.release, on: context.eventLoop) { [weak self] in
            guard let self, let context = self.context else { return }
            self.releaseTimer.fired()
            self.releaseAll(context: context, upTo: context.eventLoop.now)
            self.scheduleRelease(context: context)
        }
    }

    /// Passes on every queued event due by `upTo` (all of them when nil).
    private func releaseAll(context: ChannelHandlerContext, upTo limit: NIODeadline?) {
        var readAny = false
        while let head = queue.first, limit.map({ head.release <= $0 }) ?? true {
            queue.removeFirst()
            switch head.event {
            case .data(let bytes):
                queuedBytes -= bytes.readableBytes
                readAny = true
                context.fireChannelRead(wrapInboundOut(bytes))
            case .inputClosed:
                if readAny { context.fireChannelReadComplete(); readAny = false }
                context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            case .inactive:
                if readAny { context.fireChannelReadComplete(); readAny = false }
                context.fireChannelInactive()
            case .directive(let directive):
                if readAny { context.fireChannelReadComplete(); readAny = false }
                context.fireUserInboundEventTriggered(directive)
            }
        }
        if readAny { context.fireChannelReadComplete() }
        if queue.isEmpty { lastRelease = .uptimeNanoseconds(0) }
        if readPending && queuedBytes <= lowWaterMark {
            readPending = false
            context.read()
        }
    }

    private func cancelTimers() {
        releaseTimer.cancel()
        directiveTimer?.cancel()
        directiveTimer = nil
    }
}

@available(*, unavailable)
extension TimedStageHandler: Sendable {}
