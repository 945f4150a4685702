import Foundation
import RiftFaults
import RiftProxy
import RiftTestSupport
import Testing

/// Partitions between labelled nodes on real Redis links: a primary, a replica whose
/// replication link goes through a proxy, and client links to each.
@Suite(.serialized) struct ProxyPartitionTests {
    @Test func partitionCutsExactlyTheCrossingLinksAndHealRestoresThem() async throws {
        let n1 = try RedisServer.started()
        defer { n1.stop() }
        let n2 = try RedisServer.started()
        defer { n2.stop() }
        try await withProxyServer { server in
            let toN1 = try await server.createProxy(ProxyConfig(name: "client-n1", upstream: "127.0.0.1:\(n1.port)", from: "client", to: "n1"))
            let toN2 = try await server.createProxy(ProxyConfig(name: "client-n2", upstream: "127.0.0.1:\(n2.port)", from: "client", to: "n2"))
            let link = try await server.createProxy(ProxyConfig(name: "n2-n1", upstream: "127.0.0.1:\(n1.port)", from: "n2", to: "n1"))
            // n2 replicates n1 through the proxy on the n2 -> n1 link.
            let linkPort = link.port, n2Port = toN2.port, n1Port = toN1.port
            try await blocking {
                let admin = try n2.client()
                _ = try admin.command("REPLICAOF", "127.0.0.1", String(linkPort))
                try n2.waitForReplicaLink(timeout: .seconds(10))
                try RESPClient(port: UInt16(n1Port)).set("k", value: "before")
                try waitUntil { try RESPClient(port: UInt16(n2Port)).get("k") == Array("before".utf8) }
            }
            let c1 = try await blocking { Handoff(try RESPClient(port: UInt16(n1Port), readTimeout: .milliseconds(500))) }
            let c2Socket = try await blocking { Handoff(try BlockingSocket(port: UInt16(n2Port), readTimeout: .milliseconds(500))) }
            let c2 = Handoff(RESPClient(socket: c2Socket.value))

            // Cut n1 off from n2: only the replication link crosses; clients are "client",
            // named in no group, so... name the client with n1 to keep both client links whole.
            let cut = try await server.partition(groups: [["n1", "client"], ["n2"]], mode: .blackhole)
            #expect(link.snapshot.partitionFaults.count == 2)
            #expect(toN1.snapshot.partitionFaults.isEmpty)
            #expect(toN2.snapshot.partitionFaults.count == 2)

            // client -> n1 works; client -> n2 is blackholed (the read times out).
            #expect(try await blocking { try c1.value.command("PING") } == .simpleString("PONG"))
            let c2Outcome = try await blocking { socketError { _ = try c2.value.command("PING") } }
            #expect(c2Outcome == .timedOut)

            // A write on n1 does not reach n2 during the cut.
            try await blocking { try RESPClient(port: UInt16(n1Port)).set("k", value: "during") }
            let direct = try await blocking { try n2.client().get("k") }
            #expect(direct == Array("before".utf8))

            try await server.heal(id: cut.id)
            #expect(link.snapshot.partitionFaults.isEmpty)
            #expect(server.partitions.isEmpty)
            // The held PING reply arrives now, then new traffic flows; replication catches up.
            let (held, next) = try await blocking { () -> (RESPValue, RESPValue) in
                c2Socket.value.readTimeout = .seconds(5)
                let held = try c2.value.readReply()
                let next = try c2.value.command("PING")
                try waitUntil { try n2.client().get("k") == Array("during".utf8) }
                return (held, next)
            }
            #expect(held == .simpleString("PONG"))
            #expect(next == .simpleString("PONG"))
        }
    }

    @Test func resetModeResetsCrossingConnectionsAndRefuseModeRefuses() async throws {
        let n1 = try RedisServer.started()
        defer { n1.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "client-n1", upstream: "127.0.0.1:\(n1.port)", from: "client", to: "n1"))
            let port = proxy.port
            let live = try await blocking { Handoff(try RESPClient(port: UInt16(port))) }
            #expect(try await blocking { try live.value.command("PING") } == .simpleString("PONG"))

            let reset = try await server.partition(groups: [["n1"]], mode: .reset)
            let liveOutcome = try await blocking { socketError { _ = try live.value.command("PING") } }
            #expect(liveOutcome == .connectionReset)
            try await server.heal(id: reset.id)

            _ = try await server.partition(groups: [["n1"]], mode: .refuse)
            #expect(proxy.snapshot.listening == false)
            let refused = try await blocking { socketError { _ = try BlockingSocket(port: UInt16(port)) } }
            #expect(refused == .connectionRefused)
            try await server.heal()
            #expect(try await blocking { try RESPClient(port: UInt16(port)).command("PING") } == .simpleString("PONG"))
        }
    }
}

/// Polls a condition for up to `timeout`; fails the caller's expectation by throwing.
func waitUntil(timeout: Double = 10, _ condition: () throws -> Bool) throws {
    let deadline = monotonicSeconds() + timeout
    while monotonicSeconds() < deadline {
        if (try? condition()) == true { return }
        usleep(20_000)
    }
    struct TimedOut: Error {}
    throw TimedOut()
}
