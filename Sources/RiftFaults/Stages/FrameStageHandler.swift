import NIOCore
import RiftCore
import RiftWire

/// What a frame policy decides for one frame its match selected.
public enum FrameAction: Sendable {
    /// The frame passes on in order, as if unmatched. `affected`: it counts toward
    /// `framesAffected` (and `limit`); `notifies`: its answer counts for `reorder`'s overtaking.
    case pass(affected: Bool, notifies: Bool)
    /// The frame never reaches the other side.
    case drop
    /// The frame waits until the deadline, in order: what comes behind it waits too.
    case hold(until: NIODeadline)
    /// The frame waits until the deadline aside: frames behind it overtake it.
    case holdAside(until: NIODeadline)
    /// The request is not forwarded; these bytes go back to the client in the place its reply
    /// would have had among the replies to pipelined requests.
    case answer(ByteBuffer)
    /// The request goes on, and a byte-identical copy follows it at the deadline; the
    /// server's reply to the copy is swallowed.
    case passAndCopy(at: NIODeadline)
    /// The policy keeps the frame (`releaseHeld` gives it back); `releaseNow`: at once.
    case keep(releaseNow: Bool)
}

/// The pure part of a frame stage: what happens to the frames its match selects. A policy
/// never touches a channel; `FrameStageHandler` parses the stream, runs the policy and keeps
/// the stage contract (order, EOF, backpressure, reply pairing, removal) for every policy.
/// Each frame fault's file holds its config and its policy, as the timed stages do.
public protocol FramePolicy {
    /// Whether the stage follows the replies written back through it to the client (to
    /// place injected replies, swallow the replies to copies, or count answers).
    var tracksReplies: Bool { get }
    /// Decides for one selected frame read at `now`. `queueIsEmpty`: nothing waits in order
    /// ahead of it. Every random draw comes from `random`, the stage's seeded source.
    mutating func decide(_ frame: WireFrame, now: NIODeadline, queueIsEmpty: Bool,
                         random: inout SeededRandom) -> FrameAction
    /// When the frames the policy keeps (`.keep`) are due, or nil.
    var heldDeadline: NIODeadline? { get }
    /// The frames the policy keeps, in the order they go out; it keeps none after.
    mutating func releaseHeld(random: inout SeededRandom) -> [ByteBuffer]
    /// Time reached `limit`: a hold of the policy's own that is due ends.
    mutating func timePassed(upTo limit: NIODeadline)
    /// The stage leaves the pipeline: every hold of the policy's own ends.
    mutating func stop()
    /// `count` matching requests of this connection were answered (or sent, untracked).
    mutating func answered(_ count: Int)
    /// A wake-up a policy asked for through the closure given to `attach`: whether it was
    /// still due (then everything queued is released at once).
    mutating func woken(_ id: UInt64) -> Bool
    /// Gives the policy a way to wake its stage from any thread (on the stage's event loop).
    mutating func attach(wake: @escaping @Sendable (UInt64) -> Void)
    /// Whether the policy holds this connection's requests for other connections.
    var isHolding: Bool { get }
}

extension FramePolicy {
    public var heldDeadline: NIODeadline? { nil }
    public mutating func releaseHeld(random: inout SeededRandom) -> [ByteBuffer] { [] }
    public mutating func timePassed(upTo limit: NIODeadline) {}
    public mutating func stop() {}
    public mutating func answered(_ count: Int) {}
    public mutating func woken(_ id: UInt64) -> Bool { false }
    public mutating func attach(wake: @escaping @Sendable (UInt64) -> Void) {}
    public var isHolding: Bool { false }
}

/// What a frame stage does to a frame its match selects: the frame faults' policies as
/// values, for callers that pick one at run time (the tests). Each names its policy.
public enum FrameEffect: Sendable, Equatable {
    /// `DropFramePolicy`.
    case drop
    /// `DelayFramePolicy`.
    case delay(TimeAmount)
    /// `ErrorReplyPolicy`.
    case reply(ByteBuffer)
    /// `ReplayPolicy`.
    case replay(after: TimeAmount)
    /// `ShufflePushesPolicy`.
    case shuffle(window: TimeAmount, count: Int)
    /// `OvertakePolicy`.
    case overtake(by: Int, maxHold: TimeAmount, coordinator: OvertakeCoordinator)

    func policy(_ environment: FaultStageEnvironment) -> any FramePolicy {
        let direction = environment.direction
        switch self {
        case .drop: return DropFramePolicy()
        case .delay(let amount): return DelayFramePolicy(delay: amount, direction: direction)
        case .reply(let bytes): return ErrorReplyPolicy(reply: bytes, direction: direction)
        case .replay(let after): return ReplayPolicy(after: after, direction: direction)
        case .shuffle(let window, let count): return ShufflePushesPolicy(window: window, count: count, direction: direction)
        case .overtake(let by, let maxHold, let coordinator):
            return OvertakePolicy(by: by, maxHold: maxHold, coordinator: coordinator,
                                  connectionID: environment.connectionID, direction: direction)
        }
    }
}

