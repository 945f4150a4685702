import Foundation
import Glibc
import RiftChecker
import RiftClient
import RiftHistory
import RiftTestSupport
import Testing

@testable import RiftHarness

/// `kind: external`: a fleet the user runs, given by address. Its file's errors; then real
/// redis-servers started here as "the user's cluster": Rift's proxies in front, replication
/// routed through them and restored after, node actions as commands with their output kept,
/// a failing action making the verdict unknown, an unreachable node exiting 2.
@Suite(.serialized) struct ExternalTests {

    func topology(_ text: String) throws -> Topology { try ScenarioParser.parseTopology(text, file: "t.yaml") }

    @Test func readsAddressesActionsAndSettings() throws {
        let t = try topology("""
            name: mine
            kind: external
            route_replication: true
            advertise: 10.0.0.5
            action_timeout: 5s
            nodes:
              - {name: n1, address: 10.1.2.3:6379}
              - {name: n2, address: "redis-2:6379", replicaof: n1}
            actions:
              n2: {kill: "docker kill redis-2", restart: "docker start redis-2"}

            """)
        let kind = try #require(t.kind as? External)
        #expect(kind.addresses == ["n1": "10.1.2.3:6379", "n2": "redis-2:6379"] && kind.routeReplication && kind.advertise == "10.0.0.5")
        #expect(kind.actionTimeoutNs == 5_000_000_000 && kind.actions["n2"]?["restart"] == "docker start redis-2")
        #expect(t.links.map(\.proxy) == ["client-n1", "client-n2", "n2-to-n1"])
        // Without route_replication the replicas stream directly: no link to cut.
        let direct = try topology("name: d\nkind: external\nnodes:\n  - {name: n1, address: 127.0.0.1:7000}\n  - {name: n2, address: 127.0.0.1:7001, replicaof: n1}\n")
        #expect(direct.links.map(\.proxy) == ["client-n1", "client-n2"])
    }

