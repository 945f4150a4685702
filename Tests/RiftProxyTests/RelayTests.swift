import Foundation
import RiftCore
import RiftFaults
import RiftProxy
import RiftTestSupport
import Testing

/// The relay: fault-free connections skip SwiftNIO's pipelines, and move onto them, with
/// every byte, the moment a fault applies. Real redis-server behind the proxy.
@Suite(.serialized) struct RelayTests {
    @Test func faultFreeConnectionsAreRelayedAndHandedOverWithEveryByteWhenAFaultComes() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            let port = proxy.port
            let client = try await blocking { Handoff(try RESPClient(port: UInt16(port), readTimeout: .seconds(30))) }
            #expect(try await blocking { try client.value.command("PING") } == .simpleString("PONG"))
            #expect(proxy.snapshot.relayedConnections == 1)
            #expect(proxy.snapshot.openConnections == 1)

            // Large pipelined SETs keep both directions' buffers full while the fault arrives,
            // so the relay holds bytes at the moment it hands the connection over.
            var random = SeededRandom(seed: 21)
            let values = (0..<12).map { _ in (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) } }
            let load = Task.detached { () throws -> [RESPValue] in
                try await blocking {
                    try client.value.pipeline(values.enumerated().map { index, value in
                        [Array("SET".utf8), Array("big\(index)".utf8), value]
                    })
                }
            }
            try await Task.sleep(for: .milliseconds(5))
            try await proxy.addFault(try fault("latency", ["latency": .int(40)], stream: .upstream, name: "slow"))
            #expect(proxy.snapshot.relayedConnections == 0)
            #expect(proxy.snapshot.openConnections == 1)
            let replies = try await load.value
            #expect(replies == Array(repeating: .simpleString("OK"), count: values.count))

            // The same connection now has the fault, and every value arrived whole.
            let elapsed = try await blocking { try timed { _ = try client.value.command("PING") } }
            #expect(elapsed >= 0.035, "PING took \(elapsed) s with 40 ms upstream latency")
            for (index, value) in values.enumerated() {
                #expect(try await blocking { try client.value.get("big\(index)") } == value, "value \(index)")
            }

            // Without faults, new connections are relayed again; the handed-over one stays put.
            try await proxy.removeFault(named: "slow")
            let second = try await blocking { Handoff(try RESPClient(port: UInt16(port))) }
            #expect(try await blocking { try second.value.command("PING") } == .simpleString("PONG"))
            #expect(proxy.snapshot.relayedConnections == 1)
            #expect(proxy.snapshot.openConnections == 2)
            #expect(proxy.snapshot.connectionsTotal == 2)
            client.value.close()
            second.value.close()
        }
    }

    @Test func withoutTheRelayNothingIsRelayed() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer(relay: false) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            let port = proxy.port
            let client = try await blocking { Handoff(try RESPClient(port: UInt16(port))) }
            #expect(try await blocking { try client.value.command("PING") } == .simpleString("PONG"))
            #expect(proxy.snapshot.relayedConnections == 0)
            #expect(proxy.snapshot.openConnections == 1)
            client.value.close()
        }
    }

    @Test func connectionsAcceptedWhileAFaultIsOnGetAPipeline() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(
                ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"),
                faults: [try fault("latency", ["latency": .int(30)], stream: .downstream)])
            let port = proxy.port
            let elapsed = try await blocking { () -> Double in
                let client = try RESPClient(port: UInt16(port))
                defer { client.close() }
                return try timed { _ = try client.command("PING") }
            }
            #expect(elapsed >= 0.025, "PING took \(elapsed) s with 30 ms downstream latency")
            #expect(proxy.snapshot.relayedConnections == 0)
        }
    }

    /// A reset on one side reaches the other side as a reset, on either path.
    @Test(arguments: [true, false]) func aServerResetReachesTheClientAsAReset(relay: Bool) async throws {
        let sink = try BlockingListener()
        defer { sink.close() }
        try await withProxyServer(relay: relay) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "sink", upstream: "127.0.0.1:\(sink.port)"))
            let port = proxy.port
            let outcome = try await blocking { () -> SocketError? in
                let client = try BlockingSocket(port: UInt16(port), readTimeout: .seconds(5))
                defer { client.close() }
                try client.send("hello")
                let peer = try sink.accept()
                _ = try peer.receive()
                peer.abort()
                return socketError { _ = try client.receive() }
            }
            #expect(outcome == .connectionReset, "\(String(describing: outcome))")
        }
    }

    @Test(arguments: [true, false]) func aClientResetReachesTheServerAsAReset(relay: Bool) async throws {
        let sink = try BlockingListener()
        defer { sink.close() }
        try await withProxyServer(relay: relay) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "sink", upstream: "127.0.0.1:\(sink.port)"))
            let port = proxy.port
            let outcome = try await blocking { () -> SocketError? in
                let client = try BlockingSocket(port: UInt16(port), readTimeout: .seconds(5))
                try client.send("hello")
                let peer = try sink.accept()
                defer { peer.close() }
                _ = try peer.receive()
                client.abort()
                return socketError { _ = try peer.receive() }
            }
            #expect(outcome == .connectionReset, "\(String(describing: outcome))")
            // The relay (or the pipeline) let go of the connection.
            for _ in 0..<100 where proxy.snapshot.openConnections > 0 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(proxy.snapshot.openConnections == 0)
        }
    }

    /// Many connections at once, each with its own pipelined traffic, through the relay and
    /// across a fault arriving and leaving: every reply in order, on every connection.
    @Test func manyConcurrentConnectionsKeepTheirReplies() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            let port = proxy.port
            let loads = (0..<16).map { connection in
                Task.detached { () throws -> Bool in
                    try await blocking {
                        let client = try RESPClient(port: UInt16(port), readTimeout: .seconds(20))
                        defer { client.close() }
                        var expected: Int64 = 0
                        for _ in 0..<20 {
                            let replies = try client.pipeline((0..<50).map { _ in ["INCR", "counter\(connection)"] })
                            for reply in replies {
                                expected += 1
                                guard reply == .integer(expected) else { return false }
                            }
                        }
                        return true
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(20))
            try await proxy.addFault(try fault("latency", ["latency": .int(1)], stream: .downstream, name: "lat"))
            try await Task.sleep(for: .milliseconds(20))
            try await proxy.removeFault(named: "lat")
            for (index, load) in loads.enumerated() {
                #expect(try await load.value, "connection \(index) saw a reply out of order")
            }
        }
    }
}
