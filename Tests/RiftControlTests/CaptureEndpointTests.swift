import Foundation
import Hummingbird
import RiftTestSupport
import RiftCapture
import Testing
@testable import RiftControl

/// `/rift/proxies/{proxy}/pcap` in front of a real redis-server.
@Suite struct CaptureEndpointTests {
    @Test func startShowAndStopACaptureOfOneProxy() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let path = NSTemporaryDirectory() + "rift-api-\(UUID().uuidString).pcap"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await APIHarness.run { (api: APIHarness) async throws in
            let created = try await api.call(.post, "/proxies", #"{"name":"r","upstream":"127.0.0.1:\#(redis.port)"}"#)
            let port = try #require(created.json?["listen"]?.string?.split(separator: ":").last.flatMap { Int($0) })
            #expect(try await api.call(.post, "/rift/proxies/r/pcap", #"{"path":"relative.pcap"}"#).status == .badRequest)
            #expect(try await api.call(.post, "/rift/proxies/nope/pcap", #"{"path":"\#(path)"}"#).status == .notFound)
            #expect(try await api.call(.get, "/rift/proxies/r/pcap").status == .notFound)

            let started = try await api.call(.post, "/rift/proxies/r/pcap", #"{"path":"\#(path)","rotate_bytes":1048576}"#)
            #expect(started.status == .created, "\(started.text)")
            #expect(try await api.call(.post, "/rift/proxies/r/pcap", #"{"path":"\#(path)"}"#).status == .conflict)
            #expect(RedisPing.ping(port: port, timeoutMs: 2000) == "+PONG")
            #expect(try await api.call(.get, "/rift/proxies/r/pcap").json?["path"]?.string == path)

            let stopped = try await api.call(.delete, "/rift/proxies/r/pcap")
            #expect(stopped.status == .ok)
            // Two handshakes (3 packets each), the PING and the PONG on each leg: all were
            // queued before the client had its reply.
            #expect((stopped.json?["packets"]?.number ?? 0) >= 10, "\(stopped.text)")
            #expect(try await api.call(.delete, "/rift/proxies/r/pcap").status == .notFound)
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            #expect(size > 24, "more than a pcap file header")

            // A capture still running when its proxy is deleted is closed with it.
            #expect(try await api.call(.post, "/rift/proxies/r/pcap", #"{"path":"\#(path)"}"#).status == .created)
            let proxy = try #require(api.plane.server.proxy(named: "r"))
            #expect(try await api.call(.delete, "/proxies/r").status == .noContent)
            #expect(proxy.capture?.stats.files == [path])
            proxy.capture?.submit(CaptureRecord(
                source: CaptureEndpoint(address: 1, port: 1), destination: CaptureEndpoint(address: 2, port: 2),
                seq: 0, ack: 0, flags: .syn, payload: nil, seconds: 0, microseconds: 0))
            #expect(proxy.capture?.stats.dropped == 1, "a closed capture takes no more records")
        }
    }
}
