import Glibc
import RiftTestSupport
import Testing

@Suite struct BlockingListenerTests {
    @Test func acceptTimesOutWithoutAClient() throws {
        let listener = try BlockingListener()
        #expect(throws: SocketError.timedOut) { _ = try listener.accept(timeout: .milliseconds(50)) }
    }

    @Test func closingAListenerWakesAPendingAccept() async throws {
        let listener = try BlockingListener()
        // The time the accept returned is taken on its own thread: awaiting the task's result
        // can wait for a free thread of the test pool, which a loaded machine delays.
        let accepting = Task.detached { () -> (Result<Void, any Error>, ContinuousClock.Instant) in
            let r = Result { _ = try listener.accept(timeout: .seconds(5)) }
            return (r, ContinuousClock.now)
        }
        try await Task.sleep(for: .milliseconds(50))
        let started = ContinuousClock.now
        listener.close()
        let (result, woke) = await accepting.value
        #expect(throws: SocketError.self) { try result.get() }
        #expect(woke - started < .seconds(2))
        #expect(throws: SocketError.connectionRefused) { _ = try BlockingSocket(port: listener.port) }
    }
}
