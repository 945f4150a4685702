// The clients, the socket, free ports and the process launcher are RiftClient's; the RESP and
// memcached values are RiftWire's. Tests import RiftTestSupport and get them all.
@_exported import RiftClient
@_exported import RiftWire
import Foundation

/// Runs blocking socket code on its own thread, so tests never block Swift's cooperative pool
/// (which the proxy's async API needs) while they wait on a socket.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 1 << 22
        thread.start()
    }
}

/// Hands a single-owner object (a blocking client) from one blocking section to the next.
/// Tests use it strictly in sequence, never from two threads at once.
// @unchecked: the value moves from one blocking section to the next, never used by two threads at once.
public struct Handoff<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
