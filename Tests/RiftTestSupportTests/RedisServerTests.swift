import Foundation
import Glibc
import RiftCore
import RiftTestSupport
import Testing

@Suite struct RedisServerTests {
    @Test func startsAnswersAndIsReallyGoneAfterStop() throws {
        let redis = try RedisServer.started()
        let pid = try #require(redis.pid)
        #expect(redis.isRunning)
        #expect(try redis.client().command("PING") == .simpleString("PONG"))
        let directory = try #require(redis.directory)
        #expect(redis.logTail().contains("Ready to accept connections"))

        redis.stop()
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
        #expect(!redis.isRunning)
        #expect(access(directory, F_OK) != 0)
        #expect(throws: SocketError.connectionRefused) { _ = try BlockingSocket(port: redis.port) }
        redis.stop()  // idempotent
    }

    @Test func deinitStopsTheServer() throws {
        var redis: RedisServer? = try RedisServer.started()
        let pid = try #require(redis?.pid)
        redis = nil
        #expect(kill(pid, 0) == -1)
    }

    @Test func replicaLinksAndSeesPrimaryWrites() throws {
        let primary = try RedisServer.started()
        defer { primary.stop() }
        let replica = try RedisServer.startedReplica(of: primary)
        defer { replica.stop() }
        try replica.waitForReplicaLink()

        let writer = try primary.client()
        try writer.set("replicated", value: "yes")
        // WAIT returns once the replica acknowledged the write: no polling, no sleep.
        #expect(try writer.command("WAIT", "1", "5000") == .integer(1))
        #expect(try replica.client().get("replicated") == Array("yes".utf8))
    }

    @Test func pausedServerTimesOutThenAnswersAfterResume() throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let client = try redis.client(readTimeout: .milliseconds(200))
        try redis.pause()
        #expect(throws: ClientError.socket(.timedOut)) { _ = try client.command("PING") }
        try redis.resume()
        client.readTimeout = .seconds(5)
        // The PING sent while paused is answered now, then ours.
        #expect(try client.readReply() == .simpleString("PONG"))
        #expect(try client.command("PING") == .simpleString("PONG"))
    }

    @Test func killedServerResetsOrClosesAndRestartsOnTheSamePort() throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let port = redis.port
        let client = try redis.client()
        let firstPid = try #require(redis.pid)
        redis.kill()
        #expect(kill(firstPid, 0) == -1)
        let error = #expect(throws: ClientError.self) { _ = try client.command("PING") }
        #expect(error == .socket(.closedByPeer) || error == .socket(.connectionReset))

        try redis.start()
        #expect(redis.port == port)
        #expect(redis.pid != firstPid)
        #expect(try redis.client().command("PING") == .simpleString("PONG"))
    }

    @Test func badArgumentsFailFastWithTheLog() {
        let redis = RedisServer(extraArguments: ["--no-such-option", "1"])
        let error = #expect(throws: ServerError.self) { try redis.start() }
        guard case .exitedDuringStartup(_, let log) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(log.contains("no-such-option"))
    }

    /// Dispatch and Swift concurrency threads block SIGTERM; a server spawned from one would
    /// inherit that and ignore `stop()`'s SIGTERM until the SIGKILL fallback.
    @Test func serverRunsWithNoBlockedSignalsUnderItsOwnPid() throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let pid = try #require(redis.pid)
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        #expect(status.contains("SigBlk:\t0000000000000000"))
        let command = try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
        #expect(command.hasPrefix("redis-server") || command.contains("/redis-server"))
        let started = ContinuousClock.now
        redis.stop()
        #expect(ContinuousClock.now - started < .seconds(1), "SIGTERM should stop redis without the SIGKILL fallback")
    }

    @Test func replicaLinkTimeoutReportsTheLastInfo() throws {
        let replica = try RedisServer.started(["--replicaof", "127.0.0.1", String(FreePort.allocate())])
        defer { replica.stop() }
        let error = #expect(throws: ServerError.self) { try replica.waitForReplicaLink(timeout: .milliseconds(300)) }
        guard case .replicaLinkTimeout(let info) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(info.contains("master_link_status:down"))
    }

    @Test func missingExecutableFailsBeforeLaunching() {
        let redis = RedisServer(executable: "/nonexistent/redis-server")
        #expect(throws: ServerError.executableNotFound("/nonexistent/redis-server")) { try redis.start() }
        #expect(!redis.isRunning)
    }

    /// A primary waits for lagging replicas on SIGTERM; teardown must not.
    @Test func primaryStopsPromptlyWithAPausedReplica() throws {
        let primary = try RedisServer.started()
        defer { primary.stop() }
        let replica = try RedisServer.startedReplica(of: primary)
        defer { replica.stop() }
        try replica.waitForReplicaLink()
        try replica.pause()
        try primary.client().set("lagging", value: "x")
        let started = ContinuousClock.now
        primary.stop()
        #expect(ContinuousClock.now - started < .seconds(1))
    }

    @Test func directoriesOfDeadTestProcessesAreRemoved() throws {
        // A pid that cannot be alive: above the kernel's pid_max limit (2^22).
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        let stale = "\(base)/rift-redis-server-\(1 << 23)-abcdef"
        let ours = "\(base)/rift-redis-server-\(getpid())-abcdef"
        #expect(mkdir(stale, 0o700) == 0)
        #expect(mkdir(ours, 0o700) == 0)
        defer { rmdir(ours) }
        RedisServer.removeStaleDirectories()
        #expect(access(stale, F_OK) != 0)
        #expect(access(ours, F_OK) == 0)
    }
}
