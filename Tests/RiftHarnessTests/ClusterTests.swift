import Foundation
import Glibc
import RiftChecker
import RiftClient
import RiftCore
import RiftFaults
import RiftHistory
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

    /// harness/redis-cluster-regions.yaml: the masters in us, their replicas in eu; the WAN
    /// lies on every link that joins them: the bus both ways, replication both ways, and the
    /// client links of the other region.
    @Test func clusterNodesInRegions() throws {
        let t = try ScenarioParser.parseTopology(String(contentsOfFile: Self.root + "/harness/redis-cluster-regions.yaml", encoding: .utf8), file: "r.yaml")
        #expect(t.regions == [.init(name: "us", nodes: ["n1", "n2", "n3"]), .init(name: "eu", nodes: ["n4", "n5", "n6"])])
        #expect(t.wan == LatencyConfig(latencyMs: 40, jitterMs: 5, distribution: "normal"))
        // redis-cluster's 42 links and one client link per node for the other region.
        #expect(t.links.count == 42 + 6)
        let crossing = Set(t.links.filter(t.crossesRegions).map(\.proxy))
        let us = ["n1", "n2", "n3"], eu = ["n4", "n5", "n6"]
        let bus = us.flatMap { u in eu.flatMap { e in ["\(u)-to-\(e)-bus", "\(e)-to-\(u)-bus"] } }
        let replication = ["n4-to-n1", "n1-to-n4", "n5-to-n2", "n2-to-n5", "n6-to-n3", "n3-to-n6"]
        let clients = us.map { "client-eu-\($0)" } + eu.map { "client-us-\($0)" }
        #expect(crossing == Set(bus + replication + clients))
        #expect(t.clientProxy(of: "n1", from: "eu") == "client-eu-n1" && t.clientProxy(of: "n4", from: "eu") == "client-n4")
    }

    @Test(arguments: [
        ("regions: {us: [n1, n2, n3], eu: [n4, n5, n7]}\n", "c.yaml:4:33: regions.eu: no node 'n7' (nodes: n1, n2, n3, n4, n5, n6)"),
        ("regions: {us: [n1, n2, n3], eu: [n4, n5]}\n", "c.yaml:4:10: regions: n6 is in no region: place every node"),
        ("regions: {us: [n1, n2, n3, n4, n5, n6], eu: []}\n", "c.yaml:4:45: regions.eu: a region needs at least one node"),
        ("wan: {latency: 40ms}\n", "c.yaml:4:6: wan: wan needs regions"),
        ("regions: {us: [n1, n2, n3, n4, n5, n6]}\nwan: {latency: 2m}\n", "c.yaml:5:16: wan.latency: expected 0 to 60s"),
    ])
    func badClusterRegions(extra: String, expected: String) {
        let got = errorText { _ = try ScenarioParser.parseTopology("name: c\nkind: redis-cluster\nreplicas_per_master: 1\n" + extra, file: "c.yaml") }
        #expect(got.hasPrefix(expected), "got: \(got)")
    }

    /// harness/redis-cluster-regions.yaml started. The WAN stands on the bus between regions:
    /// n4-to-n1-bus carries the nodes' gossip, and a byte sent through it reaches n1's bus
    /// port (which closes on a bad header) a WAN hop later; n2-to-n1-bus, inside us, has no
    /// fault and answers at once. An eu client writes r1 (n1's slot) on n1 across the WAN and
    /// reads it from n4, n1's replica in eu; a us client reads it from n1.
    @Test func theWANDelaysTheBusBetweenRegionsAndEuReadsItsReplica() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-cluster-regions-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let topology = try ScenarioParser.parseTopology(String(contentsOfFile: Self.root + "/harness/redis-cluster-regions.yaml", encoding: .utf8), file: "r.yaml")
        let fleet = try Fleet(topology: topology, directory: dir, seed: 3)
        do {
            try await fleet.start()
            try await Self.checkRegions(fleet, topology)
        } catch {
            await fleet.stop()
            throw error
        }
        await fleet.stop()
    }

    private static func checkRegions(_ fleet: Fleet, _ topology: Topology) async throws {
        let crossing = try #require(fleet.proxies.proxy(named: "n4-to-n1-bus"))
        let inside = try #require(fleet.proxies.proxy(named: "n2-to-n1-bus"))
        #expect(crossing.faults.map(\.name).sorted() == ["wan-downstream", "wan-upstream"])
        #expect(inside.faults.isEmpty)
        #expect(crossing.snapshot.upstreamBytes > 0 && crossing.snapshot.downstreamBytes > 0, "no gossip from n4 to n1 through its bus link")
        // How long n1's bus port takes to close on a bad header sent through `proxy`.
        func closeNs(_ proxy: Proxy) async throws -> Int64 {
            let port = UInt16(proxy.port)
            return try await offPool {
                let conn = try RESPClient(port: port)
                defer { conn.close() }
                let start = monotonicNs()
                #expect(throws: ClientError.self) { _ = try conn.request(["PING"], deadlineNs: start + 2_000_000_000) }
                return monotonicNs() - start
            }
        }
        let (wan, lan) = (try await closeNs(crossing), try await closeNs(inside))
        #expect(wan > 25_000_000 && wan < 1_000_000_000 && lan < wan, "through n4-to-n1-bus \(wan) ns, n2-to-n1-bus \(lan) ns")

        var spec = WorkloadSpec()
        spec.reads = .any
        let (eu, us) = (try topology.kind.cacheClients(topology, fleet: fleet, spec: spec, region: "eu"),
                        try topology.kind.cacheClients(topology, fleet: fleet, spec: spec, region: "us"))
        let seen = try await offPool { () -> (write: String, writeNs: Int64, euRead: CacheRead, euNode: String, usNode: String) in
            let (euClient, usClient) = (eu(), us())
            defer { euClient.close(); usClient.close() }
            var random = SeededRandom(seed: 1)
            let deadline = monotonicNs() + 5_000_000_000
            let start = monotonicNs()
            let (_, writer) = try euClient.store("r1", "7", ttlSeconds: 0, .set, via: euClient.route("r1", write: true, random: &random, deadlineNs: deadline), deadlineNs: deadline)
            let writeNs = monotonicNs() - start
            var read = CacheRead.miss, euNode = ""
            while read != .hit(Array("7".utf8)) && monotonicNs() < deadline {
                (read, euNode) = try euClient.get("r1", via: euClient.route("r1", write: false, random: &random, deadlineNs: deadline), deadlineNs: deadline)
            }
            let (_, usNode) = try usClient.get("r1", via: usClient.route("r1", write: false, random: &random, deadlineNs: deadline), deadlineNs: deadline)
            return (writer, writeNs, read, euNode, usNode)
        }
        #expect(ClusterHash.slot("r1") <= 5460)
        #expect(seen.write == "n1" && seen.writeNs > 50_000_000, "eu write of r1: \(seen)")
        #expect(seen.euRead == .hit(Array("7".utf8)) && seen.euNode == "n4" && seen.usNode == "n1", "\(seen)")
    }

    @Test func failoverStepsAreRefusedOnACluster() throws {
        let t = try ScenarioParser.parseTopology("name: c\nkind: redis-cluster\nreplicas_per_master: 1\n", file: "c.yaml")
        for step in ["promote: n4", "replicaof: {node: n1, of: n4}"] {
            let s = try ScenarioParser.parseScenario("name: a\ntopology: c\nduration: 5s\ntimeline:\n  - at: 1s\n    \(step)\n", file: "f.yaml")
            #expect(throws: ConfigFileError.self) { try ScenarioParser.validate(s, against: t) }
            do { try ScenarioParser.validate(s, against: t) } catch { #expect("\(error)".hasPrefix("f.yaml:5:5: timeline: "), "got: \(error)") }
        }
    }

    /// `rebalance` reads and is checked at its step's file:line: keys hot or a list, a hold,
    /// masters only, a cluster only, a skewed workload for `keys: hot`, and a window at
    /// `rebalance+D` only with such a step.
    @Test func rebalanceStepsAreReadAndChecked() throws {
        let c = try ScenarioParser.parseTopology("name: c\nkind: redis-cluster\nreplicas_per_master: 1\n", file: "c.yaml")
        let zipf = "workload: {keys: 8, distribution: zipf}\n"
        func scenario(_ step: String, workload: String = zipf, checks: String = "") throws -> Scenario {
            try ScenarioParser.parseScenario("name: a\ntopology: c\nduration: 5s\n\(workload)timeline:\n  - at: 1s\n    \(step)\n\(checks)", file: "f.yaml")
        }
        let ok = try scenario("rebalance: {node: n2, to: n1, keys: [r0, r3], hold: 500ms}")
        #expect(ok.timeline.first?.directive == .rebalance(node: "n2", to: "n1", keys: .named(["r0", "r3"]), holdNs: 500_000_000))
        try ScenarioParser.validate(ok, against: c)
        try ScenarioParser.validate(try scenario("rebalance: {node: n2, to: n1}", checks: "checks:\n  - {check: latency, from: rebalance+2s, max_p50: 20ms}\n"), against: c)
        for (step, expected) in [
            ("rebalance: {node: n2, to: n2}", "f.yaml:7:16: timeline[0].rebalance: a node cannot rebalance onto itself"),
            ("rebalance: {node: n2}", "f.yaml:7:16: timeline[0].rebalance.to: missing required field: to"),
            ("rebalance: {node: n2, to: n1, keys: 5}", "f.yaml:7:41: timeline[0].rebalance.keys: expected hot or a list of keys, e.g. [r0, r3]"),
            ("rebalance: {node: n2, to: n1, hold: 2m}", "f.yaml:7:41: timeline[0].rebalance.hold: expected 0 to 60s"),
        ] {
            #expect(errorText { _ = try scenario(step) } == expected)
        }
        for (step, workload, checks, expected) in [
            ("rebalance: {node: n2, to: n4}", zipf, "", "rebalance moves slots between masters (n1-n3); n4 is a replica"),
            ("rebalance: {node: n2, to: n9}", zipf, "", "no node 'n9' in c"),
            ("rebalance: {node: n2, to: n1}", "", "", "keys: hot needs a skewed workload (distribution: zipf)"),
            ("kill: n2", zipf, "checks:\n  - {check: latency, from: rebalance+2s, max_p50: 20ms}\n", "'rebalance+2s' needs a timeline step that moves keys (rebalance)"),
        ] {
            let s = try scenario(step, workload: workload, checks: checks)
            let got = errorText { try ScenarioParser.validate(s, against: c) }
            #expect(got.contains(expected), "\(got)")
        }
        let replicated = try ScenarioParser.parseTopology("name: r\nnodes:\n  - name: n1\n  - {name: n2, replicaof: n1}\n", file: "r.yaml")
        let onReplicated = try ScenarioParser.parseScenario("name: a\ntopology: r\nduration: 5s\n\(zipf)timeline:\n  - at: 1s\n    rebalance: {node: n2, to: n1}\n", file: "f.yaml")
        let got = errorText { try ScenarioParser.validate(onReplicated, against: replicated) }
        #expect(got.hasPrefix("f.yaml:6:5: timeline: rebalance moves a Redis cluster's slots"), "\(got)")
        // A memcached pool rebalances by ring weights, at once: no hold.
        let pool = try ScenarioParser.parseTopology("name: p\nkind: memcached\nnodes:\n  - name: n1\n  - name: n2\n", file: "p.yaml")
        let held = try ScenarioParser.parseScenario("name: a\ntopology: p\nduration: 5s\n\(zipf)timeline:\n  - at: 1s\n    rebalance: {node: n2, to: n1, hold: 1s}\n", file: "f.yaml")
        #expect(errorText { try ScenarioParser.validate(held, against: pool) }.contains("f.yaml:6:5: timeline: hold is for a cluster's slot migration"))
        try ScenarioParser.validate(try ScenarioParser.parseScenario("name: a\ntopology: p\nduration: 5s\n\(zipf)timeline:\n  - at: 1s\n    rebalance: {node: n2, to: n1}\n", file: "f.yaml"), against: pool)
    }

    /// `keys: hot` is what the distribution makes hotter than an even share.
    @Test func hotKeysFollowTheDistribution() {
        var w = WorkloadSpec()
        w.keys = 8
        w.distribution = .zipf(skew: 1)
        #expect(w.hotKeys == ["r0", "r1"])
        w.distribution = .zipf(skew: 0.5)
        #expect(w.hotKeys == ["r0", "r1", "r2"])
        w.kind = .set
        #expect(w.hotKeys == ["s0", "s1", "s2"])
        w.distribution = .uniform
        #expect(w.hotKeys.isEmpty)
    }

    /// hot-shard-rebalance.yaml on real Redis: PASS; the hot key r0 is moved from n2 to n1 under
    /// load, clients follow ASK while its slot is in migration (answered by n1 after a first
    /// hop to the slow n2) and then MOVED (answered by n1 directly); the median bound that
    /// holds after the move fails over the spike; the key distribution shows the move.
    @Test func hotShardIsRebalancedUnderLoad() async throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try await runRift(["run", Self.root + "/faults/hot-shard-rebalance.yaml", "--out", out], timeout: .seconds(90))
        #expect(r.status == 0, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("rebalance n2 -> n1: moved r0"), "\(r.stdout)")
        let history = try HistoryReader.read(path: out + "/history.jsonl").paired()
        let start = try #require(history.firstNemesisTime("start"))
        let moved = try #require(history.firstNemesisTime("rebalance"))
        let hold: Int64 = 1_000_000_000
        let r0 = history.operations.filter { $0.key == "r0" && $0.status == .ok }
        // During the hold: r0 answered by n1, but only after n2's 50 ms reply (ASK).
        let asked = r0.filter { $0.invokeTime > moved - hold + 100_000_000 && $0.completeTime! < moved && $0.node == "n1" }
        #expect(asked.count > 10, "\(asked.count) r0 reads answered by n1 during the migration")
        #expect(asked.allSatisfy { $0.completeTime! - $0.invokeTime >= 50_000_000 })
        // Before the move every r0 reply came from n2; two seconds after it, from n1, fast.
        #expect(r0.filter { $0.completeTime! < moved - hold }.allSatisfy { $0.node == "n2" })
        let after = r0.filter { $0.invokeTime > moved + 2_000_000_000 }
        #expect(!after.isEmpty && after.allSatisfy { $0.node == "n1" })
        #expect(LatencyChecker.perNode(after)["n1"]!.p50Ns < 20_000_000)
        // The bound that holds after the move fails during the spike.
        let spike = TimeWindow(from: start + 500_000_000, until: moved - hold)
        let check = LatencyCheck(node: nil, maxP50Ns: 20_000_000)
        #expect(Checker.check(CheckContext(history), [check], window: spike)[.latency]?.verdict == .invalid)
        let result = try runRecord(out)
        let top = try #require(result.keyLoad?.topKeys.first)
        #expect(top.key == "r0" && Set(top.nodes.keys) == ["n1", "n2"])
        #expect((result.keyLoad?.skew ?? 0) > 1.2)
        let page = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(page.contains("<h2>Key distribution</h2>") && page.contains("<td>r0</td>"))
        let pids = RunCommandTests().serverPids(out)
        #expect(pids.count == 3 && pids.allSatisfy { kill($0, 0) != 0 })
    }

    /// n1 cut from the rest of the cluster acknowledges writes for a node timeout, n4 takes its
    /// slots, and after the heal those writes are gone: FAIL, with n1's keys named, n4
    /// answering after the failover, and every server stopped.
    @Test func clusterPartitionLosesTheMinorityWrites() async throws {
        let out = runFolder()
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

    /// Jepsen's set test on the same cut: adds to s2 (n1's slot) acknowledged during the cut
    /// are lost, s0 and s1 (n3's) lose nothing; the final read of s2 follows MOVED to n4.
    @Test func clusterPartitionLosesTheMinorityAdds() async throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try await runRift(["run", Self.root + "/faults/cluster-partition-lost-set-writes.yaml", "--out", out], timeout: .seconds(90))
        #expect(r.status == 1, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        let record = try runRecord(out)
        let check = try #require(record.checks.first?.result)
        #expect(record.checks.first?.verdict == .invalid)
        let perKey = try #require(check.details["per_key"]?.objectValue)
        #expect((perKey["s2"]?.objectValue?["lost"]?.intValue ?? 0) > 0, "\(r.stdout)")
        #expect(perKey["s0"]?.objectValue?["lost"] == .int(0) && perKey["s1"]?.objectValue?["lost"] == .int(0), "\(r.stdout)")
        let history = try HistoryReader.read(path: out + "/history.jsonl").paired()
        let finalRead = history.operations.first { $0.f == .read && $0.key == "s2" && $0.status == .ok }
        #expect(finalRead?.node == "n4")
        let pids = RunCommandTests().serverPids(out)
        #expect(pids.count == 6 && pids.allSatisfy { kill($0, 0) != 0 })
    }

    /// The same cut without replicas: n1 and then the whole cluster refuse, nobody takes n1's
    /// slots, nothing acknowledged is lost: PASS.
    @Test func clusterPartitionWithoutReplicasStaysLinearizable() async throws {
        let out = runFolder()
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
