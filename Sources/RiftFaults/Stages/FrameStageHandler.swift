import NIOCore
import RiftCore
import RiftWire

/// What a frame stage does to a frame its match selects.
public enum FrameEffect: Sendable, Equatable {
    /// The frame never reaches the other side.
    case drop
    /// The frame waits this long. On the client-to-server side everything behind it waits
    /// too (replies must stay paired with requests); on the other side a delayed push is
    /// overtaken by the frames behind it.
    case delay(TimeAmount)
    /// The request is not forwarded; these bytes are sent back to the client instead, in
    /// the place its reply would have had among the replies to pipelined requests.
    case reply(ByteBuffer)
}

/// Sent up the pipeline once when a frame stage stops following the protocol and starts
/// forwarding bytes unparsed (see `FrameStageHandler.fallbackError`).
public struct FrameStageFellBack: Sendable, Equatable {
    public var error: WireParseError
}

/// Runs a frame fault on one direction of one connection.
///
/// Like the byte stages it sits on the channel that reads the bytes, before the glue. It
/// parses the stream into frames (requests upstream, replies and pushes downstream) and
/// passes each complete frame on, unless the match selects it for the effect. A partial
/// frame is held until it is complete (at most `WireFrameParser.limits.maxFrameBytes`).
///
/// The stage contract holds: order is kept except for delayed pushes, which may be
/// overtaken; EOF and inactivity wait behind all held data; removal passes everything held
/// on at once (delayed frames, then the partial frame; undelivered injected replies are
/// written); above `highWaterMark` held bytes the stage stops forwarding `read()`.
///
/// When the stream cannot be parsed (malformed input, or a frame above the limit, or a
/// stage added mid-frame) the stage forwards every byte from there on unparsed, sets
/// `fallbackError` and sends `FrameStageFellBack` up the pipeline once. A stage added to a
/// live connection assumes it starts at a frame boundary (true of an idle connection);
/// mid-frame, RESP requests mostly resynchronise through inline parsing, replies fall back.
///
/// For `.reply`, the stage also watches the replies the glue writes back through it to the
/// client, parses them, and inserts each injected reply after the replies to the requests
/// forwarded before it. Requests whose reply count cannot be known (subscriptions,
/// `MONITOR`, `CLIENT`, memcached meta quiet mode), an unparsable reply stream, or
/// removal end the pairing: pending and later injected replies are written at once.
public final class FrameStageHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum Event {
        case data(ByteBuffer)
        case inputClosed
        case inactive
    }

    private struct Item {
        var release: NIODeadline
        var event: Event
    }

    private enum Slot {
        case server
        case injected(ByteBuffer)
    }

    private let match: FrameMatch
    private let effect: FrameEffect
    private let direction: StreamDirection
    private var random: SeededRandom
    private let highWaterMark: Int

    private var parser: WireFrameParser
    private var accumulator = ByteBuffer()
    public private(set) var fallbackError: WireParseError?
    /// Frames the effect was applied to.
    public private(set) var framesAffected: Int64 = 0

    private var queue = CircularBuffer<Item>(initialCapacity: 8)
    private var side: [Item] = []
    private var lastRelease = NIODeadline.uptimeNanoseconds(0)
    private var queuedBytes = 0
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var readPending = false
    private var context: ChannelHandlerContext?

    private var replyParser: WireFrameParser
    private var replyAccumulator = ByteBuffer()
    private var slots = CircularBuffer<Slot>(initialCapacity: 4)
    private var pairingLost = false

    public init(match: FrameMatch, effect: FrameEffect, environment: FaultStageEnvironment, highWaterMark: Int = 1 << 20) {
        self.match = match
        self.effect = effect
        self.direction = environment.direction
        self.random = environment.random
        self.highWaterMark = highWaterMark
        parser = WireFrameParser(protocol: match.wireProtocol, role: environment.direction == .upstream ? .request : .reply)
        replyParser = WireFrameParser(protocol: match.wireProtocol, role: .reply)
    }

    /// Bytes of complete frames the stage holds (for tests and metrics).
    public var heldBytes: Int { queuedBytes }
    /// Injected replies waiting for the replies ahead of them.
    public var pendingInjectedReplies: Int { slots.reduce(0) { if case .injected = $1 { return $0 + 1 } else { return $0 } } }

    private var injects: Bool { if case .reply = effect { return true } else { return false } }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    // MARK: - Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let now = context.eventLoop.now
        if fallbackError != nil {
            forward(bytes, at: now, context: context)
            return
        }
        accumulator.writeImmutableBuffer(bytes)
        do {
            while let frame = try parser.next(&accumulator) {
                handle(frame, now: now, context: context)
            }
            accumulator.discardReadBytes()
        } catch {
            fallbackError = error
            flushAccumulator(now: now, context: context)
            context.fireUserInboundEventTriggered(FrameStageFellBack(error: error))
        }
        scheduleRelease(context: context)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        endOfStream(.inputClosed, context: context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        endOfStream(.inactive, context: context)
    }

    private func endOfStream(_ event: Event, context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        // A partial frame will never complete: it goes on as it is, ahead of the end.
        let hadPartial = accumulator.readableBytes > 0
        flushAccumulator(now: now, context: context)
        let at = side.map(\.release).max().map { max($0, now) } ?? now
        if queue.isEmpty && side.isEmpty {
            if hadPartial { context.fireChannelReadComplete() }
            fire(event, context: context)
        } else {
            enqueue(event, at: at)
            scheduleRelease(context: context)
        }
    }

    private func handle(_ frame: WireFrame, now: NIODeadline, context: ChannelHandlerContext) {
        guard selects(frame) else {
            forward(frame.bytes, at: now, context: context)
            noteForwarded(frame)
            return
        }
        framesAffected += 1
        switch effect {
        case .drop:
            break
        case .delay(let amount):
            if direction == .downstream && (frame.isPush || frame.isMessage) {
                queuedBytes += frame.bytes.readableBytes
                side.append(Item(release: now + amount, event: .data(frame.bytes)))
            } else {
                enqueue(.data(frame.bytes), at: now + amount)
            }
        case .reply(let bytes):
            // A request sent without wanting a reply is swallowed: a reply would desync the client.
            if frame.expectedReplies != 0 { inject(bytes, context: context) }
        }
    }

    private func selects(_ frame: WireFrame) -> Bool {
        guard match.matches(frame) else { return false }
        if match.limit > 0 && framesAffected >= match.limit { return false }
        if match.probability < 1 && random.nextUnit() >= match.probability { return false }
        return true
    }

    /// Passes bytes on now, or behind what is queued.
    private func forward(_ bytes: ByteBuffer, at: NIODeadline, context: ChannelHandlerContext) {
        if queue.isEmpty && at <= context.eventLoop.now {
            context.fireChannelRead(wrapInboundOut(bytes))
        } else {
            enqueue(.data(bytes), at: at)
        }
    }

    private func flushAccumulator(now: NIODeadline, context: ChannelHandlerContext) {
        guard accumulator.readableBytes > 0 else { return }
        let rest = accumulator
        accumulator = ByteBuffer()
        forward(rest, at: now, context: context)
    }

    private func fire(_ event: Event, context: ChannelHandlerContext) {
        switch event {
        case .data(let bytes): context.fireChannelRead(wrapInboundOut(bytes))
        case .inputClosed: context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        case .inactive: context.fireChannelInactive()
        }
    }

    // MARK: - Held frames

    private func enqueue(_ event: Event, at requested: NIODeadline) {
        let release = max(requested, lastRelease)
        lastRelease = release
        if case .data(let bytes) = event { queuedBytes += bytes.readableBytes }
        queue.append(Item(release: release, event: event))
    }

    private func nextDeadline() -> NIODeadline? {
        [queue.first?.release, side.map(\.release).min()].compactMap { $0 }.min()
    }

    private func scheduleRelease(context: ChannelHandlerContext) {
        guard let deadline = nextDeadline() else { return }
        if let current = timerDeadline, current <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self, let context = self.context else { return }
            self.timer = nil
            self.timerDeadline = nil
            self.release(context: context, upTo: context.eventLoop.now)
            self.scheduleRelease(context: context)
        }
    }

    /// Passes on every held event due by `limit` (everything when nil): overtaking pushes first.
    private func release(context: ChannelHandlerContext, upTo limit: NIODeadline?) {
        var fired = false
        side.sort { $0.release < $1.release }
        while let head = side.first, limit.map({ head.release <= $0 }) ?? true {
            side.removeFirst()
            if case .data(let bytes) = head.event { queuedBytes -= bytes.readableBytes }
            fire(head.event, context: context)
            fired = true
        }
        while let head = queue.first, limit.map({ head.release <= $0 }) ?? true {
            queue.removeFirst()
            if case .data(let bytes) = head.event {
                queuedBytes -= bytes.readableBytes
                fired = true
            } else if fired {
                context.fireChannelReadComplete()
                fired = false
            }
            fire(head.event, context: context)
        }
        if fired { context.fireChannelReadComplete() }
        if queue.isEmpty { lastRelease = .uptimeNanoseconds(0) }
        if readPending && queuedBytes <= highWaterMark / 2 {
            readPending = false
            context.read()
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }

    // MARK: - Outbound: reads and replies

    public func read(context: ChannelHandlerContext) {
        if queuedBytes > highWaterMark {
            readPending = true
        } else {
            context.read()
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard injects, !pairingLost else {
            context.write(data, promise: promise)
            return
        }
        let chunk = unwrapOutboundIn(data)
        let heldBefore = replyAccumulator.readableBytes
        replyAccumulator.writeImmutableBuffer(chunk)
        var consumed = 0
        var written = 0
        do {
            while let frame = try replyParser.next(&replyAccumulator) {
                consumed += frame.bytes.readableBytes
                if frame.isPush { continue }
                if case .server = slots.first { slots.removeFirst() }
                guard case .injected = slots.first else { continue }
                let upTo = consumed - heldBefore
                context.write(wrapOutboundOut(chunk.getSlice(at: chunk.readerIndex + written, length: upTo - written)!), promise: nil)
                written = upTo
                while case .injected(let bytes) = slots.first {
                    slots.removeFirst()
                    context.write(wrapOutboundOut(bytes), promise: nil)
                }
            }
            replyAccumulator.discardReadBytes()
        } catch {
            losePairing(context: context, flush: false)
        }
        let rest = chunk.getSlice(at: chunk.readerIndex + written, length: chunk.readableBytes - written)!
        context.write(wrapOutboundOut(rest), promise: promise)
    }

    private func noteForwarded(_ frame: WireFrame) {
        guard injects, !pairingLost, direction == .upstream else { return }
        switch frame.expectedReplies {
        case .none: if let context { losePairing(context: context, flush: true) }
        case .some(0): break
        case .some: slots.append(.server)
        }
    }

    private func inject(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        if pairingLost || slots.isEmpty {
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        } else {
            slots.append(.injected(bytes))
        }
    }

    private func losePairing(context: ChannelHandlerContext, flush: Bool) {
        pairingLost = true
        replyAccumulator = ByteBuffer()
        while let slot = slots.popFirst() {
            if case .injected(let bytes) = slot { context.write(wrapOutboundOut(bytes), promise: nil) }
        }
        if flush { context.flush() }
    }

    // MARK: - Removal

    public func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        cancelTimer()
        // The contract: everything held is passed on at once, in order.
        if accumulator.readableBytes > 0 {
            enqueue(.data(accumulator), at: .distantPast)
            accumulator = ByteBuffer()
        }
        release(context: context, upTo: nil)
        if injects && !pairingLost { losePairing(context: context, flush: true) }
        if readPending {
            readPending = false
            context.read()
        }
        context.leavePipeline(removalToken: removalToken)
    }
}

@available(*, unavailable)
extension FrameStageHandler: Sendable {}
