import Foundation
import Synchronization

/// A real `redis-server` child process on a free loopback port, in a fresh temp directory,
/// without persistence. One per test: start it, use `port`, and let `stop()` or `deinit`
/// remove it (deinit covers tests that return early on a failed `#require`).
///
/// Sendable: several tasks may drive one server (e.g. pause it while clients run).
///
/// ```swift
/// @Test func survivesAPausedUpstream() throws {
///     let redis = try RedisServer.started()
///     defer { redis.stop() }
///     let client = try RESPClient(port: proxyPortFor(redis.port), readTimeout: .milliseconds(200))
///     try redis.pause()
///     #expect(throws: ClientError.socket(.timedOut)) { _ = try client.command("PING") }
/// }
/// ```
///
/// Blocking by design: calls block the calling thread (at most `startTimeout` for `start()`,
/// about 2 s for `stop()`), which keeps tests deterministic; Swift Testing runs tests on a
/// pool of one thread per core, so keep per-test server counts small.
public final class RedisServer: Sendable {
    private let process: ServerProcess
    /// Appended after the standard arguments, e.g. `["--replicaof", "127.0.0.1", "6380"]`.
    public let extraArguments: [String]

    /// Prepares a server; nothing runs until `start()`.
    /// - Parameter executable: path to redis-server; nil searches PATH.
    public init(extraArguments: [String] = [], executable: String? = nil, startTimeout: Duration = .seconds(10)) {
        self.extraArguments = extraArguments
        // Redis 7 makes a SIGTERMed primary wait up to 10 s for lagging replicas; a paused
        // replica would turn every teardown into stop()'s SIGKILL fallback. Tests that want the
        // graceful wait pass their own --shutdown-timeout (later arguments win).
        let resolved = executable ?? ServerProcess.findExecutable("redis-server")
        let version = resolved.flatMap(RedisVersion.major(of:)) ?? 0
        let shutdownArguments = version >= 7 ? ["--shutdown-timeout", "0"] : []
        let recipe = ServerRecipe(
            name: "redis-server",
            arguments: { port, directory in
                [
                    "--port", String(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--daemonize", "no",
                    "--dir", directory, "--logfile", directory + "/redis.log",
                    "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
                ] + shutdownArguments + extraArguments
            },
            isReady: RedisServer.answers(port:pid:),
            logFiles: ["stdio.log", "redis.log"]
        )
        process = ServerProcess(recipe: recipe, executable: executable, startTimeout: startTimeout)
    }

    /// A started server: `try RedisServer.started()`.
    public static func started(_ extraArguments: [String] = []) throws(ServerError) -> RedisServer {
        let server = RedisServer(extraArguments: extraArguments)
        try server.start()
        return server
    }

    /// A started replica of `primary` (`--replicaof 127.0.0.1 <primary.port>`), link not yet up;
    /// follow with `waitForReplicaLink()`.
    public static func startedReplica(of primary: RedisServer, extraArguments: [String] = []) throws(ServerError) -> RedisServer {
        try started(["--replicaof", "127.0.0.1", String(primary.port)] + extraArguments)
    }

    deinit { process.stop() }

    /// Starts and waits until the server answers (and is this process, not a port thief).
    /// Retries on a new port if the bind loses the `FreePort` race; a restart after `stop()`
    /// or `kill()` keeps the previous port. No-op if running.
    public func start() throws(ServerError) { try process.start() }

    /// SIGTERM, then SIGKILL after a short grace; waits for the exit and removes the directory.
    /// Idempotent. Afterwards `kill(pid, 0)` fails and the port refuses connections.
    public func stop() { process.stop() }

    /// SIGKILL (a crash: no shutdown, clients see resets or EOF); waits for the exit.
    public func kill() { process.kill() }

    /// SIGSTOP: connections stay open, nothing is answered (a hung server).
    public func pause() throws(ServerError) { try process.pause() }

    /// SIGCONT after `pause()`.
    public func resume() throws(ServerError) { try process.resume() }

    /// The port of the running server, or of the last run; 0 before the first start.
    public var port: UInt16 { process.port ?? 0 }
    public var pid: Int32? { process.pid }
    public var isRunning: Bool { process.isRunning }
    /// The server's temp directory (its log and any files), nil after `stop()`.
    public var directory: String? { process.directory }

    /// The last lines of redis.log and of stdout/stderr.
    public func logTail(lines: Int = 40) -> String { process.logTail(lines: lines) }

    /// Removes server directories left in TMPDIR by test processes that died without
    /// cleaning up (runs automatically before the first start in each process).
    public static func removeStaleDirectories() { ServerProcess.removeStaleDirectories() }

    /// A new client connection to this server.
    public func client(readTimeout: Duration = .seconds(5)) throws(ClientError) -> RESPClient {
        try RESPClient(port: port, readTimeout: readTimeout)
    }

    /// One field of `INFO replication` (`master_port`, `role`...), nil when absent.
    public func replicationInfo(_ field: String) throws(ClientError) -> String? {
        let connection = try client()
        defer { connection.close() }
        let info = try connection.command("INFO", "replication").string ?? ""
        return info.split(separator: "\r\n").first { $0.hasPrefix(field + ":") }.map { String($0.dropFirst(field.count + 1)) }
    }

    /// On a replica: polls `INFO replication` until `master_link_status:up` (the initial sync
    /// has finished and the replica serves the primary's data).
    public func waitForReplicaLink(timeout: Duration = .seconds(10)) throws(ServerError) {
        let deadline = ContinuousClock.now + timeout
        var lastInfo = ""
        var client: RESPClient?
        while ContinuousClock.now < deadline {
            if client == nil { client = try? self.client(readTimeout: .seconds(1)) }
            if let connected = client {
                if let info = try? connected.command("INFO", "replication").string {
                    lastInfo = info
                    if info.contains("master_link_status:up") { return }
                } else {
                    client = nil
                }
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw .replicaLinkTimeout(lastInfo: lastInfo)
    }

    /// Readiness: `INFO server` answers with our pid (PING alone could be another test's
    /// server that took the port after ours failed to bind).
    private static func answers(port: UInt16, pid: Int32) -> Bool {
        guard let client = try? RESPClient(port: port, connectTimeout: .milliseconds(200), readTimeout: .seconds(1)),
            let info = try? client.command("INFO", "server").string
        else { return false }
        return info.contains("process_id:\(pid)\r\n")
    }
}

/// The major version of a redis-server binary, asked once per path (`redis-server --version`
/// prints `Redis server v=7.0.15 ...`).
enum RedisVersion {
    private static let cache = Mutex<[String: Int?]>([:])

    static func major(of executable: String) -> Int? {
        if let known = cache.withLock({ $0[executable] }) { return known }
        let major = ask(executable)
        cache.withLock { $0[executable] = major }
        return major
    }

    private static func ask(_ executable: String) -> Int? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let range = output.range(of: "v=") else { return nil }
        return Int(output[range.upperBound...].prefix(while: \.isNumber))
    }
}
