import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RiftCore

/// The origin's data: a versioned key-value map, and the gauge of requests in flight. Shared by
/// every connection; thread-safe.
public final class OriginStore: Sendable {
    struct Entry {
        var version: Int64
        var value: String
    }

    /// Most keys the store holds; a `SET` of a new key beyond it is answered `ERROR`.
    public static let maxKeys = 1_000_000

    private let entries = NIOLockedValueBox<[String: Entry]>([:])
    public let gauge = OriginGauge()

    public init() {}

    /// Puts `keys` at version 1 (the data the origin has before the run; not in the history).
    public func preload(_ keys: [String], value: String) {
        entries.withLockedValue { e in for k in keys { e[k] = Entry(version: 1, value: value) } }
    }

    public func version(of key: String) -> Int64 { entries.withLockedValue { $0[key]?.version ?? 0 } }

    /// Carries out one request (its service time already spent).
    public func execute(_ request: OriginRequest) -> OriginReply {
        switch request {
        case .get(let key):
            guard let e = entries.withLockedValue({ $0[key] }) else { return .none }
            return .value(version: e.version, data: e.value)
        case .set(let key, let value, let version):
            return entries.withLockedValue { e -> OriginReply in
                let current = e[key]?.version ?? 0
                if current == 0 && e.count >= Self.maxKeys { return .error("the origin holds \(Self.maxKeys) keys already") }
                let next = version ?? current + 1
                if next <= current { return .stale(current: current) }
                e[key] = Entry(version: next, value: value)
                return .ok(version: next)
            }
        case .gauge:
            let (n, p) = gauge.current
            return .gauge(inFlight: n, peak: p)
        case .invalid(let why):
            return .error(why)
        }
    }
}

/// Requests in flight at the origin: counted from the moment a request is read until its reply
/// is written. Records the all-time peak and the peak since the last sample, so a series of
/// samples every few milliseconds still shows every peak exactly.
public final class OriginGauge: Sendable {
    public struct Sample: Sendable, Equatable {
        /// Monotonic nanoseconds (the history's clock).
        public var timeNs: Int64
        /// In flight at the sample.
        public var inFlight: Int
        /// Highest in flight since the previous sample.
        public var peak: Int
    }

    private struct State {
        var inFlight = 0
        var peak = 0
        var peakSinceSample = 0
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func begin() {
        state.withLockedValue {
            $0.inFlight += 1
            $0.peak = max($0.peak, $0.inFlight)
            $0.peakSinceSample = max($0.peakSinceSample, $0.inFlight)
        }
    }

    public func end() { state.withLockedValue { $0.inFlight -= 1 } }

    /// (in flight, all-time peak).
    public var current: (Int, Int) { state.withLockedValue { ($0.inFlight, $0.peak) } }

    /// A sample at `timeNs`; the next sample's peak starts from the in-flight count now.
    public func sample(at timeNs: Int64) -> Sample {
        state.withLockedValue { s in
            let out = Sample(timeNs: timeNs, inFlight: s.inFlight, peak: max(s.peakSinceSample, s.inFlight))
            s.peakSinceSample = s.inFlight
            return out
        }
    }
}

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
    private let samples = NIOLockedValueBox<(kept: [OriginGauge.Sample], dropped: Int)>(([], 0))
    private let sampler = NIOLockedValueBox<RepeatedTask?>(nil)

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
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
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
        server.sampler.withLockedValue { $0 = task }
        return server
    }

    func takeSample() {
        let s = store.gauge.sample(at: RiftClock.monotonicNanoseconds())
        samples.withLockedValue { if $0.kept.count < Self.maxSamples { $0.kept.append(s) } else { $0.dropped += 1 } }
    }

    /// The gauge's samples so far, and how many were dropped over the limit.
    public var series: (samples: [OriginGauge.Sample], dropped: Int) {
        samples.withLockedValue { ($0.kept, $0.dropped) }
    }

    /// Stops listening and sampling (with a last sample), closes every connection. Idempotent.
    public func stop() async {
        if let task = sampler.withLockedValue({ t -> RepeatedTask? in defer { t = nil }; return t }) {
            task.cancel()
            takeSample()
        }
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}
