import Foundation
import Glibc

/// A real `memcached` child process on a free loopback port (`-l 127.0.0.1 -U 0 -m 64 -I 2m`,
/// so 1 MiB values fit). Same lifecycle as `RedisServer`: `start()`, `port`, and `stop()` or
/// `deinit`.
public final class MemcachedServer: Sendable {
    private let process: ServerProcess
    public let extraArguments: [String]

    /// Prepares a server; nothing runs until `start()`.
    public init(extraArguments: [String] = [], executable: String? = nil, startTimeout: Duration = .seconds(10)) {
        self.extraArguments = extraArguments
        // memcached refuses to run as root unless told which user to run as.
        let userArguments = geteuid() == 0 ? ["-u", "root"] : []
        let recipe = ServerRecipe(
            name: "memcached",
            arguments: { port, _ in
                ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "64", "-I", "2m"]
                    + userArguments + extraArguments
            },
            isReady: MemcachedServer.answers(port:pid:),
            logFiles: ["stdio.log"]
        )
        process = ServerProcess(recipe: recipe, executable: executable, startTimeout: startTimeout)
    }

    /// A started server: `try MemcachedServer.started()`.
    public static func started(_ extraArguments: [String] = []) throws(ServerError) -> MemcachedServer {
        let server = MemcachedServer(extraArguments: extraArguments)
        try server.start()
        return server
    }

    deinit { process.stop() }

    /// Starts and waits until the server answers `stats` with our pid. Retries on a new port
    /// if the bind loses the `FreePort` race; a restart keeps the previous port.
    public func start() throws(ServerError) { try process.start() }
    /// SIGTERM, SIGKILL after a grace period, wait for the exit, remove the directory. Idempotent.
    public func stop() { process.stop() }
    /// SIGKILL and wait for the exit.
    public func kill() { process.kill() }
    /// SIGSTOP: a hung server.
    public func pause() throws(ServerError) { try process.pause() }
    /// SIGCONT after `pause()`.
    public func resume() throws(ServerError) { try process.resume() }

    /// The port of the running server, or of the last run; 0 before the first start.
    public var port: UInt16 { process.port ?? 0 }
    public var pid: Int32? { process.pid }
    public var isRunning: Bool { process.isRunning }
    public var directory: String? { process.directory }
    /// memcached's stdout/stderr (it has no log file).
    public func logTail(lines: Int = 40) -> String { process.logTail(lines: lines) }

    /// A new client connection to this server.
    public func client(readTimeout: Duration = .seconds(5)) throws(ClientError) -> MemcachedClient {
        try MemcachedClient(port: port, readTimeout: readTimeout)
    }

    /// Readiness: `version` answers, and `stats` reports our pid (not a port thief).
    private static func answers(port: UInt16, pid: Int32) -> Bool {
        guard let client = try? MemcachedClient(port: port, connectTimeout: .milliseconds(200), readTimeout: .seconds(1)),
            (try? client.version()) != nil,
            let stats = try? client.stats()
        else { return false }
        return stats["pid"] == String(pid)
    }
}
