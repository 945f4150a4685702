import Foundation
import Glibc
import Synchronization

/// The built `rift` command, for tests that run it as a user would.
public enum RiftExecutable {
    public struct NotFound: Error, CustomStringConvertible {
        public var near: String
        public var description: String { "no rift executable near \(near); run `swift build` first" }
    }

    /// The `rift` binary in the build folder of this test bundle.
    public static func url() throws -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent("rift")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            dir = dir.deletingLastPathComponent()
        }
        throw NotFound(near: CommandLine.arguments[0])
    }

    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `rift` with `arguments` to completion (killed after `timeout`).
    public static func run(_ arguments: [String], environment: [String: String]? = nil, timeout: Duration = .seconds(60)) throws -> Result {
        let process = try RunningRift(arguments, environment: environment)
        return process.wait(timeout: timeout)
    }
}

/// A `rift` process running in the background (a server), always stopped by `stop()` or
/// on deinit. Its output is collected as it comes.
public final class RunningRift: Sendable {
    private let process = Process()
    /// What the process printed so far, appended by the pipes' handlers.
    private let output = Mutex<(out: Data, err: Data)>((Data(), Data()))
    private let outPipe = Pipe(), errPipe = Pipe()

    public init(_ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = try RiftExecutable.url()
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        outPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.output.withLock { $0.out.append(data) }
        }
        errPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.output.withLock { $0.err.append(data) }
        }
        try process.run()
    }

    deinit { stop() }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var stdout: String { output.withLock { String(decoding: $0.out, as: UTF8.self) } }
    public var stderr: String { output.withLock { String(decoding: $0.err, as: UTF8.self) } }

    /// Waits until stdout contains `text`, or the process exits, or `timeout` passes.
    @discardableResult
    public func waitForOutput(_ text: String, timeout: Duration = .seconds(20)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if stdout.contains(text) { return true }
            if !process.isRunning { return stdout.contains(text) }
            usleep(10_000)
        }
        return false
    }

    /// Sends a signal (SIGINT, SIGTERM).
    public func signal(_ number: Int32) {
        if process.isRunning { Glibc.kill(process.processIdentifier, number) }
    }

    /// Waits for exit (SIGKILL after `timeout`) and returns what it printed.
    public func wait(timeout: Duration) -> RiftExecutable.Result {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        process.waitUntilExit()
        outPipe.fileHandleForReading.readabilityHandler = nil
        errPipe.fileHandleForReading.readabilityHandler = nil
        let restOut = outPipe.fileHandleForReading.readDataToEndOfFile()
        let restErr = errPipe.fileHandleForReading.readDataToEndOfFile()
        output.withLock {
            $0.out.append(restOut)
            $0.err.append(restErr)
        }
        return RiftExecutable.Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// Stops the process if it still runs (SIGTERM, then SIGKILL).
    public func stop() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGTERM)
        _ = wait(timeout: .seconds(5))
    }
}
