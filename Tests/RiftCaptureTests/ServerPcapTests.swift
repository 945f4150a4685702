import Foundation
import RiftRecord
import RiftTestSupport
import Testing

/// `rift server --pcap` as a user runs it, then `rift record --pcap` on what it wrote.
@Suite(.serialized) struct ServerPcapTests {
    @Test func serverFlagWritesACaptureThatRecordReads() throws {
        _ = try TShark.path()
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let dir = try TempDir()
        defer { dir.remove() }
        let port = FreePort.allocate()
        let config = dir.file("proxies.yaml")
        try """
            proxies:
              - name: redis
                listen: 127.0.0.1:\(port)
                upstream: 127.0.0.1:\(redis.port)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let pcap = dir.file("server.pcap")
        let server = try RunningRift(["server", "--config", config, "--api", "none", "--pcap", pcap, "--pcap-rotate-bytes", "1MB"])
        defer { server.stop() }
        #expect(server.waitForOutput("listening"), "stdout: \(server.stdout)\nstderr: \(server.stderr)")
        let client = try RESPClient(port: port)
        try client.set("s", value: "5")
        #expect(try client.get("s") == Array("5".utf8))
        client.close()
        server.signal(SIGINT)
        let result = server.wait(timeout: .seconds(15))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("0 records dropped"), "\(result.stdout)")

        let resp = try TShark.fields(pcap, respPorts: [Int(port), Int(redis.port)], filter: "resp", ["tcp.dstport"])
        #expect(resp.count == 8, "2 requests and 2 replies on each leg: \(resp)")
        let output = dir.file("h.jsonl")
        let recorded = try RiftExecutable.run(["record", "--pcap", pcap, "--port", String(port), "-o", output])
        #expect(recorded.status == 0, "\(recorded.stderr)")
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 5, "a header and 4 events: \(lines)")
        let check = try RiftExecutable.run(["check", output])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }
}
