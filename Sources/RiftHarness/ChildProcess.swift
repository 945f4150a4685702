import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A server process the harness started. It dies with Rift: launched through
/// `setpriv --pdeathsig KILL` from a thread that lives as long as the process, with an empty
/// signal mask (Swift's worker threads block signals, and children inherit the mask).
public final class ChildProcess: @unchecked Sendable {
    public let executable: String
    public let arguments: [String]
    public let directory: String
    private let lock = NSLock()
    private var process: Process?

    public init(executable: String, arguments: [String], directory: String) {
        self.executable = executable
        self.arguments = arguments
        self.directory = directory
    }

    public var pid: Int32? { lock.withLock { process.map { $0.processIdentifier } } }
    public var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }

    /// Starts the process (again, after `kill`); stdout and stderr go to `stdio.log` in its directory.
    public func launch() throws {
        let p = Process()
        if let setpriv = ChildLauncher.setpriv {
            p.executableURL = URL(fileURLWithPath: setpriv)
            p.arguments = ["--pdeathsig", "KILL", "--", executable] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
        }
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        let stdioPath = directory + "/stdio.log"
        if !FileManager.default.fileExists(atPath: stdioPath) { _ = FileManager.default.createFile(atPath: stdioPath, contents: nil) }
        let stdio = FileHandle(forWritingAtPath: stdioPath)
        _ = try? stdio?.seekToEnd()
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = stdio
        p.standardError = stdio
        defer { try? stdio?.close() }
        try ChildLauncher.shared.run(p)
        lock.withLock { process = p }
    }

    public func signal(_ number: Int32) {
        lock.withLock {
            if let p = process, p.isRunning { _ = Glibc.kill(p.processIdentifier, number) }
        }
    }

    /// SIGKILL and wait for the exit.
    public func kill() {
        let p = lock.withLock { process }
        guard let p, p.isRunning else { return }
        _ = Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// SIGTERM (with SIGCONT, in case it is paused), SIGKILL after `graceNs`, wait for the exit.
    public func stop(graceNs: Int64 = 2_000_000_000) {
        let p = lock.withLock { process }
        guard let p, p.isRunning else { return }
        _ = Glibc.kill(p.processIdentifier, SIGCONT)
        _ = Glibc.kill(p.processIdentifier, SIGTERM)
        let deadline = monotonicNs() + graceNs
        while p.isRunning && monotonicNs() < deadline { usleep(10_000) }
        if p.isRunning { _ = Glibc.kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }
}

/// One never-exiting thread that spawns children with an empty signal mask (see `ChildProcess`).
final class ChildLauncher: @unchecked Sendable {
    static let shared = ChildLauncher()
    static let setpriv: String? = ["/usr/bin/setpriv", "/bin/setpriv"].first { access($0, X_OK) == 0 }

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in
            while true {
                let job = self.condition.withLock {
                    while self.jobs.isEmpty { self.condition.wait() }
                    return self.jobs.removeFirst()
                }
                job()
            }
        }
        thread.name = "rift-harness-launcher"
        thread.start()
    }

    func run(_ process: Process) throws {
        let done = NSCondition()
        var result: Result<Void, any Error>?
        let job = {
            var empty = sigset_t(), saved = sigset_t()
            sigemptyset(&empty)
            pthread_sigmask(SIG_SETMASK, &empty, &saved)
            let r = Result { try process.run() }
            pthread_sigmask(SIG_SETMASK, &saved, nil)
            done.withLock {
                result = r
                done.broadcast()
            }
        }
        condition.withLock {
            jobs.append(job)
            condition.broadcast()
        }
        try done.withLock { () -> Result<Void, any Error> in
            while result == nil { done.wait() }
            return result!
        }.get()
    }
}

/// A loopback TCP port that was free a moment ago (a fleet holds its ports with
/// `PortReservation` until its servers start).
enum FreePort {
    static func allocate() -> UInt16 { PortReservation().reserve() }
}
