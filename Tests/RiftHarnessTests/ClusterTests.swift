import Foundation
import Glibc
import RiftProxy
import RiftTestSupport
import Testing

@testable import RiftHarness

/// The redis-cluster topology: key slots as Redis computes them, redirections read, the links
/// and their labels, the file's errors; and the cluster-partition scenario against real Redis.
@Suite(.serialized) struct ClusterTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Values from the Redis cluster specification and `CLUSTER KEYSLOT`.
    @Test func keySlotsAsRedisComputesThem() {
        #expect(ClusterHash.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(ClusterHash.slot("foo") == 12182)
        #expect(ClusterHash.slot("bar") == 5061)
        #expect(ClusterHash.slot("{user1000}.following") == ClusterHash.slot("{user1000}.followers"))
        #expect(ClusterHash.slot("{user1000}.following") == ClusterHash.slot("user1000"))
        // An empty tag does not count: the whole key is hashed.
        #expect(ClusterHash.slot("{}foo") == Int(ClusterHash.crc16(Array("{}foo".utf8))) % 16384)
    }

    @Test func redirectionsAreRead() {
        let moved = ClusterClient.Redirect("MOVED 3999 127.0.0.1:6381")
        #expect(moved?.ask == false && moved?.slot == 3999 && moved?.port == 6381)
        #expect(ClusterClient.Redirect("ASK 12 127.0.0.1:7000")?.ask == true)
        #expect(ClusterClient.Redirect("CLUSTERDOWN The cluster is down") == nil)
        #expect(ClusterClient.Redirect("MOVED 99999 127.0.0.1:6381") == nil)
        #expect(ClusterClient.Redirect("MOVED 1 127.0.0.1:notaport") == nil)
    }

    @Test func mastersShareEverySlotOnce() {
        for masters in 1...10 {
            let s = ClusterSettings(masters: masters)
            let ranges = (0..<masters).map(s.slots(ofMaster:))
            #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == 16383)
            for i in 1..<masters { #expect(ranges[i].lowerBound == ranges[i - 1].upperBound + 1) }
        }
    }

    @Test func clusterTopologyLinksAndAddresses() throws {
        let t = try ScenarioParser.parseTopology(String(contentsOfFile: Self.root + "/harness/redis-cluster.yaml", encoding: .utf8), file: "redis-cluster.yaml")
        #expect(t.nodes.map(\.name) == ["n1", "n2", "n3", "n4", "n5", "n6"])
        #expect(t.nodes[3].replicaOf == "n1" && t.nodes[5].replicaOf == "n3")
        #expect(t.clusterMasters == ["n1", "n2", "n3"])
        let names = t.links.map(\.proxy)
        // 6 client links, 3 replication links each way, 30 ordered bus pairs.
        let expectedCount = 42
        #expect(names.count == expectedCount)
        #expect(names.contains("n4-to-n1") && names.contains("n1-to-n4") && names.contains("n2-to-n1-bus"))
        #expect(t.links.first { $0.proxy == "n2-to-n1-bus" }.map { [$0.from, $0.to] } == ["n2", "n1"])
        #expect(t.sourceAddress(of: "n1") == "127.0.0.2" && t.sourceAddress(of: "n6") == "127.0.0.7")
        // [[n1], [rest]] cuts every bus and replication link of n1 (the runner leaves client
        // links alone unless `client` is named in a group).
        let cut = t.links.filter { $0.from != Topology.client && !Partition(id: "p", groups: [["n1"], ["n2", "n3", "n4", "n5", "n6"]]).cutDirections(from: $0.from, to: $0.to).isEmpty }
        #expect(Set(cut.map(\.proxy)) == Set(["n4-to-n1", "n1-to-n4"] + ["n2", "n3", "n4", "n5", "n6"].flatMap { ["\($0)-to-n1-bus", "n1-to-\($0)-bus"] }))
        let small = try ScenarioParser.parseTopology("name: c\nkind: redis-cluster\nreplicas_per_master: 0\n", file: "c.yaml")
        #expect(small.nodes.map(\.name) == ["n1", "n2", "n3"] && small.links.count == 3 + 6)
    }

    @Test(arguments: [
        ("name: c\nkind: redis-cluster\nmasters: 0\n", "c.yaml:3:10: masters: 0 is out of range"),
        ("name: c\nkind: redis-cluster\nreplicas_per_master: 2\n", "c.yaml:3:22: replicas_per_master: 2 is out of range"),
        ("name: c\nkind: redis-cluster\nnode_timeout: 5ms\n", "c.yaml:3:15: node_timeout: expected 100ms to 60s"),
        ("name: c\nkind: redis-cluster\nnodes: []\n", "c.yaml:3:1: nodes: unknown key"),
        ("kind: redis-cluster\n", "c.yaml:1:1: name: missing required field"),
    ])
    func badClusterTopology(text: String, expected: String) {
        do {
            _ = try ScenarioParser.parseTopology(text, file: "c.yaml")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasPrefix(expected), "got: \(error)")
        }
    }

    @Test func failoverStepsAreRefusedOnACluster() throws {
        let t = try ScenarioParser.parseTopology("name: c\nkind: redis-cluster\nreplicas_per_master: 1\n", file: "c.yaml")
        for step in ["promote: n4", "replicaof: {node: n1, of: n4}"] {
            let s = try ScenarioParser.parseScenario("name: a\ntopology: c\nduration: 5s\ntimeline:\n  - at: 1s\n    \(step)\n", file: "f.yaml")
            #expect(throws: ConfigFileError.self) { try ScenarioParser.validate(s, against: t) }
            do { try ScenarioParser.validate(s, against: t) } catch { #expect("\(error)".hasPrefix("f.yaml:5:5: timeline: "), "got: \(error)") }
        }
    }

    /// n1 cut from the rest of the cluster acknowledges writes for a node timeout, n4 takes its
    /// slots, and after the heal those writes are gone: FAIL, with n1's keys named, n4
    /// answering after the failover, and every server stopped.
    @Test func clusterPartitionLosesTheMinorityWrites() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("rift-run-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try await runRift(["run", Self.root + "/faults/cluster-partition.yaml", "--out", out], timeout: .seconds(90))
        #expect(r.status == 1, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("verdict: FAIL"))
        #expect(r.stdout.contains("keys not linearizable: r"), "stdout: \(r.stdout)")
        let result = try String(contentsOfFile: out + "/result.json", encoding: .utf8)
        // Only n1's keys (r1, r5, r9) can lose writes.
        let invalid = result.components(separatedBy: "\"invalid_keys\":[").dropFirst().first?.prefix { $0 != "]" } ?? ""
        #expect(!invalid.isEmpty)
        for key in invalid.split(separator: ",") { #expect(["\"r1\"", "\"r5\"", "\"r9\""].contains(String(key)), "\(invalid)") }
        // After the failover n4 answers for n1's slots, reached through MOVED.
        let history = try String(contentsOfFile: out + "/history.jsonl", encoding: .utf8)
        #expect(history.contains("\"node\":\"n4\""))
        try expectFreshBeforeFirstFault(out)
        let pids = RunCommandTests().serverPids(out)
        #expect(pids.count == 6)
        #expect(pids.allSatisfy { kill($0, 0) != 0 })
    }

    /// The same cut without replicas: n1 and then the whole cluster refuse, nobody takes n1's
    /// slots, nothing acknowledged is lost: PASS.
    @Test func clusterPartitionWithoutReplicasStaysLinearizable() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("rift-run-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try await runRift(["run", Self.root + "/faults/cluster-partition-no-replicas.yaml", "--out", out], timeout: .seconds(90))
        #expect(r.status == 0, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("verdict: PASS") && r.stdout.contains("12 keys, all linearizable"))
        // The cut shows: operations refused (CLUSTERDOWN) during it.
        let fails = r.stdout.components(separatedBy: "ok, ").dropFirst().first?.prefix { $0.isNumber }
        #expect((fails.flatMap { Int($0) } ?? 0) > 100, "stdout: \(r.stdout)")
        try expectFreshBeforeFirstFault(out)
        let pids = RunCommandTests().serverPids(out)
        #expect(pids.count == 3)
        #expect(pids.allSatisfy { kill($0, 0) != 0 })
    }
}
