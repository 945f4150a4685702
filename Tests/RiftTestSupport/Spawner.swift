import Foundation
import Glibc

/// Launches server processes from one dedicated, never-exiting thread, for two reasons:
///
/// - Signal mask. A child inherits the mask of the thread that spawns it, and Swift's
///   concurrency and Dispatch worker threads block SIGTERM and most other signals; servers
///   spawned from a test task would ignore SIGTERM forever. The spawner clears the mask just
///   for the spawn.
/// - Orphans. Servers are wrapped in `setpriv --pdeathsig KILL`, so the kernel kills them if the
///   test process dies (a crash, a CI timeout) instead of leaving them running. The death signal
///   fires when the spawning *thread* exits, hence a thread that lives as long as the process.
final class Spawner: @unchecked Sendable {
    static let shared = Spawner()

    /// `setpriv` (util-linux), if installed; without it servers are launched directly and can
    /// outlive a crashed test process.
    static let setpriv: String? = ServerProcess.findExecutable("setpriv")

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "rift-test-spawner"
        thread.start()
    }

    /// Runs `process` on the spawner thread with an empty signal mask; rethrows its launch error.
    func run(_ process: Process) throws {
        let done = Completion()
        let job: @Sendable () -> Void = {
            var empty = sigset_t()
            var saved = sigset_t()
            sigemptyset(&empty)
            pthread_sigmask(SIG_SETMASK, &empty, &saved)
            let result = Result { try process.run() }
            pthread_sigmask(SIG_SETMASK, &saved, nil)
            done.complete(result)
        }
        condition.withLock {
            jobs.append(job)
            condition.broadcast()
        }
        try done.wait().get()
    }

    /// One spawn's result, handed from the spawner thread to the caller.
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

    private func loop() {
        while true {
            let job = condition.withLock {
                while jobs.isEmpty { condition.wait() }
                return jobs.removeFirst()
            }
            job()
        }
    }
}
