import RiftFaults
import Synchronization

/// Bytes and connections a proxy has seen; read by status and metrics. Relaxed atomics:
/// the data path pays one uncontended add per read.
final class ByteCounters: Sendable {
    private let upstream = Atomic<Int64>(0)
    private let downstream = Atomic<Int64>(0)
    private let connections = Atomic<Int64>(0)

    struct Counts: Sendable, Equatable {
        var upstreamBytes: Int64
        var downstreamBytes: Int64
        var connectionsTotal: Int64
    }

    func add(_ bytes: Int, direction: StreamDirection) {
        switch direction {
        case .upstream: upstream.wrappingAdd(Int64(bytes), ordering: .relaxed)
        case .downstream: downstream.wrappingAdd(Int64(bytes), ordering: .relaxed)
        }
    }

    func connectionOpened() { connections.wrappingAdd(1, ordering: .relaxed) }

    var snapshot: Counts {
        Counts(
            upstreamBytes: upstream.load(ordering: .relaxed),
            downstreamBytes: downstream.load(ordering: .relaxed),
            connectionsTotal: connections.load(ordering: .relaxed))
    }
}
