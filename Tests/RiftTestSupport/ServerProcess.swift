import Foundation
import Glibc
import Synchronization

/// Why a test server could not be started or driven.
public enum ServerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The binary is not on PATH, or the given path is not executable (see `ci/setup`).
    case executableNotFound(String)
    /// The process could not be spawned at all.
    case launchFailed(String)
    /// The server exited before it answered; the log tail says why.
    case exitedDuringStartup(status: Int32, logTail: String)
    /// Every attempt found its port taken (the `FreePort` race, or a busy restart port).
    case portUnavailable(attempts: Int, logTail: String)
    /// The server is running but did not answer its readiness probe in time.
    case notReady(timeout: Duration, logTail: String)
    /// A replica did not report `master_link_status:up` in time.
    case replicaLinkTimeout(lastInfo: String)
    /// The server is not running (never started, stopped or killed).
    case notRunning

    public var description: String {
        switch self {
        case .executableNotFound(let name): "\(name): no such executable (on PATH)"
        case .launchFailed(let reason): "launch failed: \(reason)"
        case .exitedDuringStartup(let status, let log): "exited during startup with status \(status); log tail:\n\(log)"
        case .portUnavailable(let attempts, let log): "port in use after \(attempts) attempts; log tail:\n\(log)"
        case .notReady(let timeout, let log): "not ready after \(timeout); log tail:\n\(log)"
        case .replicaLinkTimeout(let info): "replica link not up; last INFO replication:\n\(info)"
        case .notRunning: "server is not running"
        }
    }
}

/// What differs between the servers: how to launch one, how to tell it is up, and how it
/// reports a port that is already taken.
struct ServerRecipe: Sendable {
    var name: String
    /// Arguments for a server on `port` keeping its files in `directory`.
    var arguments: @Sendable (_ port: UInt16, _ directory: String) -> [String]
    /// True once the server on `port` answers and is the process `pid` (not some other server
    /// that grabbed the port after ours failed to bind).
    var isReady: @Sendable (_ port: UInt16, _ pid: Int32) -> Bool
    /// Log files to show in errors and `logTail`, relative to the server's directory.
    var logFiles: [String]
}

/// The lifecycle shared by `RedisServer` and `MemcachedServer`: one child process at a time,
/// in its own temp directory, on a free loopback port.
///
/// All state sits behind `state`, locked for whole operations, so concurrent calls from several
/// tasks are serialized rather than interleaved (stop during start waits for start to finish).
final class ServerProcess: Sendable {
    private let recipe: ServerRecipe
    private let executable: String?
    private let startTimeout: Duration
    private let state = Mutex(State())

    private struct State {
        var running: Running?
        var lastPort: UInt16?
        var lastDirectory: String?

        /// Forgets a finished process and removes its directory.
        mutating func cleanUp() {
            if let directory = running?.directory ?? lastDirectory {
                try? FileManager.default.removeItem(atPath: directory)
            }
            running = nil
            lastDirectory = nil
        }
    }

    private struct Running {
        /// Spawned with `posix_spawn` as the harness's servers are (not Foundation's `Process`,
        /// whose launch crashed under a load of sockets opening and closing).
        var process: ChildProcess
        var port: UInt16
        var directory: String
    }

    /// Retries on a new port when the bind loses the `FreePort` race.
    private static let maxPortAttempts = 8
    /// How long a SIGTERMed server may take to exit before SIGKILL.
    private static let stopGrace: Duration = .seconds(2)

    init(recipe: ServerRecipe, executable: String?, startTimeout: Duration) {
        self.recipe = recipe
        self.executable = executable
        self.startTimeout = startTimeout
    }

    deinit { stop() }

    var port: UInt16? { state.withLock { $0.running?.port ?? $0.lastPort } }
    var pid: Int32? { state.withLock { $0.running?.process.pid } }
    var directory: String? { state.withLock { $0.running?.directory ?? $0.lastDirectory } }
    var isRunning: Bool { state.withLock { $0.running?.process.isRunning ?? false } }

    // MARK: Start

    /// Starts the server if it is not running. The first start picks a free port (retrying on
    /// bind failure); a restart after `stop()`/`kill()` reuses the previous port, so clients and
    /// proxies configured with it reach the new process.
    func start() throws(ServerError) {
        try state.withLock { (s: inout State) throws(ServerError) in
            if let running = s.running, running.process.isRunning { return }
            s.cleanUp()
            // Checked here: behind setpriv, a missing binary would only show as an early exit.
            guard let executable = executable ?? Self.findExecutable(recipe.name), access(executable, X_OK) == 0 else {
                throw .executableNotFound(executable ?? recipe.name)
            }
            let restartPort = s.lastPort
            var lastLog = ""
            for _ in 0..<Self.maxPortAttempts {
                let port = restartPort ?? FreePort.allocate()
                switch try launch(executable: executable, port: port) {
                case .success(let started):
                    s.running = started
                    s.lastPort = port
                    s.lastDirectory = started.directory
                    return
                case .failure(let failure):
                    lastLog = failure.log
                    // A restart must keep its port: wait for it to free up rather than move.
                    if restartPort != nil { Thread.sleep(forTimeInterval: 0.1) }
                }
            }
            throw .portUnavailable(attempts: Self.maxPortAttempts, logTail: lastLog)
        }
    }

