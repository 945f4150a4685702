import Glibc
import RiftCore
import RiftTestSupport
import Testing

@Suite struct MemcachedServerTests {
    @Test func startsAnswersAndIsReallyGoneAfterStop() throws {
        let memcached = try MemcachedServer.started()
        let pid = try #require(memcached.pid)
        #expect(try memcached.client().version().hasPrefix("1."))
        memcached.stop()
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
        #expect(throws: SocketError.connectionRefused) { _ = try BlockingSocket(port: memcached.port) }
        memcached.stop()
    }

    @Test func pausedServerTimesOutThenAnswersAfterResume() throws {
        let memcached = try MemcachedServer.started()
        defer { memcached.stop() }
        let client = try memcached.client(readTimeout: .milliseconds(200))
        try memcached.pause()
        #expect(throws: ClientError.socket(.timedOut)) { _ = try client.version() }
        try memcached.resume()
        client.readTimeout = .seconds(5)
        // The version request sent while paused is answered first.
        #expect(try client.readLine().hasPrefix("VERSION "))
        #expect(try client.set("k", value: [1]))
    }

    @Test func rawCommandsReachTheServer() throws {
        let memcached = try MemcachedServer.started()
        defer { memcached.stop() }
        let client = try memcached.client()
        try client.set("n", value: Array("41".utf8))
        try client.send(raw: Array("incr n 1\r\n".utf8))
        #expect(try client.readLine() == "42")
        try client.send(raw: Array("bogus\r\n".utf8))
        #expect(try client.readLine() == "ERROR")
    }
}
