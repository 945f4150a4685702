import Foundation
import RiftCore
import RiftFaults
import RiftProxy
import RiftTestSupport
import Testing

/// Faults on real redis-server and memcached traffic. Timings are checked as lower bounds
/// (a fault must add at least its delay) with generous upper bounds for a shared machine.
@Suite(.serialized) struct ProxyFaultTests {
    @Test func latencyAddsItsDelayPerRoundTrip() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            let port = proxy.port
            let client = try await blocking { Handoff(try RESPClient(port: UInt16(port))) }
            let before = try await blocking { try timed { for _ in 0..<5 { _ = try client.value.command("PING") } } }

            // Added while the connection is live: it applies at once.
            try await proxy.addFault(try fault("latency", ["latency": .int(60)], stream: .downstream))
            try await proxy.addFault(try fault("latency", ["latency": .int(40)], stream: .upstream))
            let slow = try await blocking { try timed { for _ in 0..<5 { _ = try client.value.command("PING") } } }
            #expect(slow >= 5 * 0.100, "5 round trips with 60+40 ms: \(slow) s")
            #expect(slow < 5 * 0.100 + 2.0)

            try await proxy.removeFault(named: "latency_downstream")
            try await proxy.removeFault(named: "latency_upstream")
            let after = try await blocking { try timed { for _ in 0..<5 { _ = try client.value.command("PING") } } }
            #expect(after < slow / 2, "removed latency still slows: before \(before), after \(after)")
            client.value.close()
        }
    }

    @Test func timeoutBlackholesThenCloses() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(
                ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"),
                faults: [try fault("timeout", ["timeout": .int(300)], stream: .upstream)])
            let port = proxy.port
            let (outcome, elapsed) = try await blocking { () -> (SocketError?, Double) in
                let socket = try BlockingSocket(port: UInt16(port), readTimeout: .seconds(5))
                let start = monotonicSeconds()
                try socket.send("*1\r\n$4\r\nPING\r\n")
                let outcome = socketError { _ = try socket.receive() }
                return (outcome, monotonicSeconds() - start)
            }
            // No reply ever comes; the connection closes once the timeout passes.
            #expect(outcome == .closedByPeer, "\(String(describing: outcome))")
            #expect(elapsed >= 0.25, "closed after \(elapsed) s")
            #expect(elapsed < 4)
            // The PING was read from the client (received) but never passed on (sent).
            #expect(proxy.snapshot.upstreamReceivedBytes == 14)
            #expect(proxy.snapshot.upstreamBytes == 0)
        }
    }

    @Test func resetPeerResetsTheClient() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(
                ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"),
                faults: [try fault("reset_peer", ["timeout": .int(0)], stream: .downstream)])
            let port = proxy.port
            let outcome = try await blocking { () -> SocketError? in
                let client = try RESPClient(port: UInt16(port))
                return socketError { _ = try client.command("PING") }
            }
            #expect(outcome == .connectionReset)
        }
    }

    @Test func bandwidthPacesALargeValue() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            let port = proxy.port
            let value = [UInt8](repeating: 0x61, count: 400_000)
            try await blocking { try RESPClient(port: UInt16(port)).set("big", value: value) }
            // 1000 KB/s: 400 KB takes at least 0.4 s downstream.
            try await proxy.addFault(try fault("bandwidth", ["rate": .int(1000)], stream: .downstream))
            let (got, elapsed) = try await blocking { () -> ([UInt8]?, Double) in
                let client = try RESPClient(port: UInt16(port))
                var got: [UInt8]?
                let elapsed = try timed { got = try client.get("big") }
                return (got, elapsed)
            }
            #expect(got == value)
            #expect(elapsed >= 0.35, "400 KB at 1000 KB/s took \(elapsed) s")
            #expect(elapsed < 3)
        }
    }

    @Test func downRefusesNewConnectionsButKeepsLiveOnes() async throws {
        let memcached = try MemcachedServer.started()
        defer { memcached.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "mc", upstream: "127.0.0.1:\(memcached.port)"))
            let port = proxy.port
            let live = try await blocking { Handoff(MemcachedClient(socket: try BlockingSocket(port: UInt16(port)))) }
            // A round trip first: a connection still in the listen backlog when the listener
            // closes is reset by the kernel, which is `down` working, not a live connection lost.
            _ = try await blocking { try live.value.version() }
            try await proxy.addFault(try fault("down", [:]))
            let refused = try await blocking { socketError { _ = try BlockingSocket(port: UInt16(port)) } }
            #expect(refused == .connectionRefused)
            #expect(try await blocking { try live.value.set("a", value: [1, 2, 3]) })
            #expect(try await blocking { try live.value.get("a") } == [1, 2, 3])

            try await proxy.removeFault(named: "down_downstream")
            #expect(proxy.port == port)
            let again = try await blocking { try MemcachedClient(socket: try BlockingSocket(port: UInt16(port))).get("a") }
            #expect(again == [1, 2, 3])
            live.value.close()
        }
    }

    @Test func toxicityZeroLeavesConnectionsAlone() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(
                ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"),
                faults: [try fault("timeout", ["timeout": .int(0)], stream: .upstream, toxicity: 0)])
            let port = proxy.port
            #expect(try await blocking { try RESPClient(port: UInt16(port)).command("PING") } == .simpleString("PONG"))
        }
    }
}
