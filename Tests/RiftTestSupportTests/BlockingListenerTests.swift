import Foundation
import Glibc
import RiftTestSupport
import Synchronization
import Testing

@Suite struct BlockingListenerTests {
    @Test func acceptTimesOutWithoutAClient() throws {
        let listener = try BlockingListener()
        #expect(throws: SocketError.timedOut) { _ = try listener.accept(timeout: .milliseconds(50)) }
    }

    @Test func closingAListenerWakesAPendingAccept() throws {
        let listener = try BlockingListener()
        // The accept runs on a thread of its own and takes the time it returned there: a task
        // of the test pool may not even start on a loaded machine until after the close.
        let running = DispatchSemaphore(value: 0), returned = DispatchSemaphore(value: 0)
        let outcome = Mutex<(result: Result<Void, any Error>, at: ContinuousClock.Instant)?>(nil)
        let thread = Thread {
            running.signal()
            let r = Result { _ = try listener.accept(timeout: .seconds(5)) }
            outcome.withLock { $0 = (r, ContinuousClock.now) }
            returned.signal()
        }
        thread.start()
        running.wait()
        usleep(50_000)
        let started = ContinuousClock.now
        listener.close()
        returned.wait()
        let (result, woke) = try #require(outcome.withLock { $0 })
        #expect(throws: SocketError.self) { try result.get() }
        #expect(woke - started < .seconds(2))
        #expect(throws: SocketError.connectionRefused) { _ = try BlockingSocket(port: listener.port) }
    }
}
