import Foundation
import RiftTestSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Real processes for the black-box tests: the built `rift` binary and python (redis-server
/// comes from RiftTestSupport).
enum Processes {
    /// The directory of the test bundle, where SwiftPM also puts the `rift` executable.
    static var productsDirectory: URL {
        let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        var dir = exe.deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("rift").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }

    static var riftBinary: String { productsDirectory.appendingPathComponent("rift").path }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a process to completion.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "RIFT_API")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes fully before waiting, so a chatty child never blocks on a full pipe.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    static func rift(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try run(riftBinary, arguments, environment: environment)
    }

    /// A free TCP port on loopback (RiftTestSupport's allocator).
    static func freePort() -> Int { Int(FreePort.allocate()) }
}

/// A long-running child (a server) that is terminated when the test ends.
final class Child: Sendable {
    let process = Process()
    private let stdout = Pipe()
    /// Stdout read so far by `waitForLine`.
    private let buffered = Mutex(Data())

    init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Reads stdout until a line starts with `prefix`; returns the rest of that line.
    func waitForLine(prefix: String, timeout: Duration = .seconds(20)) throws -> String {
        let deadline = ContinuousClock.now + timeout
        let handle = stdout.fileHandleForReading
        while ContinuousClock.now < deadline {
            if let text = String(data: buffered.withLock { $0 }, encoding: .utf8) {
                for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
                    return String(line.dropFirst(prefix.count))
                }
            }
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffered.withLock { $0.append(chunk) }
        }
        throw POSIXError(.ETIMEDOUT)
    }

    /// SIGTERM, then SIGKILL if it is still running after `grace`. A child may inherit a
    /// blocked SIGTERM from the test runner's threads, so the kill is what guarantees the end.
    func stop(grace: Duration = .seconds(3)) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + grace
        while process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// One PING on a fresh connection: the reply line, or nil on refusal, reset or timeout.
enum RedisPing {
    static func ping(port: Int, timeoutMs: Int) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard connectLoopback(fd, port: port) else { return nil }
        let request = Array("PING\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return nil }
        var reply = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 64)
        while !reply.contains(UInt8(ascii: "\n")) {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { return nil }
            reply += buffer[0..<n]
        }
        return String(decoding: reply, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// `rift server` on a free API port, with its API URL.
final class RiftServerProcess: Sendable {
    let url: String
    let eventsPath: String
    private let child: Child

    init() throws {
        eventsPath = FileManager.default.temporaryDirectory.appendingPathComponent("rift-\(UUID().uuidString).jsonl").path
        child = try Child(Processes.riftBinary, ["server", "--api", "127.0.0.1:0", "--events", eventsPath, "--seed", "1"])
        url = "http://" + (try child.waitForLine(prefix: "rift server: API on http://"))
    }

    func stop() {
        child.stop()
        try? FileManager.default.removeItem(atPath: eventsPath)
    }
}

/// Connects a blocking socket to 127.0.0.1:`port`; false when refused or failed.
func connectLoopback(_ fd: Int32, port: Int) -> Bool {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return connected == 0
}
