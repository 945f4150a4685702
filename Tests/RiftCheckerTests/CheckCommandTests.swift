import Foundation
import Testing

/// Runs the built `rift` binary on fixture files and checks exit statuses and output.
@Suite struct CheckCommandTests {
    static let linearizable = """
        {"rift_history":1,"seed":1}
        {"type":"invoke","process":0,"f":"write","key":"a","value":1,"time":0}
        {"type":"ok","process":0,"f":"write","key":"a","value":1,"time":10}
        {"type":"invoke","process":1,"f":"read","key":"a","value":null,"time":20}
        {"type":"ok","process":1,"f":"read","key":"a","value":1,"time":30,"node":"n1"}
        """

    static let staleRead = """
        {"type":"invoke","process":0,"f":"write","key":"a","value":1,"time":0}
        {"type":"ok","process":0,"f":"write","key":"a","value":1,"time":10}
        {"type":"invoke","process":0,"f":"write","key":"a","value":2,"time":11}
        {"type":"ok","process":0,"f":"write","key":"a","value":2,"time":20}
        {"type":"invoke","process":1,"f":"read","key":"a","value":null,"time":30}
        {"type":"ok","process":1,"f":"read","key":"a","value":1,"time":40}
        """

    static let badLine = """
        {"type":"invoke","process":0,"f":"write","key":"a","value":1,"time":0}
        {"type":"ok","process":0,"f":"write","key":"a","value":1,"time":10}
        not json at all
        {"type":"invoke","process":1,"f":"read","key":"a","value":null,"time":20}
        """

