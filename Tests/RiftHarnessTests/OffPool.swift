import Foundation
import RiftTestSupport

/// Runs blocking work (a `rift` process, a browser) on its own thread, so a test that waits for
/// seconds does not hold one of the few cooperative threads that async tests running beside it
/// (the scenario runner's timeline loop) need to keep time.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.start()
    }
}

/// `RiftExecutable.run` off the cooperative pool.
func runRift(_ arguments: [String], timeout: Duration) async throws -> RiftExecutable.Result {
    try await offPool { try RiftExecutable.run(arguments, timeout: timeout) }
}
