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
        let accepting = Task.detached { _ = try listener.accept(timeout: .seconds(5)) }
        try await Task.sleep(for: .milliseconds(50))
        let started = ContinuousClock.now
        listener.close()
        let result = await accepting.result
        #expect(throws: SocketError.self) { try result.get() }
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(throws: SocketError.connectionRefused) { _ = try BlockingSocket(port: listener.port) }
    }
}
