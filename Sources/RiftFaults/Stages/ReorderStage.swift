import NIOCore
import RiftCore
import Synchronization

/// `reorder`: matching frames leave in another order than they came.
///
/// Downstream (server to client), matching pushes (pub/sub messages, RESP3 `invalidate`)
/// are held from the first one for `window_ms`, or until `count` are held (0: no count; at
/// most `FrameStageHandler.maxHeldFrames`), then released together in a shuffle drawn from
/// the stage's seeded source. Replies and non-matching pushes are never held: they overtake
/// the held pushes. A client that pairs replies with requests is unaffected.
///
/// Upstream (client to server), a matching request is held until `overtake` matching
/// requests from other connections of the same proxy (through stages of this fault) have
/// been answered by the server, or for `max_hold_ms` at most: a fill overtaken by a delete,
/// or the reverse. Replies stay paired because a connection's requests keep their order:
/// the requests pipelined behind a held request on its connection are held with it. One
/// request per fault and proxy is held at a time (so two connections never wait on each
/// other); a matching request that comes while another is held passes and counts. Counting
/// answers, not sends, means the overtaking request has taken effect on the server before
/// the held one is sent, whatever the event loops do. A request whose answer count is
/// unknown (subscriptions, meta quiet mode) ends reply tracking on its connection: from
/// there its matching requests count when they are sent.
///
/// Bytes are never changed, dropped or duplicated, only delayed; EOF waits behind held
/// frames; removal passes everything held on at once (a shuffle batch in its shuffled order).
/// Match attributes: see `FrameMatch`.
public struct ReorderConfig: FaultStageConfig {
    public static let type = "reorder"
    public static let attributeNames = ["window_ms", "count", "overtake", "max_hold_ms"] + FrameMatch.attributeNames

    public var match: FrameMatch
    public var windowMs: Int64
    public var count: Int64
    public var overtake: Int64
    public var maxHoldMs: Int64

    public init(windowMs: Int64 = 100, count: Int64 = 0, overtake: Int64 = 1, maxHoldMs: Int64 = 1000, match: FrameMatch) {
        self.windowMs = windowMs
        self.count = count
        self.overtake = overtake
        self.maxHoldMs = maxHoldMs
        self.match = match
    }

    public init(attributes: FaultAttributes) throws(FaultConfigError) {
        let r = AttributeReader(attributes)
        windowMs = try r.int("window_ms", default: 100, range: 0...60_000)
        count = try r.int("count", default: 0, range: 0...Int64(FrameStageHandler.maxHeldFrames))
        overtake = try r.int("overtake", default: 1, range: 1...10_000)
        maxHoldMs = try r.int("max_hold_ms", default: 1000, range: 1...60_000)
        match = try FrameMatch(attributes: attributes)
    }

    public var attributes: FaultAttributes {
        var all = match.attributes
        all["window_ms"] = .int(windowMs)
        all["count"] = .int(count)
        all["overtake"] = .int(overtake)
        all["max_hold_ms"] = .int(maxHoldMs)
        return all
    }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        let policy: any FramePolicy
        switch environment.direction {
        case .downstream:
            policy = ShufflePushesPolicy(window: .milliseconds(windowMs), count: Int(count), direction: .downstream)
        case .upstream:
            policy = OvertakePolicy(by: Int(overtake), maxHold: .milliseconds(maxHoldMs),
                                    coordinator: environment.shared.overtakeCoordinator(for: environment.faultName),
                                    connectionID: environment.connectionID, direction: .upstream)
        }
        return FrameStageHandler(match: match, policy: policy, environment: environment)
    }
}

/// `reorder` downstream: selected pushes are kept from the first one for `window`, or until
/// `count` are kept (0: no count; at most `FrameStageHandler.maxHeldFrames`), then released
/// together in a shuffle drawn from the stage's seeded source. Upstream frames pass.
public struct ShufflePushesPolicy: FramePolicy {
    public let window: TimeAmount
    public let count: Int
    public let direction: StreamDirection
    private var batch: [ByteBuffer] = []
    private var deadline: NIODeadline?

    public init(window: TimeAmount, count: Int, direction: StreamDirection) {
        self.window = window
        self.count = count
        self.direction = direction
    }

    public var tracksReplies: Bool { false }

    public mutating func decide(_ frame: WireFrame, now: NIODeadline, queueIsEmpty: Bool,
                                random: inout SeededRandom) -> FrameAction {
        guard direction == .downstream else { return .pass(affected: false, notifies: false) }
        batch.append(frame.bytes)
        if deadline == nil { deadline = now + window }
        let full = (count > 0 && batch.count >= count) || batch.count >= FrameStageHandler.maxHeldFrames
        return .keep(releaseNow: full)
    }

