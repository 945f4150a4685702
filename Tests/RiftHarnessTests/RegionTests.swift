import Foundation
import Glibc
import RiftChecker
import RiftFaults
import RiftHistory
import RiftProxy
import RiftTestSupport
import Testing

@testable import RiftHarness

/// Regions: where a topology's nodes are, the WAN between them, each client's home region, and
/// checks scoped to one region's reads; pure, then regions-eu-lag.yaml and cluster-regions-eu-lag.yaml
/// on real Redis.
@Suite(.serialized) struct RegionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let topologyText = """
        name: r
        nodes:
          - name: n1
          - {name: n2, replicaof: n1}
          - {name: n3, replicaof: n1}
        regions: {us: [n1, n2], eu: [n3]}
        wan: {latency: 40ms, jitter: 5ms, distribution: normal}

        """


    /// Each node keeps its own region's client link; each other region gets one more, and the
    /// links that join regions are the ones the WAN delays.
    @Test func linksBetweenRegions() throws {
        let t = try ScenarioParser.parseTopology(Self.topologyText, file: "r.yaml")
        #expect(t.regions == [.init(name: "us", nodes: ["n1", "n2"]), .init(name: "eu", nodes: ["n3"])])
        #expect(t.wan == LatencyConfig(latencyMs: 40, jitterMs: 5, distribution: "normal"))
        #expect(t.links.map(\.proxy) == ["client-n1", "client-n2", "client-n3", "client-eu-n1", "client-eu-n2", "client-us-n3", "n2-to-n1", "n3-to-n1"])
        #expect(t.links.filter(t.crossesRegions).map(\.proxy) == ["client-eu-n1", "client-eu-n2", "client-us-n3", "n3-to-n1"])
        #expect(t.clientProxy(of: "n1", from: "eu") == "client-eu-n1" && t.clientProxy(of: "n1", from: "us") == "client-n1")
        #expect(t.clientProxy(of: "n3", from: nil) == "client-n3")
        #expect(t.links.allSatisfy { $0.from != Topology.client || $0.clientRegion == nil || $0.proxy.hasPrefix("client-\($0.clientRegion!)-") })
    }

    @Test(arguments: [
        ("regions: {us: [n1, n2]}\n", "n3 is in no region: place every node"),
        ("regions: {us: [n1, n2, n3], eu: [n3]}\n", "n3 is placed in both us and eu"),
        ("regions: {us: [n1, n9], eu: [n2, n3]}\n", "no node 'n9' (nodes: n1, n2, n3)"),
        ("regions: {us: [], eu: [n1, n2, n3]}\n", "a region needs at least one node"),
        ("regions: {n1: [n1, n2], eu: [n3]}\n", "region 'n1' is also a node's name"),
        ("wan: {latency: 40ms}\n", "wan needs regions"),
        ("regions: {us: [n1, n2], eu: [n3]}\nwan: {latency: 40ms, distribution: weird}\n", "r.yaml:7:36: wan.distribution: expected one of: uniform, normal, pareto, paretonormal"),
        ("regions: {us: [n1, n2], eu: [n3]}\nwan: {delay: 40ms}\n", "r.yaml:7:7: wan.delay: unknown key"),
    ])
    func badRegions(extra: String, expected: String) {
        let text = "name: r\nnodes:\n  - name: n1\n  - {name: n2, replicaof: n1}\n  - {name: n3, replicaof: n1}\n" + extra
        let got = errorText { _ = try ScenarioParser.parseTopology(text, file: "r.yaml") }
        #expect(got.hasPrefix(expected.hasPrefix("r.yaml") ? expected : "r.yaml:6:") && got.contains(expected), "\(got)")
    }

    /// A region named in a partition group stands for its nodes and its clients: `[[us], [eu]]`
    /// cuts every link between the regions, each region's clients' links to the other's nodes
    /// included, and none inside a region; groups of nodes leave client links alone, as before,
    /// and `client` still cuts every client link.
    @Test func partitionsByRegion() throws {
        let t = try ScenarioParser.parseTopology(Self.topologyText, file: "r.yaml")
        func cut(_ groups: [[String]]) -> [String] {
            let expanded = t.expandingRegions(groups)
            let p = Partition(id: "p", groups: expanded)
            let names = Set(expanded.joined())
            return t.links.filter { l in t.partitionEnd(of: l, named: names).map { !p.cutDirections(from: $0, to: l.to).isEmpty } ?? false }.map(\.proxy)
        }
        #expect(t.expandingRegions([["us"], ["eu"]]) == [["client@us", "n1", "n2"], ["client@eu", "n3"]])
        #expect(cut([["us"], ["eu"]]) == ["client-eu-n1", "client-eu-n2", "client-us-n3", "n3-to-n1"])
        #expect(cut([["n1", "n2"], ["n3"]]) == ["n3-to-n1"])
        #expect(cut([["client", "n1", "n2"], ["n3"]]) == ["client-n3", "client-us-n3", "n3-to-n1"])
        // Only eu named: its clients keep eu's node and lose us's; us's clients are untouched.
        #expect(cut([["eu"], ["n1", "n2"]]) == ["client-eu-n1", "client-eu-n2", "n3-to-n1"])
        func scenario(_ partition: String) throws -> Scenario {
            try ScenarioParser.parseScenario("name: a\ntopology: r\nduration: 5s\ntimeline:\n  - at: 1s\n    partition: \(partition)\n", file: "f.yaml")
        }
        try ScenarioParser.validate(try scenario("[[us], [eu]]"), against: t)
        #expect(errorText { try ScenarioParser.validate(try scenario("[[us], [asia]]"), against: t) }
            == "f.yaml:5:5: timeline: partition names 'asia', which is not a node of r (nodes: n1, n2, n3; regions: us, eu; or client)")
        #expect(errorText { try ScenarioParser.validate(try scenario("[[us, n1], [eu]]"), against: t) }
            == "f.yaml:5:5: timeline: partition puts 'n1' in more than one place (a region's name stands for its nodes and its clients)")
    }

    /// A memcached pool places no nodes in regions.
    @Test func poolHasNoRegions() {
        let got = errorText { _ = try ScenarioParser.parseTopology("name: p\nkind: memcached\nnodes:\n  - name: n1\nregions: {us: [n1]}\n", file: "p.yaml") }
        #expect(got.hasPrefix("p.yaml:5:1: regions: unknown key (expected one of: name, kind, nodes)"), "\(got)")
    }

    /// `clients: {us: 4, eu: 2}` gives processes 0-3 us and 4-5 eu; a region the topology lacks,
    /// a check scoped to a region without clients, and clients with processes are refused.
    @Test func clientsByRegion() throws {
        let t = try ScenarioParser.parseTopology(Self.topologyText, file: "r.yaml")
        func scenario(_ workload: String, checks: String = "") throws -> Scenario {
            try ScenarioParser.parseScenario("name: a\ntopology: r\nduration: 5s\nworkload: \(workload)\n\(checks)", file: "f.yaml")
        }
        let s = try scenario("{clients: {us: 4, eu: 2}}", checks: "checks:\n  - {check: staleness, region: eu}\n")
        #expect(s.workload.processes == 6 && (0..<7).map(s.workload.region(ofProcess:)) == ["us", "us", "us", "us", "eu", "eu", nil])
        #expect(s.checks[0].region == "eu" && s.checks[0].windowLabel == "begin .. end, eu reads")
        try ScenarioParser.validate(s, against: t)
        #expect(errorText { _ = try scenario("{clients: {us: 4}, processes: 4}") }.hasPrefix("f.yaml:4:21: workload.clients: give processes or clients"))
        #expect(errorText { _ = try scenario("{type: near-cache, clients: {us: 4}}") }.contains("clients by region apply to type: register and type: set"))
        let sets = try scenario("{type: set, clients: {us: 2, eu: 2}}", checks: "checks:\n  - {check: lost_writes, region: us}\n")
        #expect(sets.workload.kind == .set && sets.workload.processes == 4)
        try ScenarioParser.validate(sets, against: t)
        let asia = try scenario("{clients: {asia: 4}}")
        #expect(errorText { try ScenarioParser.validate(asia, against: t) } == "f.yaml:4:0: workload.clients: no region 'asia' in r (regions: us, eu)")
        let unscoped = try scenario("{processes: 4}", checks: "checks:\n  - {check: staleness, region: eu}\n")
        #expect(errorText { try ScenarioParser.validate(unscoped, against: t) }.contains("f.yaml:6:5: checks.region: the workload's clients have no region"))
        let flat = try ScenarioParser.parseTopology("name: r\nnodes:\n  - name: n1\n", file: "r.yaml")
        #expect(errorText { try ScenarioParser.validate(s, against: flat) }.contains("r places no nodes in regions"))
    }

    /// A region's view keeps every write and only its clients' reads; the consistency check
    /// reports each region's reads apart; a region with no client is an error, not a pass.
    @Test func checksScopedToARegion() {
        func op(_ id: Int, _ p: Int64, _ f: OpFunction, _ v: Int64?, _ t: Int64, _ done: Int64) -> HistoryOperation {
            HistoryOperation(id: id, process: .client(p), f: f, key: "k", input: f == .write ? .int(v!) : .null,
                             output: f == .read ? (v.map { .int($0) } ?? .null) : .int(v!), status: .ok, invokeTime: t, completeTime: done, node: "n1")
        }
        let ms: Int64 = 1_000_000
        let ops = [
            op(0, 0, .write, 1, 0, 1 * ms),
            op(1, 0, .write, 2, 10 * ms, 11 * ms),
            op(2, 0, .read, 2, 20 * ms, 21 * ms),   // us: fresh
            op(3, 1, .read, 1, 300 * ms, 301 * ms), // eu: 289 ms stale
        ]
        let history = PairedHistory(operations: ops, metadata: [PairedHistory.clientRegionsKey: .object(["us": .list([.int(0)]), "eu": .list([.int(1)])])])
        #expect(history.clientRegions == [.client(0): "us", .client(1): "eu"])
        let eu = history.readsScoped(to: "eu")
        #expect(eu.operations.map(\.id) == [0, 1, 2] && eu.operations.last?.process == .client(1))
        let context = CheckContext(history)
        let within = ConsistencyCheck(withinNs: 100 * ms, minNines: 1)
        let outcomes = Checker.run([CheckSpec(check: within, region: "us"), CheckSpec(check: within, region: "eu"),
                                    CheckSpec(check: within), CheckSpec(check: within, region: "asia")], context)
        #expect(outcomes.map(\.verdict) == [.unknown, .invalid, .invalid, .unknown])
        #expect(outcomes[3].error == "no client of region 'asia' in this history")
        guard case .object(let perRegion)? = outcomes[2].result?.details["per_region"] else {
            Issue.record("no per_region in \(String(describing: outcomes[2].result?.details))")
            return
        }
        #expect(perRegion["us"]?.objectValue?["consistent"] == .int(1) && perRegion["eu"]?.objectValue?["consistent"] == .int(0))
    }

    /// regions-eu-lag.yaml on real Redis: FAIL with the us check holding and the eu one failing;
    /// eu clients read n3 only and us clients n1 and n2; the WAN stands on n3's replication link;
    /// every server stopped.
    @Test func euLagsBehindUs() throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try RiftExecutable.run(["run", Self.root + "/faults/regions-eu-lag.yaml", "--out", out], timeout: .seconds(90))
        #expect(r.status == 1, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        let record = try runRecord(out)
        #expect(record.checks.map(\.verdict) == [.valid, .invalid, .valid], "\(r.stdout)")
        let history = try HistoryReader.read(path: out + "/history.jsonl").paired()
        let regions = history.clientRegions
        #expect(Set(regions.values) == ["us", "eu"] && regions.count == 8)
        let reads = history.operations.filter { $0.f == .read && $0.status == .ok }
        #expect(reads.filter { regions[$0.process] == "eu" }.allSatisfy { $0.node == "n3" })
        #expect(reads.filter { regions[$0.process] == "us" }.allSatisfy { $0.node == "n1" || $0.node == "n2" })
        // Before the cut, eu reads lag by about the WAN hop: some are stale by more than 20 ms
        // (40 ms each way), and us reads are not.
        let cut = try #require(history.firstNemesisTime("start"))
        let staleness = CheckContext(history).readStaleness
        func worst(_ region: String) -> Int64 {
            staleness.filter { regions[history.operations[$0.operation].process] == region && history.operations[$0.operation].invokeTime < cut }.map(\.staleForNs).max() ?? 0
        }
        #expect(worst("eu") > 30_000_000 && worst("us") < 20_000_000, "eu \(worst("eu")) us \(worst("us"))")
        let pids = RunCommandTests().serverPids(out)
        #expect(pids.count == 3 && pids.allSatisfy { kill($0, 0) != 0 })
    }

    /// region-partition.yaml and its tight twin in CI form (`--duration 9s`: a 4.8 s cut of
    /// `[[us], [eu]]`): PASS, eu reads behind by most of the cut and fresh after the heal, eu's
    /// writes across the cut timed out and us's did not, and the divergence in
    /// result.json, the output and the report as long as the cut; the tight bound FAILs alone.
    @Test(arguments: [("region-partition", 0, [Verdict.valid, .valid, .valid]), ("region-partition-tight", 1, [.invalid, .valid, .valid])])
    func regionPartition(_ scenario: String, status: Int32, verdicts: [Verdict]) throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try RiftExecutable.run(["run", Self.root + "/faults/\(scenario).yaml", "--duration", "9s", "--out", out], timeout: .seconds(90))
        #expect(r.status == status, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        let record = try runRecord(out)
        #expect(record.checks.map(\.verdict) == verdicts, "\(r.stdout)")
        // eu's reads were behind by most of the cut.
        let euMax = try #require(record.checks[0].result?.details["overall"]?.objectValue?["stale_for_ns"]?.objectValue?["max"]?.intValue)
        #expect(euMax > 2_500_000_000 && euMax < 6_000_000_000, "\(euMax)")
        // The regions' cut took the eu clients' links to n1: their writes timed out (info), and
        // us's clients, whose links stay inside us, lost none.
        let history = try HistoryReader.read(path: out + "/history.jsonl").paired()
        let regions = history.clientRegions
        let info = history.operations.filter { $0.status == .info }
        #expect(!info.isEmpty && info.allSatisfy { regions[$0.process] == "eu" && $0.f == .write })
        let d = try #require(record.divergence)
        #expect(d.regions == ["eu", "us"] && d.keys == 4)
        #expect(d.maxNs > 3_000_000_000 && d.maxNs < 7_000_000_000, "\(d.maxNs)")
        #expect(d.perKey.first?.intervals.contains { $0[1] - $0[0] > 3_000_000_000 } == true)
        #expect(r.stdout.contains("divergence between regions eu, us:"))
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(html.contains("<h2>Divergence between regions</h2>") && html.contains("id='divergence-timeline'"))
        let pids = RunCommandTests().serverPids(out)
        #expect(pids.count == 3 && pids.allSatisfy { kill($0, 0) != 0 })
    }

    /// cluster-regions-eu-lag.yaml on a real Redis cluster: FAIL with the us check holding, the
    /// eu one failing and eu's bound before the cut holding; the history's header names each
    /// process's region; eu clients read the replicas n4-n6 and write to the masters n1-n3, us
    /// clients only touch the masters; the cut makes the eu replicas refuse reads and nothing
    /// else fails; every server stopped.
    @Test func clusterEuReplicasLagBehindUsMasters() async throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try await runRift(["run", Self.root + "/faults/cluster-regions-eu-lag.yaml", "--out", out], timeout: .seconds(90))
        #expect(r.status == 1, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        let record = try runRecord(out)
        #expect(record.checks.map(\.verdict) == [.valid, .invalid, .valid], "\(r.stdout)")
        let header = try String(contentsOfFile: out + "/history.jsonl", encoding: .utf8).prefix { $0 != "\n" }
        #expect(header.contains(#""client_regions":{"eu":[4,5,6,7],"us":[0,1,2,3]}"#), "\(header)")
        let history = try HistoryReader.read(path: out + "/history.jsonl").paired()
        let regions = history.clientRegions
        let ok = history.operations.filter { $0.status == .ok }
        func nodes(_ region: String, _ f: OpFunction) -> Set<String> { Set(ok.filter { regions[$0.process] == region && $0.f == f }.compactMap(\.node)) }
        #expect(nodes("eu", .read) == ["n4", "n5", "n6"] && nodes("eu", .write) == ["n1", "n2", "n3"])
        #expect(nodes("us", .read) == ["n1", "n2", "n3"] && nodes("us", .write) == ["n1", "n2", "n3"])
        let failed = history.operations.filter { $0.status == .fail }
        #expect(!failed.isEmpty && failed.allSatisfy { regions[$0.process] == "eu" && $0.f == .read }, "\(failed.prefix(5))")
        let cut = try #require(history.firstNemesisTime("start"))
        #expect(failed.allSatisfy { $0.invokeTime > cut }, "\(failed.prefix(5))")
        let pids = RunCommandTests().serverPids(out)
        #expect(pids.count == 6 && pids.allSatisfy { kill($0, 0) != 0 })
    }

    /// cluster-regions-failover.yaml: n1 (us) is cut and n4 (eu) takes its slots; after the
    /// heal the regional clients have learned the new roles from MOVED: eu reads and writes
    /// n1's keys on n4, us reads them on n1 (now n4's replica, its own region's) and writes them
    /// to n4; operations fail only around the cut; both regions fresh 3 s after the heal: PASS.
    @Test func clusterRegionalClientsFollowAFailoverAcrossRegions() async throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try await runRift(["run", Self.root + "/faults/cluster-regions-failover.yaml", "--out", out], timeout: .seconds(90))
        #expect(r.status == 0, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        let record = try runRecord(out)
        #expect(record.checks.map(\.verdict) == [.valid, .valid], "\(r.stdout)")
        let history = try HistoryReader.read(path: out + "/history.jsonl").paired()
        let regions = history.clientRegions
        let cut = try #require(history.firstNemesisTime("start")), heal = try #require(history.firstNemesisTime("stop"))
        let after = history.operations.filter { $0.status == .ok && ["r1", "r5"].contains($0.key) && $0.invokeTime > heal + 2_000_000_000 }
        func nodes(_ region: String, _ f: OpFunction) -> Set<String> { Set(after.filter { regions[$0.process] == region && $0.f == f }.compactMap(\.node)) }
        #expect(nodes("eu", .read) == ["n4"] && nodes("eu", .write) == ["n4"], "\(nodes("eu", .read)) \(nodes("eu", .write))")
        #expect(nodes("us", .read) == ["n1"] && nodes("us", .write) == ["n4"], "\(nodes("us", .read)) \(nodes("us", .write))")
        let failed = history.operations.filter { $0.status == .fail }
        #expect(!failed.isEmpty && failed.allSatisfy { $0.invokeTime > cut && $0.invokeTime < heal + 1_000_000_000 }, "\(failed.prefix(3))")
        let pids = RunCommandTests().serverPids(out)
        #expect(pids.count == 6 && pids.allSatisfy { kill($0, 0) != 0 })
    }
}
