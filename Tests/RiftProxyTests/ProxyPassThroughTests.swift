import Foundation
import RiftCore
import RiftFaults
import RiftProxy
import RiftTestSupport
import Testing

/// Real redis-server and memcached behind the proxy, without faults: every byte arrives.
@Suite(.serialized) struct ProxyPassThroughTests {
    static let sizes = [0, 1, 1000, 64 * 1024, 1 << 20]

    @Test(arguments: [true, false]) func redisValuesRoundTripByteExact(relay: Bool) async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer(relay: relay) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            #expect(proxy.port > 0)
            #expect(proxy.snapshot.listen == "127.0.0.1:\(proxy.port)")
            let port = proxy.port
            try await blocking {
                let client = try RESPClient(port: UInt16(port))
                var random = SeededRandom(seed: 9)
                for size in Self.sizes {
                    let value = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
                    try client.set("k\(size)", value: value)
                    #expect(try client.get("k\(size)") == value, "size \(size)")
                }
                client.close()
            }
            #expect(proxy.snapshot.upstreamBytes > Int64(Self.sizes.reduce(0, +)))
            #expect(proxy.snapshot.downstreamBytes > Int64(Self.sizes.reduce(0, +)))
            // Without faults, what was received was sent.
            #expect(proxy.snapshot.upstreamReceivedBytes == proxy.snapshot.upstreamBytes)
            #expect(proxy.snapshot.downstreamReceivedBytes == proxy.snapshot.downstreamBytes)
        }
    }

    @Test(arguments: [true, false]) func memcachedValuesRoundTripByteExact(relay: Bool) async throws {
        let memcached = try MemcachedServer.started()
        defer { memcached.stop() }
        try await withProxyServer(relay: relay) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "mc", upstream: "127.0.0.1:\(memcached.port)"))
            let port = proxy.port
            try await blocking {
                let client = MemcachedClient(socket: try BlockingSocket(port: UInt16(port)))
                var random = SeededRandom(seed: 10)
                for size in Self.sizes {
                    let value = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
                    #expect(try client.set("k\(size)", value: value))
                    #expect(try client.get("k\(size)") == value, "size \(size)")
                }
                #expect(try client.getMany(["k0", "k1", "nokey"]).map { $0?.count } == [0, 1, nil])
                client.close()
            }
        }
    }

    @Test(arguments: [true, false]) func halfCloseIsPassedThrough(relay: Bool) async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer(relay: relay) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            let port = proxy.port
            let reply = try await blocking { () -> [UInt8] in
                let socket = try BlockingSocket(port: UInt16(port))
                try socket.send("*1\r\n$4\r\nPING\r\n")
                // The client closes its write side; the reply must still come back, then EOF.
                try socket.shutdownWrite()
                return try socket.receiveUntilClosed()
            }
            #expect(String(decoding: reply, as: UTF8.self) == "+PONG\r\n")
        }
    }

    @Test(arguments: [true, false]) func failedDialClosesTheClient(relay: Bool) async throws {
        let closedPort = FreePort.allocate()
        try await withProxyServer(relay: relay) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "nowhere", upstream: "127.0.0.1:\(closedPort)"))
            let port = proxy.port
            let outcome = try await blocking { () -> SocketError? in
                let socket = try BlockingSocket(port: UInt16(port), readTimeout: .seconds(5))
                return socketError { _ = try socket.receive() }
            }
            #expect(outcome == .closedByPeer || outcome == .connectionReset, "\(String(describing: outcome))")
        }
    }

    @Test(arguments: [true, false]) func disableRefusesAndClosesThenEnableRelistensOnTheSamePort(relay: Bool) async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer(relay: relay) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            let port = proxy.port
            let live = try await blocking { Handoff(try RESPClient(port: UInt16(port))) }
            #expect(try await blocking { try live.value.command("PING") } == .simpleString("PONG"))

            try await proxy.setEnabled(false)
            #expect(proxy.snapshot.listening == false)
            // New connections are refused; the live one is closed.
            let refused = try await blocking { socketError { _ = try BlockingSocket(port: UInt16(port)) } }
            #expect(refused == .connectionRefused)
            let liveOutcome = try await blocking { socketError { _ = try live.value.command("PING") } }
            #expect(liveOutcome == .closedByPeer || liveOutcome == .connectionReset, "\(String(describing: liveOutcome))")

            try await proxy.setEnabled(true)
            #expect(proxy.port == port)
            #expect(try await blocking { try RESPClient(port: UInt16(port)).command("PING") } == .simpleString("PONG"))
        }
    }

    @Test(arguments: [true, false]) func listenOnABusyPortFailsAndStartsNothing(relay: Bool) async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let busy = try BlockingListener()
        defer { busy.close() }
        try await withProxyServer(relay: relay) { server in
            let file = ProxyConfigFile(entries: [
                .init(proxy: ProxyConfig(name: "ok", upstream: "127.0.0.1:\(redis.port)"), faults: []),
                .init(proxy: ProxyConfig(name: "busy", listen: "127.0.0.1:\(busy.port)", upstream: "127.0.0.1:\(redis.port)"), faults: []),
            ])
            await #expect(throws: ProxyError.self) { try await server.start(file) }
            #expect(server.proxies.isEmpty)
        }
    }
}
