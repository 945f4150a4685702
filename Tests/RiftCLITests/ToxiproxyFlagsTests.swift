import Foundation
import RiftTestSupport
import Testing

/// `rift server` started as toxiproxy-server is (by Testcontainers' Toxiproxy modules, by scripts):
/// its single-dash flags in both forms, and its JSON config.
@Suite(.serialized) struct ToxiproxyFlagsTests {
    /// One HTTP/1.1 GET on loopback, as the body of the answer.
    func get(port: UInt16, _ path: String) throws -> String {
        let socket = try BlockingSocket(port: port)
        defer { socket.close() }
        try socket.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let answer = String(decoding: try socket.receiveUntilClosed(), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 200"), "\(path): \(answer)")
        return answer.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
    }

    func toxiproxyConfig(listen: UInt16, upstream: UInt16) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rift-tc-\(UUID()).json").path
        try """
            [{"name": "redis", "listen": "127.0.0.1:\(listen)", "upstream": "127.0.0.1:\(upstream)", "enabled": true}]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(arguments: [true, false]) func servesTheAPIOnHostPortWithTheConfigsProxies(equalsForm: Bool) throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let apiPort = FreePort.allocate(), proxyPort = FreePort.allocate()
        let config = try toxiproxyConfig(listen: proxyPort, upstream: redis.port)
        defer { try? FileManager.default.removeItem(atPath: config) }
        // `-flag=value` under `rift server`; `-flag value` with `server` implied, as a container
        // whose entrypoint is `rift` runs Testcontainers' command.
        let arguments = equalsForm
            ? ["server", "-host=127.0.0.1", "-port=\(apiPort)", "-config=\(config)", "-proxy-metrics", "-runtime-metrics=true"]
            : ["-host", "127.0.0.1", "-port", "\(apiPort)", "-config", config, "-runtime-metrics"]
        let server = try RunningRift(arguments)
        defer { server.stop() }
        #expect(server.waitForOutput("API on http://127.0.0.1:\(apiPort)"), "stdout: \(server.stdout)\nstderr: \(server.stderr)")

        #expect(try get(port: apiPort, "/version").contains("\"version\""))
        let proxies = try get(port: apiPort, "/proxies")
        #expect(proxies.contains("\"redis\""), "\(proxies)")
        #expect(proxies.contains("127.0.0.1:\(proxyPort)"), "\(proxies)")
        let client = RESPClient(socket: try BlockingSocket(port: proxyPort))
        #expect(try client.command("PING") == .simpleString("PONG"))
        client.close()
    }

    @Test func offLoopbackHostWithoutTokenWarnsAsToxiproxyServesAnyHost() throws {
        let apiPort = FreePort.allocate()
        let server = try RunningRift(["server", "-host=0.0.0.0", "-port=\(apiPort)"])
        defer { server.stop() }
        #expect(server.waitForOutput("API on http://"), "stdout: \(server.stdout)\nstderr: \(server.stderr)")
        #expect(server.stderr.contains("warning: -host 0.0.0.0 without --token"), "\(server.stderr)")
        #expect(try get(port: apiPort, "/version").contains("\"version\""))
        // --api keeps its rule: off loopback needs a token.
        let refused = try RiftExecutable.run(["server", "--api", "0.0.0.0:\(apiPort)"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--token FILE"))
    }

    @Test func onlyTheServersExactToxiproxyFlagsAreRewritten() throws {
        // Both ways of giving the API's address: refused, not silently one of them.
        let both = try RiftExecutable.run(["server", "--api", "127.0.0.1:0", "-port=1"])
        #expect(both.status == 2)
        #expect(both.stderr.contains("give one of them"), "\(both.stderr)")
        // A look-alike name is not rewritten, and other commands keep their own parsing.
        let lookAlike = try RiftExecutable.run(["server", "-hosts=127.0.0.1"])
        #expect(lookAlike.status == 2)
        #expect(lookAlike.stderr.contains("unknown flag -hosts"), "\(lookAlike.stderr)")
        let other = try RiftExecutable.run(["status", "-host=127.0.0.1"])
        #expect(other.status == 2)
        #expect(!other.stderr.contains("API on"))
        let badBool = try RiftExecutable.run(["server", "-proxy-metrics=maybe"])
        #expect(badBool.status == 2)
        #expect(badBool.stderr.contains("-proxy-metrics=maybe: not a boolean"), "\(badBool.stderr)")
        let missingValue = try RiftExecutable.run(["-host"])
        #expect(missingValue.status == 2)
        #expect(missingValue.stderr.contains("host"), "\(missingValue.stderr)")
        let badPort = try RiftExecutable.run(["server", "-host=127.0.0.1", "-port=70000"])
        #expect(badPort.status == 2)
        #expect(badPort.stderr.contains("-host/-port"), "\(badPort.stderr)")
    }

    @Test func helpShowsTheToxiproxyFormWithAnExample() throws {
        for arguments in [["server", "--help"], ["server", "-help"]] {
            let help = try RiftExecutable.run(arguments)
            #expect(help.status == 0, "\(arguments): \(help.stderr)")
            #expect(help.stdout.contains("rift server -host=0.0.0.0 -config=/tmp/tc-toxiproxy.json"), "\(help.stdout)")
        }
    }
}