    public var heldDeadline: NIODeadline? { deadline }

    public mutating func releaseHeld(random: inout SeededRandom) -> [ByteBuffer] {
        deadline = nil
        guard !batch.isEmpty else { return [] }
        var out = batch
        batch = []
        out.shuffle(using: &random)
        return out
    }
}

/// `reorder` upstream: a selected request, and everything behind it on its connection, waits
/// until `by` matching requests from other connections were answered, or `maxHold`. One hold
/// per fault and proxy at a time (`OvertakeCoordinator`): a request selected while another
/// is held passes, and its answer counts. Downstream frames pass.
public struct OvertakePolicy: FramePolicy {
    public let by: Int
    public let maxHold: TimeAmount
    public let coordinator: OvertakeCoordinator
    public let connectionID: UInt64
    public let direction: StreamDirection
    private var holdID: UInt64?
    private var holdDeadline: NIODeadline?
    private var wake: (@Sendable (UInt64) -> Void)?

    public init(by: Int, maxHold: TimeAmount, coordinator: OvertakeCoordinator, connectionID: UInt64, direction: StreamDirection) {
        self.by = by
        self.maxHold = maxHold
        self.coordinator = coordinator
        self.connectionID = connectionID
        self.direction = direction
    }

    public var tracksReplies: Bool { direction == .upstream }

    public mutating func attach(wake: @escaping @Sendable (UInt64) -> Void) { self.wake = wake }

    public mutating func decide(_ frame: WireFrame, now: NIODeadline, queueIsEmpty: Bool,
                                random: inout SeededRandom) -> FrameAction {
        guard direction == .upstream else { return .pass(affected: false, notifies: false) }
        let id = holdID == nil && queueIsEmpty
            ? coordinator.hold(connectionID: connectionID, overtakers: by, wake: wake ?? { _ in })
            : nil
        guard let id else {
            // Another connection holds (or this one does): this request passes and may overtake.
            return .pass(affected: false, notifies: true)
        }
        holdID = id
        holdDeadline = now + maxHold
        return .hold(until: now + maxHold)
    }

    public mutating func timePassed(upTo limit: NIODeadline) {
        if let deadline = holdDeadline, deadline <= limit { stop() }
    }

    public mutating func stop() {
        guard let id = holdID else { return }
        holdID = nil
        holdDeadline = nil
        coordinator.release(id)
    }

    public mutating func answered(_ count: Int) {
        for _ in 0..<count { coordinator.passed(from: connectionID) }
    }

    public mutating func woken(_ id: UInt64) -> Bool {
        guard holdID == id else { return false }
        stop()
        return true
    }

    public var isHolding: Bool { holdID != nil }
}

/// The meeting point of one `reorder` fault's upstream stages across a proxy's connections,
/// which run on different event loops: a lock guards one hold at a time, and the holder is
/// woken through its own event loop (the `wake` closure hops there).
public final class OvertakeCoordinator: Sendable, Equatable {
    private struct Hold {
        var id: UInt64
        var connectionID: UInt64
        var remaining: Int
        var wake: @Sendable (UInt64) -> Void
    }
    private struct State {
        var nextID: UInt64 = 1
        var hold: Hold?
    }
    private let state = Mutex(State())

    public init() {}

    public static func == (a: OvertakeCoordinator, b: OvertakeCoordinator) -> Bool { a === b }

    /// Starts a hold for `connectionID` unless one is on: its id, or nil.
    func hold(connectionID: UInt64, overtakers: Int, wake: @escaping @Sendable (UInt64) -> Void) -> UInt64? {
        state.withLock { s in
            guard s.hold == nil else { return nil }
            let id = s.nextID
            s.nextID += 1
            s.hold = Hold(id: id, connectionID: connectionID, remaining: overtakers, wake: wake)
            return id
        }
    }

    /// A matching request from `connectionID` was answered; wakes the holder when it was the last one needed.
    func passed(from connectionID: UInt64) {
        let woken: (@Sendable (UInt64) -> Void, UInt64)? = state.withLock { s in
            guard var hold = s.hold, hold.connectionID != connectionID else { return nil }
            hold.remaining -= 1
            guard hold.remaining <= 0 else {
                s.hold = hold
                return nil
            }
            s.hold = nil
            return (hold.wake, hold.id)
        }
        if let (wake, id) = woken { wake(id) }
    }

    /// Ends hold `id` (timed out, removed) if it is still on.
    func release(_ id: UInt64) {
        state.withLock { s in
            if s.hold?.id == id { s.hold = nil }
        }
    }

    /// Whether a hold is on (for tests).
    public var isHolding: Bool { state.withLock { $0.hold != nil } }
}
