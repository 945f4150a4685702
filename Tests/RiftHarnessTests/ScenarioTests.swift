import RiftCore
import RiftProxy
import RiftChecker
import Testing

@testable import RiftHarness

/// Scenario and topology files: what they mean, and bad ones reported at the right place.
@Suite struct ScenarioTests {
    let topology = Topology(name: "redis-replicated", nodes: [.init(name: "n1"), .init(name: "n2", replicaOf: "n1"), .init(name: "n3", replicaOf: "n1")])

    static let good = """
        name: replica-partition
        topology: redis-replicated
        seed: 42
        duration: 20s
        workload:
          type: register
          processes: 6
          rate: 300
          keys: 4
          writes: 0.3
          reads: replicas
          timeout: 250ms
          distribution: zipf
          skew: 1.2
        timeline:
          - at: 4s
            partition: [[n1], [n2, n3]]
          - at: 5s
            fault: {proxy: client-n2, type: latency, stream: downstream, attributes: {latency: 100}}
          - at: 6s
            pause: n3
          - at: 7s
            resume: n3
          - at: 14s
            heal: {}
        checks:
          - name: during
            check: staleness
            from: start
            until: heal
            max_staleness: 13s
            scaled: true
          - check: staleness
            from: heal+2s
            max_staleness: 500ms
        """

    @Test func readsAScenario() throws {
        let s = try ScenarioParser.parseScenario(Self.good, file: "x.yaml")
        #expect(s.name == "replica-partition")
        #expect(s.seed == 42)
        #expect(s.durationNs == 20_000_000_000)
        #expect(s.workload.processes == 6 && s.workload.rate == 300 && s.workload.keys == 4)
        #expect(s.workload.writeFraction == 0.3 && s.workload.reads == .replicas && s.workload.timeoutNs == 250_000_000)
        #expect(s.timeline.map(\.atNs) == [4, 5, 6, 7, 14].map { Int64($0) * 1_000_000_000 })
        #expect(s.timeline[0].directive == .partition(groups: [["n1"], ["n2", "n3"]], mode: .blackhole))
        #expect(s.timeline[1].directive == .fault(proxy: "client-n2", type: "latency", stream: .downstream, attributes: ["latency": .int(100)]))
        #expect(s.timeline[2].directive == .pause(node: "n3"))
        #expect(s.timeline[4].directive == .heal)
        #expect(s.workload.distribution == .zipf(skew: 1.2))
        #expect(s.timeline[0].line == 16 && s.timeline[0].column == 5)
        #expect(s.checks.map(\.name) == ["during", "staleness"])
        try ScenarioParser.validate(s, against: topology)
    }

    @Test func failoverSteps() throws {
        let s = try ScenarioParser.parseScenario("name: a\ntopology: t\nduration: 5s\ntimeline:\n  - at: 1s\n    promote: n2\n  - at: 2s\n    replicaof: {node: n1, of: n2}\n", file: "f.yaml")
        #expect(s.timeline.map(\.directive) == [.promote(node: "n2"), .replicaOf(node: "n1", primary: "n2")])
        #expect(s.timeline.map(\.directive.nemesisF) == ["start", "stop"])
        try ScenarioParser.validate(s, against: topology)
        let pool = Topology(name: "p", kind: MemcachedPool(), nodes: [.init(name: "n1"), .init(name: "n2")])
        #expect(throws: ConfigFileError.self) { try ScenarioParser.validate(s, against: pool) }
    }

    @Test func scaledBoundsFollowTheTimelineOthersDoNot() throws {
        let s = try ScenarioParser.parseScenario(Self.good, file: "x.yaml")
        let half = s.scaled(by: 0.5)
        #expect(half.durationNs == 10_000_000_000)
        #expect(half.timeline.map(\.atNs).first == 2_000_000_000)
        #expect((s.checks[0].scaled(by: 0.5).check as? StalenessCheck)?.maxStalenessNs == 6_500_000_000)
        #expect((s.checks[1].scaled(by: 0.5).check as? StalenessCheck)?.maxStalenessNs == 500_000_000)
    }

    @Test func topologyLinksAreNamedAfterTheirEnds() throws {
        let t = try ScenarioParser.parseTopology("name: r\nnodes:\n  - name: n1\n  - name: n2\n    replicaof: n1\n", file: "t.yaml")
        #expect(t.primary == "n1")
        #expect(t.replicas == ["n2"])
        #expect(t.links.map(\.proxy) == ["client-n1", "client-n2", "n2-to-n1"])
        #expect(t.links.last.map { [$0.from, $0.to] } == ["n2", "n1"])
    }

