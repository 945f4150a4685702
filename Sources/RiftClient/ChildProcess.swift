import Foundation
import RiftCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A server process the harness started (tests start theirs through `ServerProcess`, on the
/// same `ProcessLauncher`). It dies with Rift: launched through
/// `setpriv --pdeathsig KILL` from a thread that lives as long as the process, with an empty
/// signal mask (Swift's worker threads block signals, and children inherit the mask).
public final class ChildProcess: Sendable {
    public let executable: String
    public let arguments: [String]
    public let directory: String
    private let process = Mutex<Process?>(nil)

    public init(executable: String, arguments: [String], directory: String) {
        self.executable = executable
        self.arguments = arguments
        self.directory = directory
    }

    public var pid: Int32? { process.withLock { $0.map { $0.processIdentifier } } }
    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// Starts the process (again, after `kill`); stdout and stderr go to `stdio.log` in its directory.
    public func launch() throws {
        let stdioPath = directory + "/stdio.log"
        if !FileManager.default.fileExists(atPath: stdioPath) { _ = FileManager.default.createFile(atPath: stdioPath, contents: nil) }
        let stdio = FileHandle(forWritingAtPath: stdioPath)
        _ = try? stdio?.seekToEnd()
        let p = ProcessLauncher.process(executable: executable, arguments: arguments, directory: directory, output: stdio)
        defer { try? stdio?.close() }
        try ProcessLauncher.shared.run(p)
        process.withLock { $0 = p }
    }

    public func signal(_ number: Int32) {
        process.withLock {
            if let p = $0, p.isRunning { _ = Glibc.kill(p.processIdentifier, number) }
        }
    }

    /// SIGKILL and wait for the exit.
    public func kill() {
        let p = process.withLock { $0 }
        guard let p, p.isRunning else { return }
        _ = Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// SIGTERM (with SIGCONT, in case it is paused), SIGKILL after `graceNs`, wait for the exit.
    public func stop(graceNs: Int64 = 2_000_000_000) {
        let p = process.withLock { $0 }
        guard let p, p.isRunning else { return }
        _ = Glibc.kill(p.processIdentifier, SIGCONT)
        _ = Glibc.kill(p.processIdentifier, SIGTERM)
        let deadline = RiftClock.monotonicNanoseconds() + graceNs
        while p.isRunning && RiftClock.monotonicNanoseconds() < deadline { usleep(10_000) }
        if p.isRunning { _ = Glibc.kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }
}

/// Launches server processes from one dedicated, never-exiting thread, for two reasons:
///
/// - Signal mask. A child inherits the mask of the thread that spawns it, and Swift's
///   concurrency and Dispatch worker threads block SIGTERM and most other signals; servers
///   spawned from a task would ignore SIGTERM forever. The launcher clears the mask just for
///   the spawn.
/// - Orphans. Servers are wrapped in `setpriv --pdeathsig KILL` (see `setpriv`), so the kernel
///   kills them if Rift or a test process dies instead of leaving them running. The death
///   signal fires when the spawning *thread* exits, hence a thread that lives as long as the
///   process.
public final class ProcessLauncher: Sendable {
    public static let shared = ProcessLauncher()
    /// `setpriv` (util-linux), if installed; without it servers are launched directly and can
    /// outlive a crashed parent.
    public static let setpriv: String? = ["/usr/bin/setpriv", "/bin/setpriv"].first { access($0, X_OK) == 0 }

    private let jobs = JobQueue()

    private init() {
        let jobs = self.jobs
        let thread = Thread {
            while true { jobs.take()() }
        }
        thread.name = "rift-process-launcher"
        thread.start()
    }

    /// A process for `executable` in `directory`, wrapped in `setpriv --pdeathsig KILL` when
    /// there is one, with no stdin and stdout and stderr to `output`.
    public static func process(executable: String, arguments: [String], directory: String, output: FileHandle?) -> Process {
        let p = Process()
        if let setpriv {
            p.executableURL = URL(fileURLWithPath: setpriv)
            p.arguments = ["--pdeathsig", "KILL", "--", executable] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
        }
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = output
        p.standardError = output
        return p
    }

    /// Runs `process` on the launcher thread with an empty signal mask; rethrows its launch error.
    public func run(_ process: Process) throws {
        let done = Completion()
        let job: @Sendable () -> Void = {
            var empty = sigset_t(), saved = sigset_t()
            sigemptyset(&empty)
            pthread_sigmask(SIG_SETMASK, &empty, &saved)
            let result = Result { try process.run() }
            pthread_sigmask(SIG_SETMASK, &saved, nil)
            done.complete(result)
        }
        jobs.put(job)
        try done.wait().get()
    }

    /// Spawn jobs, handed from callers to the launcher thread.
    // @unchecked: `jobs` is touched only with `condition` locked (a condition variable: Mutex cannot wait).
    private final class JobQueue: @unchecked Sendable {
        private let condition = NSCondition()
        private var jobs: [@Sendable () -> Void] = []

        func put(_ job: @escaping @Sendable () -> Void) {
            condition.withLock {
                jobs.append(job)
                condition.broadcast()
            }
        }

        func take() -> @Sendable () -> Void {
            condition.withLock {
                while jobs.isEmpty { condition.wait() }
                return jobs.removeFirst()
            }
        }
    }

    /// One spawn's result, handed from the launcher thread to the caller.
    // @unchecked: `result` is touched only with `condition` locked (a condition variable: Mutex cannot wait).
    private final class Completion: @unchecked Sendable {
        private let condition = NSCondition()
        private var result: Result<Void, any Error>?

        func complete(_ result: Result<Void, any Error>) {
            condition.withLock {
                self.result = result
                condition.broadcast()
            }
        }

        func wait() -> Result<Void, any Error> {
            condition.withLock {
                while result == nil { condition.wait() }
                return result!
            }
        }
    }
}
