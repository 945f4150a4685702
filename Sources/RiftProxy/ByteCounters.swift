import NIOCore
import RiftFaults
import Synchronization

/// Bytes and connections a proxy has seen; read by status and metrics. Relaxed atomics:
/// the data path pays one uncontended add per read.
final class ByteCounters: Sendable {
    private let upstream = Atomic<Int64>(0)
    private let downstream = Atomic<Int64>(0)
    private let upstreamReceived = Atomic<Int64>(0)
    private let downstreamReceived = Atomic<Int64>(0)
    private let connections = Atomic<Int64>(0)

    struct Counts: Sendable, Equatable {
        /// Bytes passed on (after the fault stages), per direction.
        var upstreamBytes: Int64
        var downstreamBytes: Int64
        /// Bytes read from the sockets (before the fault stages), per direction.
        var upstreamReceivedBytes: Int64
        var downstreamReceivedBytes: Int64
        var connectionsTotal: Int64
    }

    func add(_ bytes: Int, direction: StreamDirection) {
        switch direction {
        case .upstream: upstream.wrappingAdd(Int64(bytes), ordering: .relaxed)
        case .downstream: downstream.wrappingAdd(Int64(bytes), ordering: .relaxed)
        }
    }

    func addReceived(_ bytes: Int, direction: StreamDirection) {
        switch direction {
        case .upstream: upstreamReceived.wrappingAdd(Int64(bytes), ordering: .relaxed)
        case .downstream: downstreamReceived.wrappingAdd(Int64(bytes), ordering: .relaxed)
        }
    }

    func connectionOpened() { connections.wrappingAdd(1, ordering: .relaxed) }

    var snapshot: Counts {
        Counts(
            upstreamBytes: upstream.load(ordering: .relaxed),
            downstreamBytes: downstream.load(ordering: .relaxed),
            upstreamReceivedBytes: upstreamReceived.load(ordering: .relaxed),
            downstreamReceivedBytes: downstreamReceived.load(ordering: .relaxed),
            connectionsTotal: connections.load(ordering: .relaxed))
    }
}

/// Counts the bytes a side reads before any fault stage sees them. It is at the head of a
/// pipeline only while that direction has faults; without faults the glue counts both.
final class ReceivedCounterHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let counters: ByteCounters
    private let direction: StreamDirection

    init(counters: ByteCounters, direction: StreamDirection) {
        self.counters = counters
        self.direction = direction
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        counters.addReceived(unwrapInboundIn(data).readableBytes, direction: direction)
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension ReceivedCounterHandler: Sendable {}
