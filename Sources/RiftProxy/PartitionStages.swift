import NIOCore
import RiftFaults

/// How a partition cuts a link.
public enum PartitionMode: String, Sendable, CaseIterable, Codable {
    /// Bytes stop flowing (held, as a silent network holds a TCP sender); they flow again on heal.
    case blackhole
    /// Connections across the cut are reset, and new ones are reset as soon as they are made.
    case reset
    /// New connections are refused (the link's listener closes) and live ones are reset.
    case refuse
}

/// The stage a blackhole partition puts on each direction it cuts: everything is held until
/// heal removes the stage, then passed on in order.
struct PartitionHoldConfig: FaultStageConfig {
    static let type = "partition_blackhole"
    static let attributeNames: [String] = []
    init() {}
    init(attributes: FaultAttributes) throws(FaultConfigError) {}
    var attributes: FaultAttributes { [:] }
    func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        TimedStageHandler(policy: HoldPolicy())
    }

    struct HoldPolicy: StagePolicy {
        mutating func transform(_ buffer: ByteBuffer, now: NIODeadline, into actions: inout [StageAction]) {
            actions.append(.holdUntilRemoved(buffer))
        }
        mutating func endOfStreamRelease(now: NIODeadline) -> NIODeadline { .distantFuture }
    }
}

/// The stage a reset or refuse partition puts on the links it cuts: it resets the connection
/// the moment it meets it; `refuse` also closes the listener.
struct PartitionResetConfig: FaultStageConfig {
    static let type = "partition_reset"
    static let attributeNames: [String] = []
    var refuse: Bool
    init(refuse: Bool) { self.refuse = refuse }
    init(attributes: FaultAttributes) throws(FaultConfigError) { refuse = false }
    var attributes: FaultAttributes { [:] }
    var listenerEffect: ListenerEffect { refuse ? .refuseNew : .none }
    func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        TimedStageHandler(policy: ResetPolicy())
    }

    struct ResetPolicy: StagePolicy {
        mutating func transform(_ buffer: ByteBuffer, now: NIODeadline, into actions: inout [StageAction]) {
            actions.append(.drop(buffer))
        }
        mutating func timedDirective(addedAt now: NIODeadline) -> (FaultDirective, NIODeadline)? { (.reset, now) }
    }
}
