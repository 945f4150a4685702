import Foundation
import Glibc
import RiftTestSupport
import Testing

/// The relay as a user runs it (`rift server`), at the edge of its limits.
@Suite struct RelayLimitsTests {
    /// With its descriptors used up, the server must neither spin nor die: a pending
    /// connection it cannot accept waits (the listener is paused for a moment) or is closed,
    /// and once descriptors are free again it serves new connections.
    @Test func runningOutOfDescriptorsNeitherSpinsNorStops() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let port = Processes.freePort()
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("rift-limits-\(UUID().uuidString).yaml").path
        try "proxies:\n  - name: r\n    listen: 127.0.0.1:\(port)\n    upstream: 127.0.0.1:\(redis.port)\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let child = try Child("/bin/sh", [
            "-c", #"ulimit -n 64 && exec "$0" "$@""#, Processes.riftBinary,
            "server", "--config", config, "--api", "127.0.0.1:0", "--threads", "1",
        ])
        defer { child.stop() }
        _ = try child.waitForLine(prefix: "rift server: API on http://")

        // Each relayed connection takes two descriptors: 60 exhaust the 64 allowed.
        var clients: [Int32] = []
        defer { for fd in clients { close(fd) } }
        for _ in 0..<60 {
            if let fd = connectLoopback(port: port) { clients.append(fd) }
        }
        try await Task.sleep(for: .milliseconds(300))
        let before = try cpuTicks(child.process.processIdentifier)
        try await Task.sleep(for: .seconds(1))
        let after = try cpuTicks(child.process.processIdentifier)
        let ticksPerSecond = sysconf(Int32(_SC_CLK_TCK))
        #expect(after - before < ticksPerSecond / 4, "rift used \(after - before) ticks of CPU in 1 s while out of descriptors")
        #expect(child.process.isRunning)

        for fd in clients { close(fd) }
        clients = []
        let served = await eventually(timeout: .seconds(5)) { RedisPing.ping(port: port, timeoutMs: 500) == "+PONG" }
        #expect(served)
    }

    private func connectLoopback(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        guard RiftControlTests.connectLoopback(fd, port: port) else {
            close(fd)
            return nil
        }
        return fd
    }

    /// User plus system CPU time of a process, in clock ticks.
    private func cpuTicks(_ pid: Int32) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name (which is in parentheses and may hold spaces).
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        return Int(fields[11])! + Int(fields[12])!
    }
}