    /// The topology shipped beside the Kubernetes manifests reads (pod DNS names as addresses,
    /// the pods' sidecars as agents), the Job's copy of it is the same text, and the Job's
    /// scenario validates against it. The token path is the Secret's mount in the pods; here
    /// it points at a file of the test's.
    @Test func kubernetesTopologyReads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let file = try String(contentsOfFile: root + "/deploy/kubernetes/rift/redis-pods.yaml", encoding: .utf8)
        let body = file.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        let job = try String(contentsOfFile: root + "/deploy/kubernetes/rift-run-job.yaml", encoding: .utf8)
        func embedded(_ key: String) -> String {
            let lines = job.split(separator: "\n", omittingEmptySubsequences: false)
            guard let start = lines.firstIndex(where: { $0 == "  \(key): |" }) else { return "" }
            return lines[(start + 1)...].prefix { $0.hasPrefix("    ") }.map { String($0.dropFirst(4)) }.joined(separator: "\n") + "\n"
        }
        #expect(embedded("redis-pods.yaml") == body, "rift-run-job.yaml's redis-pods.yaml differs from rift/redis-pods.yaml")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-k8s-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "a-token\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        let here = file.replacingOccurrences(of: "/var/run/rift/token", with: dir + "/token")
        let t = try ScenarioParser.parseTopology(here, file: dir + "/redis-pods.yaml")
        let kind = try #require(t.kind as? External)
        #expect(kind.addresses == ["n1": "redis-0.redis:6379", "n2": "redis-1.redis:6379"] && t.replicas == ["n2"] && kind.routeReplication)
        #expect(!"\(t)".contains("a-token"))
        let scenario = try ScenarioParser.parseScenario(embedded("replica-cut.yaml"), file: "replica-cut.yaml")
        try ScenarioParser.validate(scenario, against: t)
    }

    @Test(arguments: [
        ("nodes:\n  - {name: n1, address: 10.1.2.3}\n", "t.yaml:4:25: nodes[0].address: expected host:port, e.g. 10.1.2.3:6379"),
        ("nodes:\n  - {name: n1}\n", "missing required field: address"),
        ("nodes:\n  - {name: n1, address: a:1}\nactions:\n  n1: {stop: x}\n", "t.yaml:6:8: actions.n1.stop: unknown key"),
        ("nodes:\n  - {name: n1, address: a:1}\nactions:\n  n9: {kill: x}\n", "no node 'n9' (nodes: n1)"),
        ("protocol: memcached\nnodes:\n  - {name: n1, address: a:1}\n  - {name: n2, address: a:2, replicaof: n1}\n", "memcached nodes do not replicate"),
        ("protocol: memcached\nroute_replication: true\nnodes:\n  - {name: n1, address: a:1}\n", "route_replication needs protocol: redis"),
        ("protocol: mysql\nnodes:\n  - {name: n1, address: a:1}\n", "expected redis or memcached"),
        ("nodes:\n  - {name: n1, address: a:1}\n  - {name: n2, address: a:2}\n", "expected exactly one primary"),
    ])
    func badExternalTopology(body: String, expected: String) {
        let got = errorText { _ = try topology("name: x\nkind: external\n" + body) }
        #expect(got.contains(expected), "\(got)")
    }

    /// An action without its command, Rift's own failover steps and a cut between nodes whose
    /// links Rift does not carry are refused at the step's line.
    @Test func stepsNeedTheirCommands() throws {
        let t = try topology("name: x\nkind: external\nnodes:\n  - {name: n1, address: a:1}\n  - {name: n2, address: a:2, replicaof: n1}\nactions:\n  n2: {pause: p}\n")
        func validate(_ step: String) -> String {
            errorText {
                try ScenarioParser.validate(try ScenarioParser.parseScenario("name: a\ntopology: x\nduration: 5s\ntimeline:\n  - at: 1s\n    \(step)\n", file: "f.yaml"), against: t)
            }
        }
        #expect(validate("pause: n2") == "no error")
        #expect(validate("partition: [[client], [n1]]") == "no error")
        #expect(validate("resume: n2").hasPrefix("f.yaml:5:5: timeline: resume on n2 needs a command: add actions: {n2: {resume: \"...\"}}"))
        #expect(validate("kill: n1").contains("kill on n1 needs a command"))
        #expect(validate("promote: n2").contains("promote is not done on an external fleet"))
        #expect(validate("restart: {node: n2, data: keep}").contains("an external node restarts as its command does"))
        #expect(validate("partition: [[n1], [n2]]").contains("Rift proxies only with route_replication: true"))
    }

    /// Writes the topology and scenario for a primary and a replica the test started.
    func files(_ dir: String, primary: RedisServer, replica: RedisServer, actions: String, timeline: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
            name: users-redis
            kind: external
            route_replication: true
            action_timeout: 5s
            nodes:
              - {name: n1, address: 127.0.0.1:\(primary.port)}
              - {name: n2, address: 127.0.0.1:\(replica.port), replicaof: n1}
            actions:
            \(actions)

            """.write(toFile: dir + "/topology.yaml", atomically: true, encoding: .utf8)
        try """
            name: external-run
            topology: ./topology.yaml
            seed: 3
            duration: 4s
            workload: {type: register, processes: 4, rate: 200, keys: 3, reads: replicas}
            timeline:
            \(timeline)
            checks:
              - {name: reads of n2 during the cut, check: staleness, from: start, until: heal, max_staleness: 300ms}

            """.write(toFile: dir + "/scenario.yaml", atomically: true, encoding: .utf8)
        return dir + "/scenario.yaml"
    }


    /// The user's primary and replica behind Rift: the replica streams through n2-to-n1 during
    /// the run (so the cut leaves its reads behind) and from the primary's own port after;
    /// the pause and resume commands ran, with their output in actions/.
    @Test func routesReplicationAndRunsTheActions() throws {
        let primary = try RedisServer.started()
        defer { primary.stop() }
        let replica = try RedisServer.startedReplica(of: primary)
        defer { replica.stop() }
        try replica.waitForReplicaLink()
        let pid = try #require(replica.pid)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-external-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scenario = try files(dir, primary: primary, replica: replica,
                                 actions: "  n2: {pause: \"kill -STOP \(pid); echo paused \(pid)\", resume: \"kill -CONT \(pid)\"}",
                                 timeline: "  - {at: 1s, partition: [[n1], [n2]]}\n  - {at: 2500ms, heal: {}}\n  - {at: 3s, pause: n2}\n  - {at: 3200ms, resume: n2}")
        let r = try RiftExecutable.run(["run", scenario, "--out", dir + "/run"], timeout: .seconds(60))
        #expect(r.status == 1, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        // The cut held n2's stream: its reads fell behind the writes on n1.
        #expect(r.stdout.contains("reads of n2 during the cut") && r.stdout.contains("FAIL"), "\(r.stdout)")
        let actions = try FileManager.default.contentsOfDirectory(atPath: dir + "/run/nodes/actions").sorted()
        #expect(actions == ["1-n2-pause.log", "2-n2-resume.log"])
        let pauseLog = try String(contentsOfFile: dir + "/run/nodes/actions/1-n2-pause.log", encoding: .utf8)
        #expect(pauseLog.contains("kill -STOP \(pid)") && pauseLog.contains("paused \(pid)"))
        // Back to the primary's own address, and still replicating.
        #expect(try replica.replicationInfo("master_port") == String(primary.port))
        try replica.waitForReplicaLink()
    }

    /// A command that fails mid-run: recorded as a nemesis info event; the verdict is unknown.
    @Test func aFailedActionMakesTheVerdictUnknown() throws {
        let primary = try RedisServer.started()
        defer { primary.stop() }
        let replica = try RedisServer.startedReplica(of: primary)
        defer { replica.stop() }
        try replica.waitForReplicaLink()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-external-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scenario = try files(dir, primary: primary, replica: replica, actions: "  n2: {kill: \"echo no such container >&2; exit 3\"}",
                                 timeline: "  - {at: 1s, partition: [[n1], [n2]]}\n  - {at: 1500ms, kill: n2}\n  - {at: 2s, heal: {}}")
        let r = try RiftExecutable.run(["run", scenario, "--out", dir + "/run"], timeout: .seconds(60))
        #expect(r.status == 1)
        #expect(r.stdout.contains("verdict: UNKNOWN - 1 node action(s) failed") && r.stdout.contains("exited with status 3"), "\(r.stdout)")
        let history = try HistoryReader.read(path: dir + "/run/history.jsonl").paired()
        #expect(history.nemesis.contains { $0.f == "action-failed" && $0.type == .info })
        let record = try runRecord(dir + "/run")
        #expect(record.verdict == .unknown && record.actionFailures.count == 1)
        let log = try String(contentsOfFile: dir + "/run/nodes/actions/1-n2-kill.log", encoding: .utf8)
        #expect(log.contains("no such container"))
        #expect(try replica.replicationInfo("master_port") == String(primary.port))
    }

    /// A node that does not answer at its address: exit 2, naming the node and the address.
    @Test func anUnreachableNodeIsBadInput() throws {
        let primary = try RedisServer.started()
        defer { primary.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-external-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reservation = PortReservation()
        let nobody = reservation.reserve()
        reservation.release()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "name: gone\nkind: external\nnodes:\n  - {name: n1, address: 127.0.0.1:\(nobody)}\n".write(toFile: dir + "/topology.yaml", atomically: true, encoding: .utf8)
        try "name: s\ntopology: ./topology.yaml\nduration: 2s\nworkload: {reads: primary}\n".write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
        let r = try RiftExecutable.run(["run", dir + "/s.yaml", "--out", dir + "/run"], timeout: .seconds(60))
        #expect(r.status == 2)
        #expect(r.stderr.contains("n1 (127.0.0.1:\(nobody)) did not answer"), "\(r.stderr)")
    }
}