/// Sent up the pipeline once when a frame stage stops following the protocol and starts
/// forwarding bytes unparsed (see `FrameStageHandler.fallbackError`).
public struct FrameStageFellBack: Sendable, Equatable {
    public var error: WireParseError
}

/// Runs a frame fault's `FramePolicy` on one direction of one connection.
///
/// Like the byte stages it sits on the channel that reads the bytes, before the glue. It
/// parses the stream into frames (requests upstream, replies and pushes downstream) and
/// passes each complete frame on, unless the match selects it for the policy. A partial
/// frame is held until it is complete (at most `WireFrameParser.limits.maxFrameBytes`).
///
/// The stage contract holds: order is kept except for frames held aside (delayed pushes),
/// which may be overtaken, and frames a policy keeps (shuffled pushes); EOF and inactivity
/// wait behind all held data; removal passes everything held on at once (delayed frames,
/// then the partial frame; undelivered injected replies are written); above `highWaterMark`
/// held bytes the stage stops forwarding `read()`.
///
/// When the stream cannot be parsed (malformed input, or a frame above the limit, or a
/// stage added mid-frame) the stage forwards every byte from there on unparsed, sets
/// `fallbackError` and sends `FrameStageFellBack` up the pipeline once. A stage added to a
/// live connection assumes it starts at a frame boundary (true of an idle connection);
/// mid-frame, RESP requests mostly resynchronise through inline parsing, replies fall back.
///
/// For a policy that tracks replies, the stage also watches the replies the glue writes
/// back through it to the client, parses them, and inserts each injected reply after the
/// replies to the requests forwarded before it (copies' replies are removed the same way,
/// holding a partial reply only when it is one to remove; answers are counted for the
/// policy). Requests whose reply count cannot be known (subscriptions, `MONITOR`,
/// `CLIENT REPLY`, memcached meta quiet mode), an unparsable reply stream, or removal end
/// the pairing: pending and later injected replies are written at once, and no further
/// copies are sent. No client byte is ever altered.
public final class FrameStageHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum Event {
        case data(ByteBuffer)
        case inputClosed
        case inactive
        /// An injected copy of a request (`.passAndCopy`); its reply is swallowed when one comes.
        case copy(ByteBuffer, expectsReply: Bool)
    }

    private struct Item {
        var release: NIODeadline
        var event: Event
    }

    /// Most frames a stage holds for copies and for frames a policy keeps.
    public static let maxHeldFrames = 1024
    /// How long a removed stage stays to swallow the replies its copies still owe.
    public static let removalGrace: TimeAmount = .seconds(5)

    private let match: FrameMatch
    private var policy: any FramePolicy
    private let tracksReplies: Bool
    private var random: SeededRandom
    private let highWaterMark: Int

    private var parser: WireFrameParser
    private var accumulator = ByteBuffer()
    public private(set) var fallbackError: WireParseError?
    /// Frames the policy was applied to.
    public private(set) var framesAffected: Int64 = 0

    /// Held in order (delays, holds, and the end of the stream behind them).
    private var queue = CircularBuffer<Item>(initialCapacity: 8)
    /// Held aside (overtakable frames, copies), released by time alone.
    private var side: [Item] = []
    private var lastRelease = NIODeadline.uptimeNanoseconds(0)
    private var queuedBytes = 0
    private var timer = EarliestTimer()
    private var readPending = false
    private var context: ChannelHandlerContext?

    private var replies: ReplyPairing
    private var pendingCopies = 0
    /// Set while a removed stage waits for the replies to its copies.
    private var leaving: ChannelHandlerContext.RemovalToken?
    private var leaveTimer: Scheduled<Void>?

    public init(match: FrameMatch, policy: any FramePolicy, environment: FaultStageEnvironment, highWaterMark: Int = 1 << 20) {
        self.match = match
        self.policy = policy
        self.tracksReplies = policy.tracksReplies
        self.random = environment.random
        self.highWaterMark = highWaterMark
        parser = WireFrameParser(protocol: match.wireProtocol, role: environment.direction == .upstream ? .request : .reply)
        replies = ReplyPairing(protocol: match.wireProtocol)
    }

    public convenience init(match: FrameMatch, effect: FrameEffect, environment: FaultStageEnvironment, highWaterMark: Int = 1 << 20) {
        self.init(match: match, policy: effect.policy(environment), environment: environment, highWaterMark: highWaterMark)
    }

    /// Bytes of complete frames the stage holds (for tests and metrics).
    public var heldBytes: Int { queuedBytes }
    /// Injected replies waiting for the replies ahead of them.
    public var pendingInjectedReplies: Int { replies.pendingInjected }

    /// Replies to a copy not yet swallowed.
    public var pendingSwallows: Int { replies.pendingSwallows }
    /// Copies scheduled and not yet sent.
    public var scheduledReplays: Int { pendingCopies }
    /// Whether this connection holds a request for other connections (`reorder` upstream).
    public var isHolding: Bool { policy.isHolding }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(WeakStage(self), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        policy.attach { id in loop.execute { bound.value.stage?.woken(id) } }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        leaveTimer?.cancel()
        leaveTimer = nil
        policy.stop()
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
        releaseKept(context: context)
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
        switch policy.decide(frame, now: now, queueIsEmpty: queue.isEmpty, random: &random) {
        case .pass(let affected, let notifies):
            if !affected { framesAffected -= 1 }
            forward(frame.bytes, at: now, context: context)
            noteForwarded(frame, notifies: notifies)
        case .drop:
            break
        case .hold(let until):
            enqueue(.data(frame.bytes), at: until)
            noteForwarded(frame, notifies: false)
        case .holdAside(let until):
            queuedBytes += frame.bytes.readableBytes
            side.append(Item(release: until, event: .data(frame.bytes)))
        case .answer(let bytes):
            inject(bytes, context: context)
        case .passAndCopy(let at):
            forward(frame.bytes, at: now, context: context)
            noteForwarded(frame, notifies: false)
            // A copy whose reply count is unknown could not be swallowed: it is not sent.
            guard !replies.isLost, let expected = frame.expectedReplies, pendingCopies < Self.maxHeldFrames else { return }
            pendingCopies += 1
            side.append(Item(release: at, event: .copy(frame.bytes, expectsReply: expected > 0)))
        case .keep(let releaseNow):
            queuedBytes += frame.bytes.readableBytes
            if releaseNow { releaseKept(context: context) }
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
        case .copy(let bytes, let expectsReply):
            pendingCopies -= 1
            if expectsReply {
                // Without pairing the reply could not be told apart: no copy.
                guard tracksReplies, !replies.isLost else { return }
                replies.expect(.swallow)
            }
            context.fireChannelRead(wrapInboundOut(bytes))
        }
    }

    /// Passes on the frames the policy keeps, in the order it gives them.
    private func releaseKept(context: ChannelHandlerContext) {
        let out = policy.releaseHeld(random: &random)
        guard !out.isEmpty else { return }
        for bytes in out {
            queuedBytes -= bytes.readableBytes
            context.fireChannelRead(wrapInboundOut(bytes))
        }
        context.fireChannelReadComplete()
    }

    /// The policy's wake-up (another connection's answers ended a hold).
    private func woken(_ id: UInt64) {
        guard let context, policy.woken(id) else { return }
        let now = context.eventLoop.now
        for i in queue.indices { queue[i].release = min(queue[i].release, now) }
        lastRelease = now
        release(context: context, upTo: now)
        scheduleRelease(context: context)
    }

    // MARK: - Held frames

    private func enqueue(_ event: Event, at requested: NIODeadline) {
        let release = max(requested, lastRelease)
        lastRelease = release
        if case .data(let bytes) = event { queuedBytes += bytes.readableBytes }
        queue.append(Item(release: release, event: event))
    }

    private func nextDeadline() -> NIODeadline? {
        [queue.first?.release, side.map(\.release).min(), policy.heldDeadline].compactMap { $0 }.min()
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

    /// Passes on every held event due by `limit` (everything when nil): overtaking frames first.
    private func release(context: ChannelHandlerContext, upTo limit: NIODeadline?) {
        if let deadline = policy.heldDeadline, limit.map({ deadline <= $0 }) ?? true { releaseKept(context: context) }
        if let limit { policy.timePassed(upTo: limit) }
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
        if answered > 0 { policy.answered(answered) }
        if let token = leaving, replies.pendingSwallows == 0 {
            leave(context: context, token: token)
        }
    }

    private func noteForwarded(_ frame: WireFrame, notifies: Bool) {
        guard tracksReplies, !replies.isLost else {
            if notifies { policy.answered(1) }
            return
        }
        switch frame.expectedReplies {
        case .none: if let context { losePairing(context: context, flush: true) }
        case .some(0):
            if notifies { policy.answered(1) }
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
        policy.stop()
        // Copies not yet sent are not the client's bytes: they are dropped, not sent early.
        side.removeAll { if case .copy = $0.event { return true } else { return false } }
        pendingCopies = 0
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

/// The stage as a policy's wake-up closure sees it: weakly, so a hold the coordinator keeps
/// does not keep a removed stage alive.
private final class WeakStage {
    weak var stage: FrameStageHandler?
    init(_ stage: FrameStageHandler) { self.stage = stage }
}
