import CRiftSys
import Foundation
import RiftCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A process the harness started: a server, or an external fleet's action command. It dies
/// with Rift: launched through `setpriv --pdeathsig KILL` from a thread that lives as long as
/// the process, with every signal unblocked and at its default (Swift's worker threads block
/// signals, and children inherit the mask). Spawned with `posix_spawn` (`ProcessLauncher.spawn`),
/// not Foundation's `Process`: its launch scans the parent's open descriptors and crashed
/// (SIGSEGV in its memcpy) while a miss storm opened and closed a thousand sockets.
public final class ChildProcess: Sendable {
    public let executable: String
    public let arguments: [String]
    public let directory: String
    /// Where stdout and stderr go, appended: `stdio.log` in `directory` unless given.
    public let outputPath: String
    private struct Child {
        var pid: pid_t
        /// Once reaped: the exit code, or 128 + the signal that ended it.
        var status: Int32?
    }
    private let child = Mutex<Child?>(nil)

    public init(executable: String, arguments: [String], directory: String, outputPath: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.directory = directory
        self.outputPath = outputPath ?? directory + "/stdio.log"
    }

    public var pid: Int32? { child.withLock { $0?.pid } }

    public var isRunning: Bool {
        guard let c = child.withLock({ $0 }), c.status == nil else { return false }
        guard let status = Self.reap(c.pid, block: false) else { return true }
        record(c.pid, status)
        return false
    }

    /// The exit code (128 + signal when a signal ended it) once it has exited and been
    /// waited for (`isRunning` false, `waitUntilExit`); nil before.
    public var exitStatus: Int32? {
        _ = isRunning
        return child.withLock { $0?.status }
    }

    /// Starts the process (again, after `kill`).
    public func launch() throws {
        let pid = try ProcessLauncher.shared.spawn(executable: executable, arguments: arguments, directory: directory, output: outputPath)
        child.withLock { $0 = Child(pid: pid, status: nil) }
    }

    public func signal(_ number: Int32) {
        guard isRunning, let pid else { return }
        _ = Glibc.kill(pid, number)
    }

    /// SIGKILL and wait for the exit.
    public func kill() {
        guard isRunning, let pid else { return }
        _ = Glibc.kill(pid, SIGKILL)
        waitUntilExit()
    }

    /// SIGTERM (with SIGCONT, in case it is paused), SIGKILL after `graceNs`, wait for the exit.
    public func stop(graceNs: Int64 = 2_000_000_000) {
        guard isRunning, let pid else { return }
        _ = Glibc.kill(pid, SIGCONT)
        _ = Glibc.kill(pid, SIGTERM)
        let deadline = RiftClock.monotonicNanoseconds() + graceNs
        while isRunning && RiftClock.monotonicNanoseconds() < deadline { usleep(10_000) }
        if isRunning { _ = Glibc.kill(pid, SIGKILL) }
        waitUntilExit()
    }

    /// Blocks until the process has exited (at once when it has).
    public func waitUntilExit() {
        guard let c = child.withLock({ $0 }), c.status == nil, let status = Self.reap(c.pid, block: true) else { return }
        record(c.pid, status)
    }

    private func record(_ pid: pid_t, _ status: Int32) {
        child.withLock { if $0?.pid == pid { $0?.status = status } }
    }

    /// `waitpid` for `pid`: its exit code (128 + signal), nil while it runs (when not
    /// `block`ing). A pid already reaped (ECHILD) counts as exited, with status -1.
    static func reap(_ pid: pid_t, block: Bool) -> Int32? {
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, block ? 0 : WNOHANG)
            if r == pid { break }
            if r == 0 { return nil }
            if errno == EINTR { continue }
            return -1
        }
        // The wait status: low 7 bits the signal (0: exited), the next byte the exit code.
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// Why a process could not be spawned.
public struct SpawnError: Error, CustomStringConvertible, Sendable {
    public var executable: String
    public var code: Int32
    public var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
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

    /// Spawns `executable` (wrapped in `setpriv --pdeathsig KILL` when there is one) on the
    /// launcher thread, in `directory`, stdout and stderr appended to `output`; its pid.
    public func spawn(executable: String, arguments: [String], directory: String, output: String) throws -> pid_t {
        let argv = Self.setpriv.map { [$0, "--pdeathsig", "KILL", "--", executable] } ?? [executable]
        let path = Self.setpriv ?? executable
        let all = argv + arguments
        let done = Completion()
        jobs.put {
            var cStrings = all.map { strdup($0) }
            defer { for p in cStrings { free(p) } }
            cStrings.append(nil)
            var pid: pid_t = 0
            let err = cStrings.withUnsafeMutableBufferPointer { crift_spawn(path, $0.baseAddress, directory, output, &pid) }
            done.complete(err == 0 ? .success(pid) : .failure(SpawnError(executable: executable, code: err)))
        }
        return try done.wait().get()
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
        private var result: Result<pid_t, any Error>?

        func complete(_ result: Result<pid_t, any Error>) {
            condition.withLock {
                self.result = result
                condition.broadcast()
            }
        }

        func wait() -> Result<pid_t, any Error> {
            condition.withLock {
                while result == nil { condition.wait() }
                return result!
            }
        }
    }
}