    /// Each bad file, and where its error must point.
    @Test(arguments: [
        ("name: a\ntopology: t\nduration: 5s\nbogus: 1\n", "f.yaml:4:1: bogus: unknown key"),
        ("name: a\ntopology: t\nduration: five\n", "f.yaml:3:11: duration: invalid duration 'five'"),
        ("name: a\ntopology: t\n", "f.yaml:1:1: duration: missing required field: duration"),
        ("name: a\ntopology: t\nduration: 5s\ntimeline:\n  - at: 9s\n    heal: {}\n", "f.yaml:5:5: timeline: at 9s is not before the end of the run"),
        ("name: a\ntopology: t\nduration: 5s\ntimeline:\n  - at: 1s\n", "f.yaml:5:5: timeline[0]: give exactly one of"),
        ("name: a\ntopology: t\nduration: 5s\ntimeline:\n  - at: 1s\n    kill: n1\n    pause: n2\n", "f.yaml:5:5: timeline[0]: give exactly one of"),
        ("name: a\ntopology: t\nduration: 5s\ntimeline:\n  - at: 1s\n    fault: {proxy: p, type: nosuch}\n", "f.yaml:6:29: timeline[0].fault.type: unknown fault type 'nosuch'"),
        ("name: a\ntopology: t\nduration: 5s\ntimeline:\n  - at: 1s\n    partition: {groups: [[n1]], mode: sideways}\n", "f.yaml:6:39: timeline[0].partition.mode: expected one of"),
        ("name: a\ntopology: t\nduration: 5s\nworkload:\n  processes: 0\n", "f.yaml:5:14: workload.processes: 0 is out of range"),
        ("name: a\ntopology: t\nduration: 5s\nchecks:\n  - check: staleness\n    from: heal+soon\n", "f.yaml:6:11: checks[0].from: invalid window bound"),
        ("name: a\ntopology: t\nduration: 5s\nchecks:\n  - check: vibes\n", "f.yaml:5:12: checks[0].check: unknown check"),
        ("name: a\ntopology: [t\n", "f.yaml:"),
        ("name: a\ntopology: t\nduration: 5s\nworkload:\n  skew: 2\n", "f.yaml:5:9: workload.skew: applies only to distribution: zipf"),
        ("name: a\ntopology: t\nduration: 5s\nchecks:\n  - check: staleness\n    node: n1\n", "f.yaml:6:11: checks[0].node: applies only to check: latency"),
        ("name: a\ntopology: t\nduration: 5s\nchecks:\n  - check: latency\n    min_p99: 50ms\n", "f.yaml:5:5: checks[0].node: min_p99, others_max_p99 and others_max_p50 need node"),
        ("name: a\ntopology: t\nduration: 5s\ntimeline:\n  - at: 1s\n    replicaof: {node: n1}\n", "f.yaml:6:16: timeline[0].replicaof.of: missing required field: of"),
        ("name: a\ntopology: t\nduration: 5s\ntimeline:\n  - at: 1s\n    replicaof: {node: n1, of: n1}\n", "f.yaml:6:16: timeline[0].replicaof: a node cannot replicate from itself"),
        ("name: a\ntopology: t\nduration: 5s\ntimeline:\n  - at: 1s\n    restart: {node: n1, data: maybe}\n", "f.yaml:6:31: timeline[0].restart.data: expected keep or lose"),
        ("name: a\ntopology: t\nduration: 5s\ntimeline:\n  - at: 1s\n    restart: {data: keep}\n", "f.yaml:6:14: timeline[0].restart.node: missing required field: node"),
    ])
    func badScenarioPointsAtTheProblem(text: String, expected: String) {
        #expect(throws: ConfigFileError.self) { try ScenarioParser.parseScenario(text, file: "f.yaml") }
        do {
            _ = try ScenarioParser.parseScenario(text, file: "f.yaml")
        } catch {
            #expect("\(error)".hasPrefix(expected), "got: \(error)")
        }
    }

