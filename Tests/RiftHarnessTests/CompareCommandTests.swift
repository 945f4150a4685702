import Foundation
import RiftTestSupport
import Testing

/// `rift compare` as a user runs it, on real Redis: two variants of the replica partition, one
/// reading anywhere and one from the primary only, side by side: the first trades stale reads
/// for spreading its reads, the second has none.
@Suite struct CompareCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func readsAnywhereTradeStaleReadsThatPrimaryReadsDoNotHave() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("rift-compare-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try RiftExecutable.run(
            ["compare", Self.root + "/faults/replica-partition.yaml", "--vary", "workload.reads=any,primary", "--duration", "6s", "--out", out],
            timeout: .seconds(120))
        #expect(r.status == 0, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        // A progress line per variant, then the table.
        #expect(r.stdout.contains("variant 1/2 (workload.reads=any) seed 42:"))
        #expect(r.stdout.contains("variant 2/2 (workload.reads=primary) seed 42:"))
        #expect(r.stdout.contains("workload.reads  VERDICT  STALE READS"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/compare.json"))) as? [String: Any])
        let variants = try #require(json["variants"] as? [[String: Any]])
        #expect(variants.count == 2)
        #expect(variants.map { ($0["settings"] as? [String: Any])?["workload.reads"] as? String } == ["any", "primary"])
        let metrics = variants.compactMap { $0["metrics"] as? [String: Any] }
        #expect(metrics.count == 2)
        for m in metrics {
            for key in ["origin_peak_inflight", "stale_reads", "max_staleness_ns", "consistency_nines", "errors", "p99_ns"] {
                #expect(m.keys.contains(key), "\(key) in \(m)")
            }
        }
        // Replicas cut from the primary for half the run serve old values; the primary never does.
        #expect((metrics[0]["stale_reads"] as? Int ?? 0) > 0, "\(metrics[0])")
        #expect(metrics[1]["stale_reads"] as? Int == 0, "\(metrics[1])")
        #expect(variants.allSatisfy { ($0["checks"] as? [[String: Any]])?.count == 2 })
        let html = try String(contentsOfFile: out + "/compare.html", encoding: .utf8)
        #expect(html.contains("<table>") && html.contains("stale reads") && html.contains("workload.reads=primary"))
        for v in 1...2 { #expect(FileManager.default.fileExists(atPath: "\(out)/v\(v)-seed42/report.html")) }
    }

    @Test func aBadValueExitsTwoNamingItBeforeAnythingRuns() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("rift-compare-\(UUID())").path
        let r = try RiftExecutable.run(
            ["compare", Self.root + "/faults/replica-partition.yaml", "--vary", "workload.reads=any,sometimes", "--out", out], timeout: .seconds(30))
        #expect(r.status == 2)
        #expect(r.stderr.contains("with workload.reads=sometimes: workload.reads:"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
