import Foundation
import Glibc
import RiftHistory
import RiftTestSupport
import Testing

@testable import RiftHarness

/// Node actions on real Redis through the library: a paused replica times reads out (info),
/// a killed and restarted replica comes back on its port, resyncs, and serves fresh reads.
@Suite struct NodeActionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func pauseResumeKillRestart() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("rift-nodes-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let text = """
            name: node-actions
            topology: \(Self.root)/harness/redis-replicated.yaml
            seed: 5
            duration: 6s
            workload: {processes: 4, rate: 200, keys: 2, writes: 0.3, reads: any, timeout: 300ms}
            timeline:
              - {at: 500ms, pause: n2}
              - {at: 2s, resume: n2}
              - {at: 2500ms, kill: n3}
              - {at: 3500ms, restart: n3}
            checks:
              - {name: fresh after the restart, check: staleness, from: stop+2500ms, max_staleness: 500ms}
            """
        let scenario = try ScenarioParser.parseScenario(text, file: out + ".yaml")
        let topology = try ScenarioParser.parseTopology(try String(contentsOfFile: Self.root + "/harness/redis-replicated.yaml", encoding: .utf8), file: "t.yaml")
        try ScenarioParser.validate(scenario, against: topology)
        let result = try await ScenarioRunner(scenario: scenario, topology: topology, options: RunOptions(outDirectory: out)).run()
        #expect(result.verdict == .valid, "\(result.outcomes.map { $0.report?.text() ?? $0.error ?? "" })")

        try expectFreshBeforeFirstFault(out)
        let history = try HistoryReader.read(path: out + "/history.jsonl")
        let nemesis = history.nemesisEvents
        #expect(nemesis.map(\.f) == ["start", "stop", "start", "stop"])
        let t = nemesis.map(\.time)
        let ops = try history.paired().operations
        // While n2 was stopped its reads got no answer: indeterminate, never ok. The nemesis event
        // is written just before the signal is sent; on a loaded machine an operation can slip
        // in between, so the window starts 100 ms later.
        func statuses(_ ops: [HistoryOperation]) -> String { ops.map { "\($0.invokeTime): \($0.status)" }.joined(separator: ", ") }
        let n2Paused = ops.filter { $0.node == "n2" && $0.invokeTime > t[0] + 100_000_000 && $0.invokeTime < t[1] - 400_000_000 }
        #expect(!n2Paused.isEmpty && n2Paused.allSatisfy { $0.status != .ok }, "pause at \(t[0]): \(statuses(n2Paused))")
        // While n3 was dead nothing it served was ok; after the restart it answers again.
        let n3Dead = ops.filter { $0.node == "n3" && $0.invokeTime > t[2] + 100_000_000 && $0.invokeTime < t[3] - 300_000_000 }
        #expect(!n3Dead.isEmpty && n3Dead.allSatisfy { $0.status != .ok }, "kill at \(t[2]): \(statuses(n3Dead))")
        #expect(ops.contains { $0.node == "n3" && $0.invokeTime > t[3] && $0.status == .ok })
        // n3 ran twice: two startup banners in its log.
        let log = try String(contentsOfFile: out + "/nodes/n3/redis.log", encoding: .utf8)
        #expect(log.components(separatedBy: "Server initialized").count - 1 == 2)
    }

    /// A restart with `data: keep` saves and comes back with the dataset; without, the node
    /// comes back empty. Real Redis, through the fleet's own client proxy.
    @Test func restartKeepsOrLosesTheData() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-restart-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let topology = try ScenarioParser.parseTopology(try String(contentsOfFile: Self.root + "/harness/redis-replicated.yaml", encoding: .utf8), file: "t.yaml")
        let fleet = try Fleet(topology: topology, directory: dir, seed: 1)
        try await fleet.start()
        do {
            let port = try #require(fleet.port(of: "n1"))
            func get() throws -> RESPValue {
                let c = RESPClient(reconnectingTo: port)
                defer { c.close() }
                return try c.request(["GET", "k"], deadlineNs: monotonicNs() + 2_000_000_000)
            }
            let c = RESPClient(reconnectingTo: port)
            #expect(try c.request(["SET", "k", "v1"], deadlineNs: monotonicNs() + 2_000_000_000) == .simpleString("OK"))
            c.close()
            try fleet.restart("n1", keepData: true)
            #expect(try get() == .bulk("v1"))
            try fleet.restart("n1", keepData: false)
            #expect(try get() == .bulkString(nil))
            try fleet.kill("n1")
            #expect(throws: FleetError.self) { try fleet.restart("n1", keepData: true) }
        } catch {
            await fleet.stop()
            throw error
        }
        await fleet.stop()
    }
}
