import Foundation
import RiftCore
import RiftProxy
import Testing

@testable import RiftHarness

/// Topology kinds as plug-ins: the registry reads every shipped topology, each kind refuses what
/// it cannot run at the step's file:line, and the cache clients route as their kinds say.
struct TopologyKindTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func files(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root + "/" + folder).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    @Test func theRegistryResolvesEveryHarnessTopology() throws {
        let expected = ["memcached-pool.yaml": "memcached", "redis-cluster-masters.yaml": "redis-cluster",
                        "redis-cluster.yaml": "redis-cluster", "redis-replicated.yaml": "redis",
                        "twemproxy-memcached.yaml": "twemproxy", "twemproxy-memcached-no-eject.yaml": "twemproxy",
                        "redis-sentinel.yaml": "redis-sentinel", "redis-sentinel-min-replicas.yaml": "redis-sentinel"]
        let files = try Self.files("harness")
        #expect(Set(files).isSuperset(of: expected.keys), "\(files)")
        for file in files {
            let path = Self.root + "/harness/" + file
            let topology = try ScenarioParser.parseTopology(try String(contentsOfFile: path, encoding: .utf8), file: path)
            let name = type(of: topology.kind).name
            #expect(TopologyRegistry.kind(named: name) != nil, "\(file): \(name)")
            if let kind = expected[file] { #expect(name == kind, "\(file)") }
            #expect(!topology.nodes.isEmpty && !topology.links.isEmpty, "\(file)")
        }
        // `external` has no file here (its addresses are the user's): ExternalTests reads one.
        #expect(TopologyRegistry.names == ["redis", "memcached", "redis-cluster", "twemproxy", "redis-sentinel", "external"])
    }

    /// Every shipped scenario still passes validation against its topology's kind.
    @Test func everyScenarioValidatesAgainstItsKind() throws {
        for file in try Self.files("faults") {
            #expect(throws: Never.self, "\(file)") { _ = try ScenarioParser.load(path: Self.root + "/faults/" + file) }
        }
    }