    /// The `rift` executable built beside this test bundle.
    static func riftBinary() throws -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("rift")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw NotFound(path: CommandLine.arguments[0])
    }

    struct NotFound: Error, CustomStringConvertible {
        var path: String
        var description: String { "no rift binary near \(path); build it with swift build" }
    }

    static func run(_ arguments: [String], fixture: String?) throws -> (status: Int32, stdout: String, stderr: String) {
        var args = arguments
        var file: URL?
        if let fixture {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("rift-cli-\(UUID()).jsonl")
            try fixture.write(to: url, atomically: true, encoding: .utf8)
            file = url
            args.insert(url.path, at: 1)
        }
        defer { if let file { try? FileManager.default.removeItem(at: file) } }
        let process = Process()
        process.executableURL = try riftBinary()
        process.arguments = args
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    @Test func validHistoryExitsZero() throws {
        let r = try Self.run(["check"], fixture: Self.linearizable)
        #expect(r.status == 0)
        #expect(r.stdout.contains("linearizability: PASS"))
        #expect(r.stdout.contains("verdict: PASS"))
    }

    @Test func invalidHistoryExitsOneAndShowsTheOperations() throws {
        let r = try Self.run(["check", "--linearizable"], fixture: Self.staleRead)
        #expect(r.status == 1)
        #expect(r.stdout.contains("linearizability: FAIL"))
        #expect(r.stdout.contains("cannot be linearized"))
        let stale = try Self.run(["check", "--max-versions-behind", "0"], fixture: Self.staleRead)
        #expect(stale.status == 1)
        #expect(!stale.stdout.contains("linearizability"))
    }

    @Test func jsonOutputIsOneObject() throws {
        let r = try Self.run(["check", "--linearizable", "--json"], fixture: Self.staleRead)
        #expect(r.status == 1)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(object?["valid"] as? Bool == false)
        let lin = (object?["checks"] as? [String: Any])?["linearizability"] as? [String: Any]
        #expect(lin?["invalid_keys"] as? [String] == ["a"])
        #expect(lin?["keys"] as? Int == 1)
    }

    @Test func badInputExitsTwoWithFileAndLine() throws {
        let r = try Self.run(["check"], fixture: Self.badLine)
        #expect(r.status == 2)
        #expect(r.stderr.contains(".jsonl:3: "))
        let missing = try Self.run(["check", "/nonexistent/rift-history.jsonl"], fixture: nil)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent/rift-history.jsonl: no such file"))
        let badDuration = try Self.run(["check", "--max-staleness", "10"], fixture: Self.linearizable)
        #expect(badDuration.status == 2)
        #expect(badDuration.stderr.contains("missing unit"))
    }

    @Test func aTimedOutSearchExitsThree() throws {
        // 30 concurrent writes (values repeated, so no polynomial shortcut) and a read of a value
        // never written: hopeless within 1ms.
        var lines: [String] = []
        for p in 0..<30 { lines.append(#"{"type":"invoke","process":\#(p),"f":"write","key":"a","value":\#(p % 15),"time":0}"#) }
        for p in 0..<30 { lines.append(#"{"type":"invoke","process":\#(100 + p),"f":"read","key":"a","value":null,"time":1}"#) }
        for p in 0..<30 { lines.append(#"{"type":"ok","process":\#(100 + p),"f":"read","key":"a","value":\#(p % 15),"time":2}"#) }
        for p in 0..<30 { lines.append(#"{"type":"ok","process":\#(p),"f":"write","key":"a","value":\#(p % 15),"time":3}"#) }
        lines.append(#"{"type":"invoke","process":999,"f":"read","key":"a","value":null,"time":4}"#)
        lines.append(#"{"type":"ok","process":999,"f":"read","key":"a","value":12345,"time":5}"#)
        let r = try Self.run(["check", "--linearizable", "--timeout", "1ms"], fixture: lines.joined(separator: "\n"))
        #expect(r.status == 3)
        #expect(r.stdout.contains("UNKNOWN"))
    }

    @Test func consistencyWithinMeasuresNinesAndHoldsABound() throws {
        // The read at 30 sees 1, 10 ns after 2 was written: inconsistent within 5 ns.
        let measured = try Self.run(["check", "--consistency-within", "5ns"], fixture: Self.staleRead)
        #expect(measured.status == 0)
        #expect(measured.stdout.contains("consistency: PASS - 0 of 1 reads consistent within 5ns: 0.00 nines"))
        let bounded = try Self.run(["check", "--consistency-within", "5ns", "--min-nines", "1"], fixture: Self.staleRead)
        #expect(bounded.status == 1)
        #expect(bounded.stdout.contains("consistency: FAIL"))
        let within10 = try Self.run(["check", "--consistency-within", "10ns", "--json"], fixture: Self.staleRead)
        #expect(within10.status == 0)
        #expect(within10.stdout.contains(#""within_ns":10"#) && within10.stdout.contains(#""consistent":1"#))
        let orphan = try Self.run(["check", "--min-nines", "3"], fixture: Self.staleRead)
        #expect(orphan.status == 2)
        #expect(orphan.stderr.contains("--min-nines needs --consistency-within"))
    }

    @Test func initialValueDecidesAKnossosMultiRegisterHistory() throws {
        let fromZero = try Self.run(["check", "--initial-value", "0"], fixture: MultiRegisterFixtures.valid)
        #expect(fromZero.status == 0)
        #expect(fromZero.stdout.contains("linearizability: PASS"))
        let fromAbsent = try Self.run(["check"], fixture: MultiRegisterFixtures.valid)
        #expect(fromAbsent.status == 1)
        #expect(fromAbsent.stdout.contains("keys x,y:"))
        let torn = try Self.run(["check", "--initial-value", "0", "--format", "edn"], fixture: MultiRegisterFixtures.tornRead)
        #expect(torn.status == 1)
    }

    @Test func aMalformedTxnExitsTwoWithFileAndLine() throws {
        let text = """
            [{:type :invoke, :f :txn, :value [[:read :x nil]], :process 0, :time 1}
             {:type :ok, :f :txn, :value [[:read :x 0]], :process 0, :time 2}
             {:type :invoke, :f :txn, :value [[:read :x 1 2]], :process 0, :time 3}]
            """
        let r = try Self.run(["check", "--initial-value", "0"], fixture: text)
        #expect(r.status == 2)
        #expect(r.stderr.contains(".jsonl:3: txn step 1 must be [f key value]"))
    }

    /// Jepsen's set workload: 3 acknowledged adds, one of them (17) missing from the final read.
    static let lostAdd = """
        {"type":"invoke","process":0,"f":"add","key":"s0","value":1,"time":0}
        {"type":"ok","process":0,"f":"add","key":"s0","value":1,"time":10}
        {"type":"invoke","process":1,"f":"add","key":"s0","value":5,"time":11}
        {"type":"ok","process":1,"f":"add","key":"s0","value":5,"time":20}
        {"type":"invoke","process":0,"f":"add","key":"s0","value":17,"time":21}
        {"type":"ok","process":0,"f":"add","key":"s0","value":17,"time":30,"node":"n1"}
        {"type":"invoke","process":1,"f":"add","key":"s0","value":23,"time":31}
        {"type":"info","process":1,"f":"add","key":"s0","value":23,"time":40}
        {"type":"invoke","process":2,"f":"read","key":"s0","value":null,"time":50}
        {"type":"ok","process":2,"f":"read","key":"s0","value":[1,5,23],"time":60}
        """

    @Test func lostWritesCountsAndBoundsLostAdds() throws {
        let strict = try Self.run(["check", "--lost-writes"], fixture: Self.lostAdd)
        #expect(strict.status == 1)
        #expect(strict.stdout.contains("lost_writes: FAIL - 1 of 3 acknowledged adds lost (33.3%), 1 indeterminate adds recovered"))
        #expect(strict.stdout.contains("add of 17 to set s0"))
        let bounded = try Self.run(["check", "--lost-writes", "--max-lost", "1", "--json"], fixture: Self.lostAdd)
        #expect(bounded.status == 0)
        #expect(bounded.stdout.contains(#""lost_fraction":0.3333333333333333"#) && bounded.stdout.contains(#""recovered":1"#))
        let fraction = try Self.run(["check", "--lost-writes", "--max-lost-fraction", "0.25"], fixture: Self.lostAdd)
        #expect(fraction.status == 1)
        // With no check named, it runs on a history of adds, and the register checks let it be.
        let defaults = try Self.run(["check"], fixture: Self.lostAdd)
        #expect(defaults.status == 1 && defaults.stdout.contains("lost_writes: FAIL"))
        #expect(!(try Self.run(["check"], fixture: Self.linearizable)).stdout.contains("lost_writes"))
    }

    @Test func lostWritesBoundsAreCheckedAsUsage() throws {
        let orphan = try Self.run(["check", "--max-lost", "2"], fixture: Self.lostAdd)
        #expect(orphan.status == 2 && orphan.stderr.contains("--max-lost needs --lost-writes"))
        let negative = try Self.run(["check", "--lost-writes", "--max-lost=-1"], fixture: Self.lostAdd)
        #expect(negative.status == 2 && negative.stderr.contains("--max-lost must be at least 0"))
        let over = try Self.run(["check", "--lost-writes", "--max-lost-fraction", "1.5"], fixture: Self.lostAdd)
        #expect(over.status == 2 && over.stderr.contains("--max-lost-fraction: 1.5 is out of range 0...1"))
        let help = try Self.run(["check", "--help"], fixture: nil)
        #expect(help.stdout.contains("--lost-writes") && help.stdout.contains("rift check sets.jsonl --lost-writes --max-lost-fraction 0.01"))
    }
}
