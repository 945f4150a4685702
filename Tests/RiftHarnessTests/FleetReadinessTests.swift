import Foundation
import RiftClient
import Testing

@testable import RiftHarness

/// A fleet is ready when it keeps its promise: when `start` returns, and when a `restart`,
/// `promote` or `replicaof` returns, a write on the primary is read on every replica through
/// the replicas' client proxies within 50 ms. (With `master_link_status:up` as the rule a
/// replica served reads up to a second old: the primary holds the stream after a full sync
/// until the replica's first `REPLCONF ACK`.) Real redis-server, the fleet's own proxies.
@Suite(.serialized) struct FleetReadinessTests {
    static let root = NodeActionTests.root
    static let boundNs: Int64 = 50_000_000

    /// Writes a fresh value on `primary` through its client proxy, then reads every replica
    /// through its client proxy until each has it: how long each took after the write was
    /// acknowledged (nil: not within 2 s). `readonly`: a cluster replica's reads need READONLY.
    static func propagation(_ fleet: Fleet, key: String, primary: String, replicas: [String], readonly: Bool = false) throws -> [String: Int64?] {
        let value = UUID().uuidString
        let writer = RESPClient(reconnectingTo: try #require(fleet.clientPort(of: primary)))
        defer { writer.close() }
        let readers = try replicas.map { RESPClient(reconnectingTo: try #require(fleet.clientPort(of: $0))) }
        defer { for r in readers { r.close() } }
        if readonly { for r in readers { #expect(try r.request(["READONLY"], deadlineNs: monotonicNs() + 2_000_000_000) == .simpleString("OK")) } }
        #expect(try writer.request(["SET", key, value], deadlineNs: monotonicNs() + 2_000_000_000) == .simpleString("OK"))
        let written = monotonicNs()
        var seen: [String: Int64?] = Dictionary(uniqueKeysWithValues: replicas.map { ($0, nil) })
        while monotonicNs() - written < 2_000_000_000, seen.values.contains(where: { $0 == nil }) {
            for (name, reader) in zip(replicas, readers) where seen[name]! == nil {
                if try reader.request(["GET", key], deadlineNs: monotonicNs() + 1_000_000_000) == .bulk(value) {
                    seen[name] = monotonicNs() - written
                }
            }
        }
        return seen
    }

    static func expectFresh(_ seen: [String: Int64?], _ step: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for (replica, took) in seen.sorted(by: { $0.key < $1.key }) {
            #expect(took.map { $0 <= boundNs } == true,
                    "after \(step): \(replica) read the write \(took.map { "\(Double($0) / 1e6) ms" } ?? "not within 2 s") after it was acknowledged",
                    sourceLocation: sourceLocation)
        }
    }

    /// Which replicas a readiness step proves: each with the root of its chain, only when every
    /// hop can carry the marker, and only those below the node a step acted on.
    @Test func pairsFollowChainsToTheirRoot() {
        typealias Pair = ReplicationReadiness.Pair
        // n2 and n4 replicate n1; n3 replicates n2 (a chain); n5 and n6 replicate each other.
        let upstream = ["n2": "n1", "n3": "n2", "n4": "n1", "n5": "n6", "n6": "n5"]
        let all = ReplicationReadiness.pairs(upstream: upstream, up: { _ in true }, carries: { _, _ in true })
        #expect(all == [Pair(root: "n1", replica: "n2"), Pair(root: "n1", replica: "n3"), Pair(root: "n1", replica: "n4")])
        // After a step on n2: n2 and what hangs below it, not n4.
        #expect(ReplicationReadiness.pairs(upstream: upstream, involving: "n2", up: { _ in true }, carries: { _, _ in true })
            == [Pair(root: "n1", replica: "n2"), Pair(root: "n1", replica: "n3")])
        // A cut hop (n3 to n2) leaves n3 out; a root that is down leaves its whole tree out.
        #expect(ReplicationReadiness.pairs(upstream: upstream, up: { _ in true }, carries: { r, _ in r != "n3" })
            == [Pair(root: "n1", replica: "n2"), Pair(root: "n1", replica: "n4")])
        #expect(ReplicationReadiness.pairs(upstream: upstream, up: { $0 != "n1" }, carries: { _, _ in true }).isEmpty)
    }

    /// Starts the fleet of `harness/<file>` in a temporary folder, runs `body`, and stops it
    /// whatever happens.
    static func withFleet(_ file: String, _ body: (Topology, Fleet) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-ready-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let topology = try ScenarioParser.parseTopology(try String(contentsOfFile: Self.root + "/harness/" + file, encoding: .utf8), file: file)
        let fleet = try Fleet(topology: topology, directory: dir, seed: 1)
        try await fleet.start()
        do { try await body(topology, fleet) } catch {
            await fleet.stop()
            throw error
        }
        await fleet.stop()
    }

    @Test func replicasAreFreshAfterStartRestartAndFailover() async throws {
        try await Self.withFleet("redis-replicated.yaml") { _, fleet in
            Self.expectFresh(try Self.propagation(fleet, key: "k", primary: "n1", replicas: ["n2", "n3"]), "start")
            try await offPool { try fleet.restart("n2") }
            Self.expectFresh(try Self.propagation(fleet, key: "k", primary: "n1", replicas: ["n2", "n3"]), "restart n2")
            // Empty, n3 needs a full sync: the primary then holds the stream until n3's first ACK.
            try await offPool { try fleet.restart("n3", keepData: false) }
            Self.expectFresh(try Self.propagation(fleet, key: "k", primary: "n1", replicas: ["n2", "n3"]), "restart n3 with data: lose")
            try await offPool { try fleet.restart("n1", keepData: true) }
            Self.expectFresh(try Self.propagation(fleet, key: "k", primary: "n1", replicas: ["n2", "n3"]), "restart n1 (the primary)")
            try await offPool {
                try fleet.promote("n2")
                try fleet.replicaOf("n1", primary: "n2")
            }
            // n3 still replicates n1, which now replicates n2: the write flows down the chain.
            Self.expectFresh(try Self.propagation(fleet, key: "k", primary: "n2", replicas: ["n1", "n3"]), "promote n2, replicaof n1 of n2")
            try await offPool { try fleet.replicaOf("n3", primary: "n2") }
            Self.expectFresh(try Self.propagation(fleet, key: "k", primary: "n2", replicas: ["n1", "n3"]), "replicaof n3 of n2")
        }
    }

    /// The same rule for a cluster: each master's write is read on its replica, through the
    /// replica's announced address (`READONLY`), within 50 ms of `start` returning.
    @Test func clusterReplicasAreFreshAfterStart() async throws {
        try await Self.withFleet("redis-cluster.yaml") { topology, fleet in
            let settings = try #require(topology.kind as? RedisCluster).settings
            for (i, master) in topology.clusterMasters.enumerated() {
                let key = try #require((0..<100_000).lazy.map { "k{\($0)}" }.first { settings.slots(ofMaster: i).contains(ClusterHash.slot($0)) })
                let replicas = topology.nodes.filter { $0.replicaOf == master }.map(\.name)
                #expect(!replicas.isEmpty)
                Self.expectFresh(try Self.propagation(fleet, key: key, primary: master, replicas: replicas, readonly: true), "start (\(master))")
            }
        }
    }
}
