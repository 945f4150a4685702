import Foundation
import RiftTestSupport
import Testing

/// `rift server` as a user runs it: a config file, real Redis behind it, signals to stop.
@Suite(.serialized) struct ServerCommandTests {
    func writeConfig(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rift-\(UUID()).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func servesAConfigFileAndStopsOnSIGTERM() throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let port = FreePort.allocate()
        let config = try writeConfig("""
            seed: 3
            proxies:
              - name: redis
                listen: 127.0.0.1:\(port)
                upstream: 127.0.0.1:\(redis.port)
                toxics:
                  - {type: latency, attributes: {latency: 50}}
            """)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let server = try RunningRift(["server", "--config", config])
        defer { server.stop() }
        #expect(server.waitForOutput("listening"), "stdout: \(server.stdout)\nstderr: \(server.stderr)")
        #expect(server.stdout.contains("127.0.0.1:\(port)"))

        let client = RESPClient(socket: try BlockingSocket(port: port))
        let start = ContinuousClock.now
        #expect(try client.command("PING") == .simpleString("PONG"))
        #expect(ContinuousClock.now - start >= .milliseconds(50))
        client.close()

        server.signal(SIGTERM)
        let result = server.wait(timeout: .seconds(10))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("SIGTERM"))
        // Every listener is closed.
        #expect(throws: SocketError.connectionRefused) { _ = try BlockingSocket(port: port) }
    }

    @Test func badConfigExitsTwoNamingFileLineAndField() throws {
        let config = try writeConfig("""
            proxies:
              - name: redis
                upstream: 127.0.0.1:1
                toxics:
                  - type: latency
                    attributes: {latency: -1}
            """)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let result = try RiftExecutable.run(["server", "--config", config])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(config):6:"), "\(result.stderr)")
        #expect(result.stderr.contains("latency"))
        #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
    }

    @Test func portInUseExitsTwoAndStartsNothing() throws {
        let busy = try BlockingListener()
        defer { busy.close() }
        let free = FreePort.allocate()
        let config = try writeConfig("""
            proxies:
              - {name: first, listen: "127.0.0.1:\(free)", upstream: "127.0.0.1:1"}
              - {name: second, listen: "127.0.0.1:\(busy.port)", upstream: "127.0.0.1:1"}
            """)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let result = try RiftExecutable.run(["server", "--config", config])
        #expect(result.status == 2)
        #expect(result.stderr.contains("second"), "\(result.stderr)")
        #expect(result.stderr.contains("127.0.0.1:\(busy.port)"))
    }

    @Test func missingConfigAndUnknownOptionExitTwo() throws {
        let missing = try RiftExecutable.run(["server", "--config", "/nonexistent/rift.yaml"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent/rift.yaml"))
        let unknown = try RiftExecutable.run(["server", "--no-such-flag"])
        #expect(unknown.status == 2)
        let threads = try RiftExecutable.run(["server", "--threads", "0", "--api", "none"])
        #expect(threads.status == 2)
        #expect(threads.stderr.contains("--threads 0"))
    }

    @Test func helpShowsAnExample() throws {
        let help = try RiftExecutable.run(["server", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("rift server --config"))
    }
}
