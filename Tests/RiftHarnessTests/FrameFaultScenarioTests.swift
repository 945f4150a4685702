import Foundation
import RiftTestSupport
import Testing

@testable import RiftHarness

/// The frame-fault scenarios in short form against real Redis: their expected verdicts, and
/// the history shows what the fault did. One run at a time: each starts three servers, and
/// the timing-bound scenarios of other suites share the machine.
@Suite(.serialized) struct FrameFaultScenarioTests {
    static let root = RunCommandTests.root

    /// Client-side caching: lost invalidations leave stale near-cache entries (FAIL); without
    /// the fault the near caches stay fresh (PASS).
    @Test(arguments: [("tracking-dropped-invalidation", Int32(1)), ("tracking-near-cache", Int32(0))])
    func nearCache(scenario: String, expected: Int32) throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try RiftExecutable.run(["run", Self.root + "/faults/\(scenario).yaml", "--duration", "5s", "--out", out], timeout: .seconds(60))
        #expect(r.status == expected, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        let history = try String(contentsOfFile: out + "/history.jsonl", encoding: .utf8)
        // Reads from the near cache and from the server are both in the history.
        #expect(history.contains("\"node\":\"n1-near\""))
        #expect(history.contains("\"f\":\"read\"") && history.contains("\"node\":\"n1\""))
        try expectFreshBeforeFirstFault(out)
        if expected == 1 {
            #expect(r.stdout.contains("verdict: FAIL"))
            let result = try String(contentsOfFile: out + "/result.json", encoding: .utf8)
            #expect(result.contains("\"n1-near\":{"), "per-node staleness names the near cache: \(result.prefix(2000))")
            // The report draws the near cache in a lane of its own.
            #expect(try String(contentsOfFile: out + "/report.html", encoding: .utf8).contains(">n1-near</text>"))
        } else {
            #expect(r.stdout.contains("verdict: PASS"))
        }
    }

    /// A replayed SET puts an older value back: a read returns less than an earlier one did.
    @Test func replayedSetGoesBackInTime() throws {
        let out = runFolder()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try RiftExecutable.run(["run", Self.root + "/faults/replayed-set.yaml", "--duration", "4s", "--out", out], timeout: .seconds(60))
        #expect(r.status == 1, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("verdict: FAIL"))
        let result = try String(contentsOfFile: out + "/result.json", encoding: .utf8)
        #expect(result.contains("stale-replay"), "\(result.prefix(2000))")
        try expectFreshBeforeFirstFault(out)
        // Replies stayed paired: a reply handed to the wrong request makes an `info` (a write
        // answered by a value, a read by OK); allow the odd timeout on a loaded machine.
        let json = try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Any]
        let operations = try #require(json?["operations"] as? [String: Any])
        let ok = try #require(operations["ok"] as? Int), info = try #require(operations["info"] as? Int)
        #expect(ok > 100 && info * 50 <= ok, "\(operations)")
    }

    @Test func theNearCacheWorkloadParsesAndNeedsPrimaryReads() throws {
        let s = try ScenarioParser.parseScenario("name: a\ntopology: t\nduration: 5s\nworkload: {type: near-cache, reads: primary}\n", file: "f.yaml")
        #expect(s.workload.kind == .nearCache)
        do {
            _ = try ScenarioParser.parseScenario("name: a\ntopology: t\nduration: 5s\nworkload: {type: near-cache}\n", file: "f.yaml")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasPrefix("f.yaml:4:18: workload.type: near-cache reads from the primary"), "got: \(error)")
        }
        do {
            _ = try ScenarioParser.parseScenario("name: a\ntopology: t\nduration: 5s\nworkload: {type: cache-aside-ish}\n", file: "f.yaml")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("unknown workload (known: register, near-cache"), "got: \(error)")
        }
    }
}