    /// Each kind, a node action it does not take, and the message at the step's line.
    @Test(arguments: [
        ("name: p\nkind: memcached\nnodes:\n  - name: n1\n  - name: n2\n", "promote: n1", "f.yaml:5:5: timeline: promote needs a Redis topology"),
        ("name: p\nkind: memcached\nnodes:\n  - name: n1\n  - name: n2\n", "replicaof: {node: n2, of: n1}", "f.yaml:5:5: timeline: replicaof needs a Redis topology"),
        ("name: p\nkind: memcached\nnodes:\n  - name: n1\n", "restart: {node: n1, data: keep}",
         "f.yaml:5:5: timeline: restart with data: keep needs a Redis topology (memcached keeps no data across a restart)"),
        ("name: c\nkind: redis-cluster\nreplicas_per_master: 1\n", "promote: n4",
         "f.yaml:5:5: timeline: promote is for a primary and replicas; a cluster elects a replica itself"),
        ("name: c\nkind: redis-cluster\nreplicas_per_master: 1\n", "replicaof: {node: n1, of: n4}",
         "f.yaml:5:5: timeline: replicaof is for a primary and replicas; a cluster re-points its nodes itself"),
        ("name: s\nkind: redis-sentinel\nnodes:\n  - name: n1\n  - name: n2\n    replicaof: n1\n", "promote: n2",
         "f.yaml:5:5: timeline: promote would race Sentinel, which elects a new primary itself"),
        ("name: s\nkind: redis-sentinel\nnodes:\n  - name: n1\n  - name: n2\n    replicaof: n1\n", "replicaof: {node: n1, of: n2}",
         "f.yaml:5:5: timeline: replicaof would race Sentinel, which re-points the replicas itself"),
    ])
    func anUnsupportedNodeActionIsRefusedAtItsStep(topology: String, step: String, expected: String) throws {
        let t = try ScenarioParser.parseTopology(topology, file: "t.yaml")
        let s = try ScenarioParser.parseScenario("name: a\ntopology: t\nduration: 5s\ntimeline:\n  - at: 1s\n    \(step)\n", file: "f.yaml")
        do {
            try ScenarioParser.validate(s, against: t)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == expected)
        }
    }

    @Test(arguments: [
        ("name: c\nkind: redis-cluster\n", "cache-aside", "the cache-aside workload runs on a memcached pool or a Redis primary with replicas, not on a cluster"),
        ("name: c\nkind: redis-cluster\n", "near-cache", "the near-cache workload needs a Redis primary with replicas (redis-replicated)"),
        ("name: p\nkind: memcached\nnodes:\n  - name: n1\n", "near-cache", "the near-cache workload needs a Redis primary with replicas (redis-replicated)"),
        ("name: p\nkind: memcached\nnodes:\n  - name: n1\n", "set",
         "the set workload needs Redis sets (SADD, SMEMBERS): a Redis primary with replicas or a Redis cluster"),
        ("name: s\nkind: redis-sentinel\nnodes:\n  - name: n1\n", "near-cache",
         "the near-cache workload keeps its tracking connection on the primary it starts with; it does not follow Sentinel's failover"),
    ])
    func aWorkloadTheKindCannotRunIsRefusedAtTheTopologyLine(topology: String, workload: String, expected: String) throws {
        let t = try ScenarioParser.parseTopology(topology, file: "t.yaml")
        let reads = workload == "near-cache" ? ", reads: primary" : ""
        let s = try ScenarioParser.parseScenario("name: a\ntopology: t\nduration: 5s\nworkload: {type: \(workload)\(reads)}\n", file: "f.yaml")
        do {
            try ScenarioParser.validate(s, against: t)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "f.yaml:2:0: topology: " + expected)
        }
    }

    @Test func kindsCompareByTheirSettings() throws {
        let a = try ScenarioParser.parseTopology("name: c\nkind: redis-cluster\nmasters: 3\n", file: "t.yaml")
        let b = try ScenarioParser.parseTopology("name: c\nkind: redis-cluster\nmasters: 3\nnode_timeout: 2s\n", file: "t.yaml")
        #expect(a == a && a != b)
        #expect(Topology(name: "p", kind: MemcachedPool(), nodes: [.init(name: "n1")]) != Topology(name: "p", nodes: [.init(name: "n1")]))
    }

    /// Writes to the primary and never a draw from the generator; reads where `reads:` allows.
    @Test func theReplicatedClientRoutesWritesToThePrimaryAndReadsAsAsked() {
        let n1 = CacheTarget(node: "n1", port: 1), n2 = CacheTarget(node: "n2", port: 2), n3 = CacheTarget(node: "n3", port: 3)
        let untouched = SeededRandom(seed: 1)
        for reads in ReadTarget.allCases {
            let client = ReplicatedClient(primary: n1, replicas: [n2, n3], reads: reads)
            var random = untouched, fresh = untouched
            #expect(client.route("k", write: true, random: &random, deadlineNs: 0).target == n1)
            #expect(random.next() == fresh.next())
            let targets = Set((0..<200).map { _ in client.route("k", write: false, random: &random, deadlineNs: 0).node })
            switch reads {
            case .any: #expect(targets == ["n1", "n2", "n3"])
            case .primary: #expect(targets == ["n1"])
            case .replicas: #expect(targets == ["n2", "n3"])
            }
        }
    }

    /// The ring's node for every key, and with auto-eject another node once one failed
    /// `failure_limit` times in a row.
    @Test func theKetamaClientRoutesOnTheRingAndEjects() {
        let nodes = (1...3).map { CacheTarget(node: "n\($0)", port: UInt16($0)) }
        var spec = WorkloadSpec()
        spec.autoEject = true
        spec.failureLimit = 2
        spec.retryTimeoutNs = 60_000_000_000
        let client = KetamaClient(nodes: nodes, spec: spec)
        let ring = KetamaRing(servers: nodes.map(\.node))
        var random = SeededRandom(seed: 1)
        for k in 0..<50 { #expect(client.route("k\(k)", write: false, random: &random, deadlineNs: 0).node == nodes[ring.server(for: "k\(k)")!].node) }
        let key = "k0"
        let first = client.route(key, write: true, random: &random, deadlineNs: 0)
        client.report(first, ok: false, atNs: monotonicNs())
        #expect(client.route(key, write: true, random: &random, deadlineNs: 0) == first)
        client.report(first, ok: false, atNs: monotonicNs())
        #expect(client.route(key, write: true, random: &random, deadlineNs: 0).node != first.node)
    }
}
