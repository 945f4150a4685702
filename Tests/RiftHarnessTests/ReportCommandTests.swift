import Foundation
import Glibc
import RiftTestSupport
import Testing

/// `rift report` as a user runs it, and its page as a browser shows it: rendered by headless
/// Chromium, the DOM must show the verdict, the timelines with the fault shaded, staleness,
/// latency and the anomalies, and the screenshot must not be a blank page.
@Suite(.serialized) struct ReportCommandTests {
    static let s: Int64 = 1_000_000_000

    /// A history with a partition window, a lost write (not linearizable) and a stale read.
    static let history: String = {
        let s = Self.s
        var lines = [#"{"rift_history":1,"scenario":"fixture","seed":9,"topology":"redis-replicated"}"#]
        func op(_ p: Int, _ f: String, _ key: String, _ v: Int?, _ out: Int?, _ t0: Int64, _ t1: Int64, _ node: String) {
            let inV = f == "write" ? "\(v!)" : "null", outV = f == "write" ? "\(v!)" : (out.map(String.init) ?? "null")
            lines.append(#"{"type":"invoke","process":\#(p),"f":"\#(f)","key":"\#(key)","value":\#(inV),"time":\#(t0),"node":"\#(node)"}"#)
            lines.append(#"{"type":"ok","process":\#(p),"f":"\#(f)","key":"\#(key)","value":\#(outV),"time":\#(t1),"node":"\#(node)"}"#)
        }
        var v = 0
        for i in 0..<40 {
            let t = Int64(i) * s / 10
            v += 1
            op(i % 3, "write", "r0", v, nil, t, t + 2_000_000, "n1")
            op(3 + i % 2, "read", "r0", nil, i >= 15 && i < 25 ? 10 : v, t + 5_000_000, t + 8_000_000 + (i >= 15 && i < 25 ? 40_000_000 : 0), i % 2 == 0 ? "n2" : "n3")
        }
        lines.insert(#"{"type":"info","process":"nemesis","f":"start","value":{"directive":"partition n1 | n2,n3"},"time":\#(s + s / 2)}"#, at: 60)
        lines.append(#"{"type":"info","process":"nemesis","f":"stop","value":{"directive":"heal"},"time":\#(5 * s / 2)}"#)
        return lines.joined(separator: "\n") + "\n"
    }()

    func tempDir() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("rift-report-\(UUID())").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test func reportFromABareHistoryRunsTheDefaultChecks() async throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.history.write(toFile: dir + "/h.jsonl", atomically: true, encoding: .utf8)
        let r = try await runRift(["report", dir + "/h.jsonl", "-o", dir + "/r.html"], timeout: .seconds(60))
        #expect(r.status == 0, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("verdict: FAIL") && r.stdout.contains("default checks"))
        let html = try String(contentsOfFile: dir + "/r.html", encoding: .utf8)
        #expect(html.contains("<h1>fixture: FAIL</h1>"))
        #expect(html.contains("<td>linearizability</td>") && html.contains("<td>staleness</td>"))
        #expect(html.contains("id='anomaly-1'"))
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// A real run's folder, reported again: `rift report` re-runs exactly the run's checks and
    /// shows the run's verdict (the tight scenario fails, the other passes), and `rift run`
    /// names the report's full path on its last line.
    @Test(arguments: [("replica-partition-tight", "FAIL", Int32(1)), ("replica-partition", "PASS", Int32(0))])
    func reportOnARunFolderShowsTheRunsVerdict(scenario: String, verdict: String, status: Int32) async throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try await runRift(["run", Self.root + "/faults/\(scenario).yaml", "--duration", "10s", "--out", dir + "/run"], timeout: .seconds(90))
        #expect(run.status == status, "stdout: \(run.stdout)\nstderr: \(run.stderr)")
        #expect(run.stdout.contains("verdict: \(verdict)"))
        let last = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last == "report: \(dir)/run/report.html", "last line: \(last)")
        #expect(FileManager.default.fileExists(atPath: dir + "/run/report.html"))

        let r = try await runRift(["report", dir + "/run", "-o", dir + "/again.html"], timeout: .seconds(60))
        #expect(r.status == 0, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stdout.contains("the run's checks") && r.stdout.contains("verdict: \(verdict)"), "stdout: \(r.stdout)")
        #expect(!r.stdout.contains("verdict differs"), "stdout: \(r.stdout)")
        let html = try String(contentsOfFile: dir + "/again.html", encoding: .utf8)
        #expect(html.contains("<h1>\(scenario): \(verdict)</h1>"))
        // Every check of the scenario, by its name, as the run's own page has them.
        let original = try String(contentsOfFile: dir + "/run/report.html", encoding: .utf8)
        #expect(original.contains("<h1>\(scenario): \(verdict)</h1>"))
        let rows = { (page: String) in page.components(separatedBy: "<tr class='").dropFirst().map { $0.prefix { $0 != "<" } } }
        #expect(rows(html).count == 2 && rows(html) == rows(original), "\(rows(html)) vs \(rows(original))")
    }

    /// A result.json naming a check Rift does not know is an error naming the field, not a pass.
    @Test func unknownCheckInResultJSONExits2() async throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.history.write(toFile: dir + "/history.jsonl", atomically: true, encoding: .utf8)
        try #"{"scenario":"x","topology":"t","seed":1,"checks":[{"name":"c","check":"vibes","valid":true}]}"#
            .write(toFile: dir + "/result.json", atomically: true, encoding: .utf8)
        let r = try await runRift(["report", dir, "-o", dir + "/r.html"], timeout: .seconds(30))
        #expect(r.status == 2, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stderr.contains("result.json: checks[0]") && r.stderr.contains("unknown check 'vibes'"), "stderr: \(r.stderr)")
    }

    @Test(arguments: [
        (["report", "/nonexistent/run", "-o", "/tmp/x.html"], "/nonexistent/run: no such file or run folder"),
        (["report", "/tmp", "-o", "/tmp/x.html"], "/tmp: not a run folder (no history.jsonl in it)"),
        (["report", "/etc/hostname", "-o", "/tmp/x.html"], "/etc/hostname"),
        (["report", "/etc/hostname", "--format", "xml", "-o", "/tmp/x.html"], "unknown format 'xml'"),
        (["report", "/etc/hostname"], "Missing expected argument '--output"),
    ])
    func badInputExits2(arguments: [String], message: String) async throws {
        let r = try await runRift(arguments, timeout: .seconds(30))
        #expect(r.status == 2, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(r.stderr.contains(message), "stderr: \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    /// Runs chromium headless on `page`; stdout as text.
    @discardableResult
    static func runChromium(_ exe: String, _ flags: [String], page: String, profile: String) throws -> String {
        let r = try Chromium.run(exe, flags, page: page, profile: profile)
        if r.timedOut { Issue.record("chromium did not finish in 90 s") }
        return r.stdout
    }

    @Test func rendersInHeadlessChromium() async throws {
        let exe = try #require(Chromium.find(), "chromium is not installed: run ci/setup (the render test cannot pass without a browser)")
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.history.write(toFile: dir + "/h.jsonl", atomically: true, encoding: .utf8)
        let r = try await runRift(["report", dir + "/h.jsonl", "-o", dir + "/report.html"], timeout: .seconds(60))
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        // Self-contained: nothing fetched from the network, no scripts, no stylesheets linked.
        #expect(html.range(of: #"(src|href)\s*=\s*['"]?\s*(https?:)?//"#, options: .regularExpression) == nil)
        #expect(!html.contains("<script") && !html.contains("<link"))

        let dom = try await offPool { try Self.runChromium(exe, ["--dump-dom"], page: dir + "/report.html", profile: dir + "/profile") }
        #expect(dom.contains("<h1>fixture: FAIL</h1>"), "dom: \(dom.prefix(500))")
        #expect(dom.contains("id=\"process-timeline\""))
        #expect(dom.contains("class=\"fault\""))
        #expect(dom.contains("partition n1 | n2,n3"))
        #expect(dom.contains("id=\"staleness\"") && dom.contains("id=\"latency\""))
        #expect(dom.contains("id=\"anomaly-1\"") && dom.contains("class=\"anomalous\""))
        #expect(dom.components(separatedBy: "<svg").count - 1 >= 3)

        _ = try await offPool { try Self.runChromium(exe, ["--screenshot=\(dir)/report.png"], page: dir + "/report.html", profile: dir + "/profile") }
        // The same window on an empty page, to compare against.
        try "<!doctype html><html><body></body></html>".write(toFile: dir + "/blank.html", atomically: true, encoding: .utf8)
        _ = try await offPool { try Self.runChromium(exe, ["--screenshot=\(dir)/blank.png"], page: dir + "/blank.html", profile: dir + "/profile") }
        let png = try #require(FileManager.default.contents(atPath: dir + "/report.png"), "no screenshot written")
        let blank = try #require(FileManager.default.contents(atPath: dir + "/blank.png"))
        let size = try #require(Chromium.pngSize(png), "the screenshot is not a PNG")
        #expect(size.0 == 1280 && size.1 == 2600)
        // Charts, text and colours compress far worse than a white page.
        #expect(png.count > 20 * blank.count && png.count > 50_000, "report \(png.count) bytes, blank page \(blank.count) bytes")
        if let keep = ProcessInfo.processInfo.environment["RIFT_KEEP_SCREENSHOT"] { try png.write(to: URL(fileURLWithPath: keep)) }
    }
}
