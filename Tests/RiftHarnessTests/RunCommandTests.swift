import Foundation
import Glibc
import RiftTestSupport
import Testing

/// `rift run` as a user runs it, against real Redis: the shipped scenarios in short form give
/// their expected verdicts, a bad file exits 2, Ctrl-C leaves no server behind.
@Suite struct RunCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func runFolder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("rift-run-\(UUID())").path
    }

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

    @Test func badScenarioExits2WithThePlace() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rift-bad-\(UUID()).yaml").path
        try "name: bad\ntopology: redis-replicated\nduration: 5s\ntimeline:\n  - at: 1s\n    kill: n9\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try RiftExecutable.run(["run", path], timeout: .seconds(20))
        #expect(r.status == 2)
        // The topology is looked up next to the scenario's folder: missing here.
        #expect(r.stderr.contains("\(path):2:"), "stderr: \(r.stderr)")
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
