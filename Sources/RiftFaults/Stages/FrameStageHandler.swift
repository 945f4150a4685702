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
    /// The request goes on, and a byte-identical copy follows it to the server this much
    /// later; the server's reply to the copy is swallowed (see `ReplayConfig`).
    case replay(after: TimeAmount)
    /// Server-to-client only: matching pushes are held until `window` after the first of
    /// them, or until `count` are held (0: no count), then released in a seeded shuffle.
    case shuffle(window: TimeAmount, count: Int)
    /// Client-to-server only: the request, and everything behind it on this connection, waits
    /// until `by` matching requests from other connections have been answered, or `maxHold`.
    case overtake(by: Int, maxHold: TimeAmount, coordinator: OvertakeCoordinator)
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
/// `.shuffle` releases held pushes in a shuffled order (replies overtake them); `.overtake`
/// holds a request and the requests behind it until an `OvertakeCoordinator` shared by the
/// proxy's connections says enough others were answered; `.replay` adds byte-identical
/// copies of requests between frames and swallows their replies (see `ReorderConfig`,
/// `ReplayConfig`). Nothing else is reordered, and no client byte is ever dropped or altered.
///
/// For `.reply`, the stage also watches the replies the glue writes back through it to the
/// client, parses them, and inserts each injected reply after the replies to the requests
/// forwarded before it (`.replay` removes the replies to its copies the same way, holding a
/// partial reply only when it is one to remove; `.overtake` counts answers). Requests whose
/// reply count cannot be known (subscriptions, `MONITOR`, `CLIENT REPLY`, memcached meta quiet
/// mode), an unparsable reply stream, or removal end the pairing: pending and later injected
/// replies are written at once, and no further copies are replayed.
public final class FrameStageHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum Event {
        case data(ByteBuffer)
        case inputClosed
        case inactive
        /// An injected copy of a request (`.replay`); its reply is swallowed when one comes.
        case replay(ByteBuffer, expectsReply: Bool)
    }

    private struct Item {
        var release: NIODeadline
        var event: Event
    }

    /// Most frames a stage holds for `.replay` copies and `.shuffle` batches.
    public static let maxHeldFrames = 1024
    /// How long a removed `.replay` stage stays to swallow the replies its copies still owe.
    public static let removalGrace: TimeAmount = .seconds(5)

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
    private var timer = EarliestTimer()
    private var readPending = false
    private var context: ChannelHandlerContext?

    private var replies: ReplyPairing

    private var pendingReplays = 0
    private var batch: [ByteBuffer] = []
    private var batchDeadline: NIODeadline?
    private var holdID: UInt64?
    private var holdDeadline: NIODeadline?
    private let connectionID: UInt64
    /// Set while a removed stage waits for the replies to its copies.
    private var leaving: ChannelHandlerContext.RemovalToken?
    private var leaveTimer: Scheduled<Void>?

    public init(match: FrameMatch, effect: FrameEffect, environment: FaultStageEnvironment, highWaterMark: Int = 1 << 20) {
        self.match = match
        self.effect = effect
        self.direction = environment.direction
        self.random = environment.random
        self.highWaterMark = highWaterMark
        self.connectionID = environment.connectionID
        parser = WireFrameParser(protocol: match.wireProtocol, role: environment.direction == .upstream ? .request : .reply)
        replies = ReplyPairing(protocol: match.wireProtocol)
    }

    /// Bytes of complete frames the stage holds (for tests and metrics).
    public var heldBytes: Int { queuedBytes }
    /// Injected replies waiting for the replies ahead of them.
    public var pendingInjectedReplies: Int { replies.pendingInjected }

    /// Replies to a replayed copy not yet swallowed.
    public var pendingSwallows: Int { replies.pendingSwallows }
    /// Copies scheduled and not yet sent.
    public var scheduledReplays: Int { pendingReplays }
    /// Whether this connection holds a request for `.overtake`.
    public var isHolding: Bool { holdID != nil }

    /// Effects that follow the replies written back through the stage.
    private var tracksReplies: Bool {
        switch effect {
        case .reply, .replay, .overtake: return direction == .upstream
        case .drop, .delay, .shuffle: return false
        }
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        leaveTimer?.cancel()
        leaveTimer = nil
        endHold()
        self.context = nil
    }

    // MARK: - Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let now = context.eventLoop.now
        if leaving != nil {
            context.fireChannelRead(data)
            return
        }
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
        if leaving != nil {
            fire(event, context: context)
            return
        }
        releaseBatch(context: context)
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
            noteForwarded(frame, notifies: match.matches(frame))
            return
        }
        framesAffected += 1
        switch effect {
        case .replay where direction == .downstream, .overtake where direction == .downstream, .shuffle where direction == .upstream:
            // Each works on one side only (its config installs it there): elsewhere frames pass.
            framesAffected -= 1
            forward(frame.bytes, at: now, context: context)
        case .replay(let after):
            forward(frame.bytes, at: now, context: context)
            noteForwarded(frame, notifies: false)
            // A copy whose reply count is unknown could not be swallowed: it is not sent.
            guard !replies.isLost, let expected = frame.expectedReplies, pendingReplays < Self.maxHeldFrames else { return }
            pendingReplays += 1
            side.append(Item(release: now + after, event: .replay(frame.bytes, expectsReply: expected > 0)))
        case .shuffle(let window, let count):
            queuedBytes += frame.bytes.readableBytes
            batch.append(frame.bytes)
            if batchDeadline == nil { batchDeadline = now + window }
            if (count > 0 && batch.count >= count) || batch.count >= Self.maxHeldFrames { releaseBatch(context: context) }
        case .overtake(let by, let maxHold, let coordinator):
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let loop = context.eventLoop
            let id = holdID == nil && queue.isEmpty
                ? coordinator.hold(connectionID: connectionID, overtakers: by) { id in loop.execute { bound.value.overtaken(id) } }
                : nil
            guard let id else {
                // Another connection holds (or this one does): this request passes and may overtake.
                framesAffected -= 1
                forward(frame.bytes, at: now, context: context)
                noteForwarded(frame, notifies: true)
                return
            }
            holdID = id
            holdDeadline = now + maxHold
            enqueue(.data(frame.bytes), at: now + maxHold)
            noteForwarded(frame, notifies: false)
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
        case .replay(let bytes, let expectsReply):
            pendingReplays -= 1
            if expectsReply {
                // Without pairing the reply could not be told apart: no copy.
                guard tracksReplies, !replies.isLost else { return }
                replies.expect(.swallow)
            }
            context.fireChannelRead(wrapInboundOut(bytes))
        }
    }

    // MARK: - Shuffled pushes and overtaking

    /// Passes the held pushes on, in a seeded shuffle.
    private func releaseBatch(context: ChannelHandlerContext) {
        batchDeadline = nil
        guard !batch.isEmpty else { return }
        var out = batch
        batch = []
        out.shuffle(using: &random)
        for bytes in out {
            queuedBytes -= bytes.readableBytes
            context.fireChannelRead(wrapInboundOut(bytes))
        }
        context.fireChannelReadComplete()
    }

    /// The coordinator says enough requests from other connections were answered.
    private func overtaken(_ id: UInt64) {
        guard holdID == id, let context else { return }
        endHold()
        let now = context.eventLoop.now
        for i in queue.indices { queue[i].release = min(queue[i].release, now) }
        lastRelease = now
        release(context: context, upTo: now)
        scheduleRelease(context: context)
    }

    private func endHold() {
        guard let id = holdID else { return }
        holdID = nil
        holdDeadline = nil
        if case .overtake(_, _, let coordinator) = effect { coordinator.release(id) }
    }

    // MARK: - Held frames

    private func enqueue(_ event: Event, at requested: NIODeadline) {
        let release = max(requested, lastRelease)
        lastRelease = release
        if case .data(let bytes) = event { queuedBytes += bytes.readableBytes }
        queue.append(Item(release: release, event: event))
    }

    private func nextDeadline() -> NIODeadline? {
        [queue.first?.release, side.map(\.release).min(), batchDeadline].compactMap { $0 }.min()
    }

    private func scheduleRelease(context: ChannelHandlerContext) {
        guard let deadline = nextDeadline() else { return }
        timer.arm(at: deadline, on: context.eventLoop) { [weak self] in
            guard let self, let context = self.context else { return }
            self.timer.fired()
            self.release(context: context, upTo: context.eventLoop.now)
            self.scheduleRelease(context: context)
        }
    }

    /// Passes on every held event due by `limit` (everything when nil): overtaking pushes first.
    private func release(context: ChannelHandlerContext, upTo limit: NIODeadline?) {
        if let deadline = batchDeadline, limit.map({ deadline <= $0 }) ?? true { releaseBatch(context: context) }
        if let deadline = holdDeadline, limit.map({ deadline <= $0 }) ?? true { endHold() }
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

    private func cancelTimer() { timer.cancel() }

    // MARK: - Outbound: reads and replies

    public func read(context: ChannelHandlerContext) {
        if queuedBytes > highWaterMark {
            readPending = true
        } else {
            context.read()
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard tracksReplies, !replies.isLost else {
            context.write(data, promise: promise)
            return
        }
        let (out, answered) = replies.pass(unwrapOutboundIn(data))
        if out.isEmpty {
            promise?.succeed(())
        } else {
            for (i, bytes) in out.enumerated() {
                context.write(wrapOutboundOut(bytes), promise: i == out.count - 1 ? promise : nil)
            }
        }
        if answered > 0, case .overtake(_, _, let coordinator) = effect {
            for _ in 0..<answered { coordinator.passed(from: connectionID) }
        }
        if let token = leaving, replies.pendingSwallows == 0 {
            leave(context: context, token: token)
        }
    }

    private func noteForwarded(_ frame: WireFrame, notifies: Bool) {
        guard tracksReplies, !replies.isLost else {
            if notifies, case .overtake(_, _, let coordinator) = effect { coordinator.passed(from: connectionID) }
            return
        }
        switch frame.expectedReplies {
        case .none: if let context { losePairing(context: context, flush: true) }
        case .some(0):
            if notifies, case .overtake(_, _, let coordinator) = effect { coordinator.passed(from: connectionID) }
        case .some: replies.expect(.server(notifies: notifies))
        }
    }

    private func inject(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        if replies.isLost || replies.isEmpty {
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        } else {
            replies.expect(.injected(bytes))
        }
    }

    private func losePairing(context: ChannelHandlerContext, flush: Bool) {
        for bytes in replies.lose() { context.write(wrapOutboundOut(bytes), promise: nil) }
        if flush { context.flush() }
    }

    // MARK: - Removal

    public func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        cancelTimer()
        endHold()
        // Copies not yet sent are not the client's bytes: they are dropped, not sent early.
        side.removeAll { if case .replay = $0.event { return true } else { return false } }
        pendingReplays = 0
        // The contract: everything held is passed on at once, in order.
        if accumulator.readableBytes > 0 {
            enqueue(.data(accumulator), at: .distantPast)
            accumulator = ByteBuffer()
        }
        release(context: context, upTo: nil)
        if readPending {
            readPending = false
            context.read()
        }
        // Replies to copies already sent must still be swallowed, or the client's replies
        // would shift by one: the stage stays (passing requests straight on) until they
        // came, or for `removalGrace` at most.
        if pendingSwallows > 0 && !replies.isLost {
            leaving = removalToken
            leaveTimer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.removalGrace) { [weak self] in
                guard let self, let context = self.context, let token = self.leaving else { return }
                self.leave(context: context, token: token)
            }
            return
        }
        leave(context: context, token: removalToken)
    }

    private func leave(context: ChannelHandlerContext, token: ChannelHandlerContext.RemovalToken) {
        leaving = nil
        leaveTimer?.cancel()
        leaveTimer = nil
        if tracksReplies && !replies.isLost { losePairing(context: context, flush: true) }
        context.leavePipeline(removalToken: token)
    }
}

@available(*, unavailable)
extension FrameStageHandler: Sendable {}