    /// One launch on `port`: the running server, or the log of a bind failure (retryable).
    private func launch(executable: String, port: UInt16) throws(ServerError) -> Result<Running, BindFailure> {
        let directory = try Self.makeTemporaryDirectory(prefix: "rift-\(recipe.name)")
        let process = ChildProcess(executable: executable, arguments: recipe.arguments(port, directory), directory: directory,
                                   outputPath: directory + "/stdio.log")
        do {
            try process.launch()
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw .launchFailed("\(executable): \(error)")
        }
        let started = Running(process: process, port: port, directory: directory)
        let pid = process.pid ?? 0

        let deadline = ContinuousClock.now + startTimeout
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                let log = logTail(directory: directory, lines: 40)
                try? FileManager.default.removeItem(atPath: directory)
                if log.contains("Address already in use") { return .failure(BindFailure(log: log)) }
                throw .exitedDuringStartup(status: process.exitStatus ?? -1, logTail: log)
            }
            if recipe.isReady(port, pid) { return .success(started) }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let log = logTail(directory: directory, lines: 40)
        terminate(started, grace: .zero)
        try? FileManager.default.removeItem(atPath: directory)
        throw .notReady(timeout: startTimeout, logTail: log)
    }

    private struct BindFailure: Error { var log: String }

    // MARK: Signals

    /// SIGTERM (plus SIGCONT, so a paused server can act on it), SIGKILL after a grace period,
    /// wait for the exit, remove the directory. Idempotent; safe on a never-started server.
    func stop() {
        state.withLock {
            if let running = $0.running { terminate(running, grace: Self.stopGrace) }
            $0.cleanUp()
        }
    }

    /// SIGKILL and wait until the process is gone; the directory (and log) stay for `logTail`
    /// until `stop()` or the next `start()`.
    func kill() {
        state.withLock {
            if let running = $0.running { terminate(running, grace: .zero) }
        }
    }

    /// SIGSTOP: the server keeps its sockets open but answers nothing, like a hung host. Returns
    /// once the kernel reports the process stopped.
    func pause() throws(ServerError) {
        try signal(SIGSTOP, waitUntil: { $0 == "T" })
    }

    /// SIGCONT after `pause()`.
    func resume() throws(ServerError) {
        try signal(SIGCONT, waitUntil: { $0 != "T" })
    }

    private func signal(_ signal: Int32, waitUntil condition: (Character) -> Bool) throws(ServerError) {
        try state.withLock { (s: inout State) throws(ServerError) in
            guard let running = s.running, running.process.isRunning, let pid = running.process.pid else { throw .notRunning }
            _ = Glibc.kill(pid, signal)
            let deadline = ContinuousClock.now + .seconds(2)
            while ContinuousClock.now < deadline {
                guard let state = Self.processState(pid) else { return }
                if condition(state) { return }
                Thread.sleep(forTimeInterval: 0.001)
            }
        }
    }

    private func terminate(_ running: Running, grace: Duration) {
        if grace > .zero {
            running.process.stop(graceNs: grace.components.seconds * 1_000_000_000 + grace.components.attoseconds / 1_000_000_000)
        } else {
            running.process.kill()
        }
    }

    // MARK: Logs

    /// The last `lines` lines of the server's log files, for error messages and debugging.
    func logTail(lines: Int = 40) -> String {
        guard let directory else { return "" }
        return logTail(directory: directory, lines: lines)
    }

    private func logTail(directory: String, lines: Int) -> String {
        var tail: [Substring] = []
        for file in recipe.logFiles {
            guard let data = FileManager.default.contents(atPath: directory + "/" + file), !data.isEmpty else {
                continue
            }
            tail += String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        }
        return tail.suffix(lines).joined(separator: "\n")
    }

    // MARK: Helpers

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/usr/sbin", "/opt/homebrew/bin"]
        for directory in directories {
            let candidate = directory + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    private static let temporaryBase = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"

    /// Server directories are named `rift-<server>-<test pid>-XXXXXX`, so the next run can
    /// remove what a killed test process left behind (see `removeStaleDirectories`).
    private static func makeTemporaryDirectory(prefix: String) throws(ServerError) -> String {
        _ = removeStaleDirectoriesOnce
        let base = temporaryBase
        var template = Array("\(base)/\(prefix)-\(getpid())-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else { throw .launchFailed("mkdtemp in \(base): errno \(errno)") }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Runs `removeStaleDirectories` the first time a server starts in this process.
    private static let removeStaleDirectoriesOnce: Void = removeStaleDirectories()

    /// Deletes `rift-<server>-<pid>-*` directories whose test process is gone: a test process
    /// killed mid-run (crash, CI timeout) cannot clean up; its servers die with it (pdeathsig)
    /// but the directories would accumulate.
    static func removeStaleDirectories() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: temporaryBase) else { return }
        for name in names where name.hasPrefix("rift-redis-server-") || name.hasPrefix("rift-memcached-") {
            let parts = name.split(separator: "-")
            // rift, server name part(s), pid, random suffix: the pid is second to last.
            guard parts.count >= 4, let owner = Int32(parts[parts.count - 2]), owner != getpid() else { continue }
            if Glibc.kill(owner, 0) == -1 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: temporaryBase + "/" + name)
            }
        }
    }

    /// The state letter from /proc/<pid>/stat ("R", "S", "T" stopped, "Z"...), nil if gone.
    static func processState(_ pid: Int32) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        return stat[close...].dropFirst().first(where: { $0 != " " })
    }
}
