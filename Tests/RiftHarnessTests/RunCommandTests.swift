import Foundation
import Glibc
import RiftChecker
import RiftHistory
import RiftTestSupport
import Testing

/// `rift run` as a user runs it, against real Redis: the shipped scenarios in short form give
/// their expected verdicts, a bad file exits 2, Ctrl-C leaves no server behind.
@Suite struct RunCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The pids of the servers a run started, from the first field of their logs (`1234:M ...`).
    func serverPids(_ folder: String) -> [Int32] {
        let nodes = (try? FileManager.default.contentsOfDirectory(atPath: folder + "/nodes")) ?? []
        return nodes.compactMap { n in
            guard let log = try? String(contentsOfFile: "\(folder)/nodes/\(n)/redis.log", encoding: .utf8) else { return nil }
            return log.split(separator: "\n").first.flatMap { Int32($0.prefix { $0.isNumber }) }
        }
    }

    func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    @Test func replicaPartitionPassesInShortForm() throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try RiftExecutable.run(["run", Self.root + "/faults/replica-partition.yaml", "--duration", "10s", "--out", out], timeout: .seconds(60))
        #expect(r.status == 0, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("verdict: PASS"))
        try expectFreshBeforeFirstFault(out)
        let result = try String(contentsOfFile: out + "/result.json", encoding: .utf8)
        #expect(result.contains("\"valid\":true"))
        #expect(try String(contentsOfFile: out + "/report.html", encoding: .utf8).contains("replica-partition: PASS"))
        let history = try String(contentsOfFile: out + "/history.jsonl", encoding: .utf8)
        #expect(history.contains("\"process\":\"nemesis\",\"f\":\"start\""))
        #expect(history.contains("\"process\":\"nemesis\",\"f\":\"stop\""))
        let pids = serverPids(out)
        #expect(pids.count == 3)
        #expect(pids.allSatisfy { !isAlive($0) })
    }

    @Test func tightBoundDuringTheCutFails() throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try RiftExecutable.run(["run", Self.root + "/faults/replica-partition-tight.yaml", "--duration", "10s", "--out", out], timeout: .seconds(60))
        #expect(r.status == 1, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("verdict: FAIL"))
        // The failing check is the tight one, with a stale read as evidence.
        #expect(r.stdout.contains("first anomaly of 'stale reads during the cut"))
        try expectFreshBeforeFirstFault(out)
        #expect(try String(contentsOfFile: out + "/result.json", encoding: .utf8).contains("\"valid\":false"))
    }

    /// The memcached flap: with auto-eject, reads go back in time after the node returns (the
    /// scenario expects FAIL); without it they do not (PASS).
    @Test(arguments: [("memcached-flap-stale", Int32(1)), ("memcached-flap-no-eject", Int32(0))])
    func memcachedFlap(scenario: String, expected: Int32) throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try RiftExecutable.run(["run", Self.root + "/faults/\(scenario).yaml", "--duration", "6s", "--out", out], timeout: .seconds(60))
        #expect(r.status == expected, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        if expected == 1 { #expect(r.stdout.contains("reads over the bound")) }
        try expectFreshBeforeFirstFault(out)
    }

    /// The same flap behind nutcracker: with auto_eject_hosts, n2's keys rehash while it is cut
    /// and reads go back in time when it returns (FAIL, stale_replay); without, errors only
    /// (PASS). result.json holds nutcracker's stats, the run folder its config and log, and
    /// nutcracker is gone after the run.
    @Test(arguments: [("twemproxy-eject-stale", Int32(1)), ("twemproxy-no-eject", Int32(0))])
    func twemproxyFlap(scenario: String, expected: Int32) throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try RiftExecutable.run(["run", Self.root + "/faults/\(scenario).yaml", "--duration", "6s", "--out", out], timeout: .seconds(60))
        #expect(r.status == expected, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        if expected == 1 { #expect(r.stdout.contains("returned an older value than an earlier read"), "stdout: \(r.stdout)") }
        try expectFreshBeforeFirstFault(out)
        let record = try RunRecord.read(try Data(contentsOf: URL(fileURLWithPath: out + "/result.json")))
        let stats = try #require(record.twemproxy)
        #expect(expected == 1 ? stats.ejections > 0 : stats.ejections == 0, "\(stats)")
        #expect(try #require(stats.servers["n2"]).errors > 0, "\(stats)")
        #expect(record.logs.contains("nodes/twemproxy/nutcracker.log"))
        #expect(FileManager.default.fileExists(atPath: out + "/nodes/twemproxy/nutcracker.yml"))
        let log = try String(contentsOfFile: out + "/nodes/twemproxy/nutcracker.log", encoding: .utf8)
        let pid = try #require(log.split(separator: "\n").first { $0.contains("started on pid ") }.flatMap { Int32($0.split(separator: " ").last!) })
        #expect(!isAlive(pid))
    }

    /// Split brain: n1 acknowledges writes while cut from its replicas, n2 is promoted, n1
    /// rejoins as n2's replica and those writes vanish: not linearizable, with the key named.
    @Test func primaryPartitionLosesAcknowledgedWrites() throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try RiftExecutable.run(["run", Self.root + "/faults/primary-partition-lost-writes.yaml", "--out", out], timeout: .seconds(60))
        #expect(r.status == 1, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("verdict: FAIL"))
        #expect(r.stdout.contains("keys not linearizable: r"), "stdout: \(r.stdout)")
        let result = try String(contentsOfFile: out + "/result.json", encoding: .utf8)
        #expect(result.contains("\"invalid_keys\":[\"r"))
        #expect(result.contains("\"not_linearizable\":["))
        let history = try String(contentsOfFile: out + "/history.jsonl", encoding: .utf8)
        #expect(history.contains("promote n2") && history.contains("n1 replicaof n2"))
        try expectFreshBeforeFirstFault(out)
    }

    /// The run's `lost_writes` outcome and its history's final reads (`f: read`), from the run folder.
    func lostWrites(_ folder: String) throws -> (CheckOutcome, finalReads: [HistoryOperation]) {
        let record = try RunRecord.read(try Data(contentsOf: URL(fileURLWithPath: folder + "/result.json")))
        let outcome = try #require(record.checks.first { $0.spec.kind == .lostWrites })
        let ops = try HistoryReader.read(path: folder + "/history.jsonl").paired().operations
        return (outcome, ops.filter { $0.f == .read })
    }

    /// Jepsen's set test on the same split brain: the adds n1 acknowledged during the cut are
    /// absent from the final read, which goes to n2, the primary after the failover.
    @Test func primaryPartitionLosesAcknowledgedAdds() throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try RiftExecutable.run(["run", Self.root + "/faults/primary-partition-lost-set-writes.yaml", "--out", out], timeout: .seconds(60))
        #expect(r.status == 1, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("verdict: FAIL"))
        #expect(r.stdout.contains("first anomaly of 'no acknowledged add is lost"), "stdout: \(r.stdout)")
        #expect(try String(contentsOfFile: out + "/result.json", encoding: .utf8).contains("\"lost_fraction\":"))
        let (outcome, reads) = try lostWrites(out)
        #expect(outcome.verdict == .invalid)
        let details = try #require(outcome.result?.details)
        guard case .int(let lost)? = details["lost"], case .int(let okAdds)? = details["ok_adds"] else {
            Issue.record("no lost or ok_adds in \(details)")
            return
        }
        #expect(lost > 0 && lost < okAdds, "lost \(lost) of \(okAdds)")
        #expect(details["unexpected"] == .int(0))
        #expect(reads.map(\.key) == ["s0", "s1", "s2"])
        #expect(reads.allSatisfy { $0.status == .ok && $0.node == "n2" }, "\(reads)")
    }

    /// Without faults no acknowledged add is lost, on a primary with replicas and on a cluster
    /// (each set on its slot's master).
    @Test(arguments: ["redis-replicated", "redis-cluster-masters"])
    func setWorkloadWithoutFaultsLosesNothing(topology: String) throws {
        let dir = runFolder()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scenario = dir + "/sets.yaml"
        try """
            name: sets-no-fault
            topology: \(topology)
            seed: 3
            duration: 3s
            workload: {type: set, processes: 4, rate: 200, keys: 3, timeout: 500ms}
            checks:
              - check: lost_writes
            """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let r = try RiftExecutable.run(["run", scenario, "--out", dir + "/run"], timeout: .seconds(60))
        #expect(r.status == 0, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("verdict: PASS"))
        let (outcome, reads) = try lostWrites(dir + "/run")
        #expect(outcome.verdict == .valid)
        let details = try #require(outcome.result?.details)
        #expect(details["lost"] == .int(0) && details["unexpected"] == .int(0))
        guard case .int(let okAdds)? = details["ok_adds"] else {
            Issue.record("no ok_adds in \(details)")
            return
        }
        #expect(okAdds > 300, "ok adds: \(okAdds)")
        #expect(reads.map(\.key) == ["s0", "s1", "s2"] && reads.allSatisfy { $0.status == .ok }, "\(reads)")
    }

    /// A 50 ms delay on the hot shard's client link shows on that node only (PASS); the same
    /// delay on a cold node fails the check's bounds (FAIL). Both print per-node percentiles.
    @Test(arguments: [("hot-shard", Int32(0)), ("hot-shard-wrong-node", Int32(1))])
    func hotShardLatency(scenario: String, expected: Int32) throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try RiftExecutable.run(["run", Self.root + "/faults/\(scenario).yaml", "--out", out], timeout: .seconds(60))
        #expect(r.status == expected, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("latency per node"))
        let result = try String(contentsOfFile: out + "/result.json", encoding: .utf8)
        #expect(result.contains("\"latency_per_node\":{") && result.contains("\"p99_ns\":"))
        if expected == 1 { #expect(r.stdout.contains("n3 p99") && r.stdout.contains("n1 p50"), "stdout: \(r.stdout)") }
        try expectFreshBeforeFirstFault(out)
    }

    /// `rebalance` on a memcached pool: the ring weights shift until n3's hot key r0 is off n3,
    /// and every workload process takes the new ring at once: r0 is answered by n3 before the
    /// step and by another node after it.
    @Test func poolRebalanceChangesTheRingWeights() throws {
        let out = runFolder()
        let path = out + ".yaml"
        try """
            name: pool-rebalance
            topology: memcached-pool
            seed: 5
            duration: 3s
            workload: {type: register, processes: 6, rate: 200, keys: 8, writes: 0.3, distribution: zipf, skew: 1.0, timeout: 500ms}
            timeline:
              - at: 1500ms
                rebalance: {node: n3, to: n1, keys: hot}
            checks:
              - {name: latency per node, check: latency}

            """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: path) }
        let r = try RiftExecutable.run(["run", path, "--out", out], timeout: .seconds(60))
        #expect(r.status == 0, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("rebalance n3 -> n1: moved r0"), "stdout: \(r.stdout)")
        let history = try HistoryReader.read(path: out + "/history.jsonl").paired()
        let moved = try #require(history.firstNemesisTime("rebalance"))
        let r0 = history.operations.filter { $0.key == "r0" && $0.status == .ok }
        let before = r0.filter { $0.completeTime! < moved }, after = r0.filter { $0.invokeTime > moved + 50_000_000 }
        #expect(!before.isEmpty && before.allSatisfy { $0.node == "n3" })
        #expect(!after.isEmpty && after.allSatisfy { $0.node != "n3" })
    }

    @Test func badScenarioExits2WithThePlace() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rift-bad-\(UUID()).yaml").path
        try "name: bad\ntopology: redis-replicated\nduration: 5s\ntimeline:\n  - at: 1s\n    kill: n9\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try RiftExecutable.run(["run", path], timeout: .seconds(20))
        #expect(r.status == 2)
        // No harness/ beside /tmp: the built-in redis-replicated, which has no n9.
        #expect(r.stderr.contains("\(path):5:5: timeline: no node 'n9' in redis-replicated"), "stderr: \(r.stderr)")
        // A topology that is neither beside the scenario nor built in: named at its line.
        try "name: bad\ntopology: no-such-fleet\nduration: 5s\n".write(toFile: path, atomically: true, encoding: .utf8)
        let missing = try RiftExecutable.run(["run", path], timeout: .seconds(20))
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("\(path):2:0: topology: no topology 'no-such-fleet': not built in"), "stderr: \(missing.stderr)")
    }

    @Test func interruptStopsEveryServer() throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let run = try RunningRift(["run", Self.root + "/faults/replica-partition.yaml", "--out", out])
        defer { run.stop() }
        #expect(run.waitForOutput("[  1s]", timeout: .seconds(30)), "stdout: \(run.stdout)\nstderr: \(run.stderr)")
        let pids = serverPids(out)
        #expect(pids.count == 3 && pids.allSatisfy(isAlive))
        run.signal(SIGINT)
        let r = run.wait(timeout: .seconds(15))
        #expect(r.status == 1, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("INTERRUPTED"))
        #expect(pids.allSatisfy { !isAlive($0) })
    }
}
