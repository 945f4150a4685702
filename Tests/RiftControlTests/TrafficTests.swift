import Foundation
import Hummingbird
import RiftTestSupport
import Testing
@testable import RiftControl

/// The in-process API in front of a real redis-server: what it changes, real bytes feel.
@Suite struct TrafficTests {
    @Test func metricsCountRealBytesAndConnections() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await APIHarness.run { (api: APIHarness) async throws in
            let created = try await api.call(.post, "/proxies", #"{"name":"r","upstream":"127.0.0.1:\#(redis.port)"}"#)
            let port = try #require(created.json?["listen"]?.string?.split(separator: ":").last.flatMap { Int($0) })
            #expect(RedisPing.ping(port: port, timeoutMs: 2000) == "+PONG")
            let counted = try await eventually {
                let text = try await api.call(.get, "/metrics").text
                // "PING\r\n" is 6 bytes up, "+PONG\r\n" 7 bytes down.
                return text.contains(#"toxiproxy_proxy_received_bytes_total{direction="upstream",listener="127.0.0.1:\#(port)",proxy="r",upstream="127.0.0.1:\#(redis.port)"} 6"#)
                    && text.contains(#"toxiproxy_proxy_sent_bytes_total{direction="downstream",listener="127.0.0.1:\#(port)",proxy="r",upstream="127.0.0.1:\#(redis.port)"} 7"#)
                    && text.contains(#"rift_proxy_connections_total{proxy="r"} 1"#)
            }
            let metrics = try await api.call(.get, "/metrics").text
            #expect(counted, "\(metrics)")
        }
    }

    @Test func listenChangeRelistensAndUpstreamChangeRedirects() async throws {
        let a = try RedisServer.started(), b = try RedisServer.started()
        defer { a.stop(); b.stop() }
        try await APIHarness.run { (api: APIHarness) async throws in
            let created = try await api.call(.post, "/proxies", #"{"name":"r","upstream":"127.0.0.1:\#(a.port)"}"#)
            let oldListen = try #require(created.json?["listen"]?.string)
            let moved = try await api.call(.patch, "/proxies/r", #"{"listen":"127.0.0.1:0","upstream":"127.0.0.1:\#(b.port)"}"#)
            #expect(moved.status == .ok)
            let newListen = try #require(moved.json?["listen"]?.string)
            #expect(newListen != oldListen)
            let port = try #require(newListen.split(separator: ":").last.flatMap { Int($0) })
            #expect(RedisPing.ping(port: port, timeoutMs: 2000) == "+PONG")
            #expect(api.plane.server.proxy(named: "r")?.config.upstream == "127.0.0.1:\(b.port)")
        }
    }

    @Test func timedLatencySlowsTrafficThenExpires() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await APIHarness.run { (api: APIHarness) async throws in
            let created = try await api.call(.post, "/proxies", #"{"name":"r","upstream":"127.0.0.1:\#(redis.port)"}"#)
            let port = try #require(created.json?["listen"]?.string?.split(separator: ":").last.flatMap { Int($0) })
            try await api.call(.post, "/proxies/r/toxics", #"{"type":"latency","attributes":{"latency":200},"duration_ms":1500}"#)
            let start = ContinuousClock.now
            #expect(RedisPing.ping(port: port, timeoutMs: 5000) == "+PONG")
            #expect(ContinuousClock.now - start >= .milliseconds(200))
            #expect(try await eventually { try await api.call(.get, "/proxies/r/toxics").json == .array([]) })
            let fast = ContinuousClock.now
            #expect(RedisPing.ping(port: port, timeoutMs: 5000) == "+PONG")
            #expect(ContinuousClock.now - fast < .milliseconds(200))
        }
    }
}
