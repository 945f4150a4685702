import Glibc
import RiftTestSupport
import Testing

@Suite struct BlockingSocketTests {
    @Test func connectingToAClosedPortIsRefused() {
        #expect(throws: SocketError.connectionRefused) {
            _ = try BlockingSocket(port: FreePort.allocate(), connectTimeout: .seconds(1))
        }
    }

    @Test func readingAnIdleConnectionTimesOut() throws {
        let listener = try BlockingListener()
        let client = try BlockingSocket(port: listener.port, readTimeout: .milliseconds(200))
        let server = try listener.accept()
        let started = ContinuousClock.now
        #expect(throws: SocketError.timedOut) { _ = try client.receive() }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(190) && waited < .seconds(2))
        server.close()
    }

    @Test func peerCloseIsEOF() throws {
        let listener = try BlockingListener()
        let client = try BlockingSocket(port: listener.port, readTimeout: .seconds(2))
        let server = try listener.accept()
        try server.send("bye")
        server.close()
        #expect(try client.receiveExactly(3) == Array("bye".utf8))
        #expect(throws: SocketError.closedByPeer) { _ = try client.receive() }
    }

    @Test func peerAbortIsReset() throws {
        let listener = try BlockingListener()
        let client = try BlockingSocket(port: listener.port, readTimeout: .seconds(2))
        let server = try listener.accept()
        server.abort()
        #expect(throws: SocketError.connectionReset) { _ = try client.receive() }
    }

    @Test func writingAfterResetFailsWithResetNotSIGPIPE() throws {
        let listener = try BlockingListener()
        let client = try BlockingSocket(port: listener.port)
        let server = try listener.accept()
        server.abort()
        // The first write may be accepted locally before the RST is seen; keep writing.
        let error = #expect(throws: SocketError.self) {
            for _ in 0..<100 {
                try client.send([UInt8](repeating: 1, count: 1024))
                usleep(1000)
            }
        }
        #expect(error == .connectionReset)
    }

    @Test func halfCloseDeliversEOFButKeepsTheReadSide() throws {
        let listener = try BlockingListener()
        let client = try BlockingSocket(port: listener.port, readTimeout: .seconds(2))
        let server = try listener.accept(readTimeout: .seconds(2))
        try client.send("ping")
        try client.shutdownWrite()
        #expect(try server.receiveUntilClosed() == Array("ping".utf8))
        try server.send("pong")
        server.close()
        #expect(try client.receiveUntilClosed() == Array("pong".utf8))
    }

    @Test func receiveExactlyGathersSeveralSegments() throws {
        let listener = try BlockingListener()
        let client = try BlockingSocket(port: listener.port, readTimeout: .seconds(2))
        let server = try listener.accept()
        for byte in UInt8(0)..<10 { try server.send([byte]) }
        #expect(try client.receiveExactly(10) == Array(0..<10))
    }

    @Test func operationsAfterCloseFailWithoutCrashing() throws {
        let listener = try BlockingListener()
        let client = try BlockingSocket(port: listener.port)
        client.close()
        client.close()
        #expect(!client.isOpen)
        #expect(throws: SocketError.other(EBADF)) { try client.send("x") }
    }
}
