import NIOCore
import RiftCore

/// `down`: the service is unreachable for new clients. The proxy closes its listening socket
/// while the fault is present (new connections are refused) and opens it again when the
/// fault is removed; live connections are left alone (Toxiproxy's `enabled: false` takes
/// the whole proxy down instead). Being a fault, it is scheduled and named like the others.
/// It has no per-connection stage: `makeHandler` returns nil.
public struct DownConfig: FaultStageConfig {
    public static let type = "down"
    public static let attributeNames: [String] = []

    public init() {}

    public init(attributes: FaultAttributes) throws(FaultConfigError) {}

    public var attributes: FaultAttributes { [:] }

    public var listenerEffect: ListenerEffect { .refuseNew }

    public func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)? {
        nil
    }
}
