import Foundation
import RiftCapture
import RiftProxy
import RiftTestSupport

/// A fresh directory for one test's files, removed by `remove()`.
struct TempDir {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "rift-capture-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A proxy server with a capture for one test; the server is shut down and the capture
/// closed (everything written) before `body`'s result is returned.
func withCapturingProxy<T>(
    _ options: PacketCapture.Options, _ body: (ProxyServer) async throws -> T
) async throws -> (result: T, stats: PacketCapture.Stats) {
    let capture = try PacketCapture(options)
    let server = ProxyServer(seed: 1, threads: 2, capture: capture)
    let result: T
    do {
        result = try await body(server)
    } catch {
        await server.shutdown()
        capture.close()
        throw error
    }
    // Connections close as the server shuts down; their FINs are in the capture after that.
    await server.shutdown()
    capture.close()
    return (result, capture.stats)
}

/// Waits (polling, bounded) until the proxy has no open connection, so that both legs' FINs
/// have been captured.
func waitForNoConnections(_ proxy: Proxy, timeout: Duration = .seconds(10)) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while proxy.snapshot.openConnections > 0 {
        if clock.now > deadline { throw TestFailure("the proxy still has \(proxy.snapshot.openConnections) connections after \(timeout)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `tshark`, which the capture tests need (ci/setup installs it). A missing tshark fails the
/// test with that message, never passes it silently.
enum TShark {
    static func path() throws -> String {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] where FileManager.default.isExecutableFile(atPath: dir + "/tshark") {
            return dir + "/tshark"
        }
        throw TestFailure("tshark is not installed: run ci/setup (it installs tshark) to run the pcap tests")
    }

    /// tshark's stdout for `arguments`; throws with its stderr when it fails.
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path())
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("tshark \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: errData, as: UTF8.self))")
        }
        return String(decoding: outData, as: UTF8.self)
    }

    /// One line of tab-separated fields per packet that matches `filter`, with RESP decoded on `ports`.
    static func fields(_ file: String, respPorts: [Int], filter: String, _ fields: [String]) throws -> [[String]] {
        var args = ["-r", file, "-n"]
        for port in respPorts { args += ["-d", "tcp.port==\(port),resp"] }
        args += ["-Y", filter, "-T", "fields"]
        for f in fields { args += ["-e", f] }
        return try run(args).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }
}
