import Foundation
import NIOCore
import NIOPosix
import RiftCore
import Synchronization

/// The origin of truth for the cache-aside workload: Rift's own versioned key-value store on a
/// loopback port, with a service time per request and a gauge of requests in flight, sampled
/// every `sampleInterval` into a bounded series. Clients reach it through a Rift proxy
/// (`client-origin`) so its link can be faulted like any other.
public final class OriginServer: Sendable {
    /// The proxy on the clients' link to the origin (a timeline can fault it).
    public static let proxyName = "client-origin"
    /// Most samples kept (at 10 ms, over 16 minutes); later samples are counted, not kept.
    public static let maxSamples = 100_000

    public let store: OriginStore
    public let port: Int
    public let serviceTimeNs: Int64
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let samples = Mutex<(kept: [OriginGauge.Sample], dropped: Int)>(([], 0))
    private let sampler = Mutex<RepeatedTask?>(nil)

    private init(store: OriginStore, port: Int, serviceTimeNs: Int64, group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.store = store
        self.port = port
        self.serviceTimeNs = serviceTimeNs
        self.group = group
        self.channel = channel
    }

    /// Listens on `127.0.0.1:port` (0: any free port) and starts sampling the gauge.
    public static func start(serviceTimeNs: Int64, port: Int = 0, store: OriginStore = OriginStore(),
                             sampleIntervalNs: Int64 = 10_000_000) async throws -> OriginServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let service = TimeAmount.nanoseconds(serviceTimeNs)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(OriginRequestDecoder()))
                    try channel.pipeline.syncOperations.addHandler(OriginHandler(store: store, serviceTime: service))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: "127.0.0.1", port: port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw FleetError("origin: cannot listen on 127.0.0.1:\(port): \(error)")
        }
        let server = OriginServer(store: store, port: channel.localAddress?.port ?? 0, serviceTimeNs: serviceTimeNs, group: group, channel: channel)
        let task = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .nanoseconds(sampleIntervalNs)) { [server] _ in
            server.takeSample()
        }
        server.sampler.withLock { $0 = task }
        return server
    }

    func takeSample() {
        let s = store.gauge.sample(at: RiftClock.monotonicNanoseconds())
        samples.withLock { if $0.kept.count < Self.maxSamples { $0.kept.append(s) } else { $0.dropped += 1 } }
    }

    /// The gauge's samples so far, and how many were dropped over the limit.
    public var series: (samples: [OriginGauge.Sample], dropped: Int) {
        samples.withLock { ($0.kept, $0.dropped) }
    }

    /// Stops listening and sampling (with a last sample), closes every connection. Idempotent.
    public func stop() async {
        if let task = sampler.withLock({ t -> RepeatedTask? in defer { t = nil }; return t }) {
            task.cancel()
            takeSample()
        }
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}