    @Test(arguments: [
        ("timeline:\n  - at: 1s\n    kill: n9\n", "f.yaml:5:5: timeline: no node 'n9'"),
        ("timeline:\n  - at: 1s\n    partition: [[n1], [n7]]\n", "f.yaml:5:5: timeline: partition names 'n7'"),
        ("timeline:\n  - at: 1s\n    fault: {proxy: n1-to-n2, type: blackhole}\n", "f.yaml:5:5: timeline: no proxy 'n1-to-n2'"),
        ("timeline:\n  - at: 1s\n    kill: n2\nchecks:\n  - {check: staleness, from: heal+2s}\n", "f.yaml:8:5: checks.from: 'heal+2s' needs a timeline step that heals"),
        ("checks:\n  - {check: latency, node: n9, min_p99: 50ms}\n", "f.yaml:5:5: checks.node: no node 'n9'"),
        ("timeline:\n  - at: 1s\n    promote: n9\n", "f.yaml:5:5: timeline: no node 'n9'"),
        ("timeline:\n  - at: 1s\n    replicaof: {node: n1, of: n7}\n", "f.yaml:5:5: timeline: no node 'n7'"),
        ("checks:\n  - check: staleness\n    until: start\n", "f.yaml:5:5: checks.until: 'start' needs a timeline step that starts a fault"),
    ])
    func namesMustExistInTheTopology(timeline: String, expected: String) throws {
        let s = try ScenarioParser.parseScenario("name: a\ntopology: t\nduration: 5s\n" + timeline, file: "f.yaml")
        do {
            try ScenarioParser.validate(s, against: topology)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasPrefix(expected), "got: \(error)")
        }
    }

    @Test(arguments: [
        ("name: t\nnodes:\n  - name: n1\n  - name: n2\n", "t.yaml:3:3: nodes: expected exactly one primary"),
        ("name: t\nnodes:\n  - name: n1\n  - name: n1\n    replicaof: n1\n", "t.yaml:4:11: nodes[1].name: node name 'n1' is used twice"),
        ("name: t\nkind: cassandra\nnodes:\n  - name: n1\n", "t.yaml:2:7: kind: unknown kind"),
        ("name: t\nkind: memcached\nnodes:\n  - name: n1\n  - name: n2\n    replicaof: n1\n", "t.yaml:4:3: nodes: n2: memcached nodes do not replicate"),
    ])
    func badTopologyPointsAtTheProblem(text: String, expected: String) {
        do {
            _ = try ScenarioParser.parseTopology(text, file: "t.yaml")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasPrefix(expected), "got: \(error)")
        }
    }

    @Test func restartTakesANodeOrANodeAndWhatBecomesOfItsData() throws {
        let s = try ScenarioParser.parseScenario(
            "name: a\ntopology: t\nduration: 5s\ntimeline:\n  - {at: 1s, restart: n1}\n  - {at: 2s, restart: {node: n2, data: keep}}\n  - {at: 3s, restart: {node: n3, data: lose}}\n",
            file: "f.yaml")
        #expect(s.timeline.map(\.directive) == [.restart(node: "n1"), .restart(node: "n2", keepData: true), .restart(node: "n3", keepData: false)])
        let pool = try ScenarioParser.parseTopology("name: p\nkind: memcached\nnodes:\n  - name: n1\n", file: "t.yaml")
        let keep = try ScenarioParser.parseScenario("name: a\ntopology: p\nduration: 5s\ntimeline:\n  - {at: 1s, restart: {node: n1, data: keep}}\n", file: "f.yaml")
        #expect(throws: (any Error).self) { try ScenarioParser.validate(keep, against: pool) }
        do { try ScenarioParser.validate(keep, against: pool) } catch {
            #expect("\(error)".contains("restart with data: keep needs a Redis topology"), "got: \(error)")
        }
    }

    @Test func memcachedPoolHasOnlyClientLinks() throws {
        let t = try ScenarioParser.parseTopology("name: p\nkind: memcached\nnodes:\n  - name: n1\n  - name: n2\n", file: "t.yaml")
        #expect(t.kind is MemcachedPool)
        #expect(t.links.map(\.proxy) == ["client-n1", "client-n2"])
        let w = try ScenarioParser.parseScenario("name: a\ntopology: p\nduration: 5s\nworkload: {auto_eject: true, failure_limit: 3, retry_timeout: 2s}\n", file: "f.yaml").workload
        #expect(w.autoEject && w.failureLimit == 3 && w.retryTimeoutNs == 2_000_000_000)
    }


}
