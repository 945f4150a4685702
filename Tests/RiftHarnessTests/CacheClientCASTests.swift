import Foundation
import RiftCore
import RiftTestSupport
import Testing

@testable import RiftHarness

/// Compare-and-set through each kind's cache client, on a real server: from absent, with the
/// wrong expected value (refused, nothing changes), with the right one (stored).
@Suite struct CacheClientCASTests {
    static func exercise(_ client: any CacheClient, node: CacheTarget) throws {
        let deadline = { monotonicNs() + 2_000_000_000 }
        var random = SeededRandom(seed: 1)
        let route = client.route("cas-k", write: true, random: &random, deadlineNs: deadline())
        #expect(route.target == node)
        #expect(try client.cas("cas-k", expected: nil, new: "1", ttlSeconds: 0, via: route, deadlineNs: deadline()).0 == .done)
        #expect(try client.cas("cas-k", expected: nil, new: "9", ttlSeconds: 0, via: route, deadlineNs: deadline()).0 == .notStored)
        #expect(try client.cas("cas-k", expected: "2", new: "9", ttlSeconds: 0, via: route, deadlineNs: deadline()).0 == .notStored)
        #expect(try client.get("cas-k", via: route, deadlineNs: deadline()).0 == .hit(Array("1".utf8)))
        let (stored, answered) = try client.cas("cas-k", expected: "1", new: "2", ttlSeconds: 60, via: route, deadlineNs: deadline())
        #expect(stored == .done && answered == node.node)
        #expect(try client.get("cas-k", via: route, deadlineNs: deadline()).0 == .hit(Array("2".utf8)))
        // A key that is absent does not match an expected value.
        #expect(try client.cas("cas-none", expected: "1", new: "2", ttlSeconds: 0, via: route, deadlineNs: deadline()).0 == .notStored)
        client.close()
    }

    @Test func onRedis() throws {
        let server = try RedisServer.started()
        defer { server.stop() }
        let node = CacheTarget(node: "n1", port: server.port)
        try Self.exercise(ReplicatedClient(primary: node, replicas: [], reads: .primary), node: node)
    }

    @Test func onMemcached() throws {
        let server = try MemcachedServer.started()
        defer { server.stop() }
        let node = CacheTarget(node: "n1", port: server.port)
        try Self.exercise(KetamaClient(nodes: [node], spec: WorkloadSpec()), node: node)
    }
}
