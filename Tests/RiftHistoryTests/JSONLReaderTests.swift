import Foundation
import Testing
@testable import RiftHistory

@Suite struct JSONLReaderTests {
    @Test func readsEveryFieldAndTheMetadataLine() throws {
        let text = """
            {"rift_history":1,"seed":42,"topology":"3 redis"}
            {"type":"invoke","process":0,"f":"write","key":"a","value":3,"time":10,"session":"s1"}
            {"type":"ok","process":0,"f":"write","key":"a","value":3,"time":20,"node":"n1"}

            {"type":"invoke","process":"nemesis","f":"start","value":{"fault":"partition"},"time":25}
            {"type":"invoke","process":1,"f":"cas","key":"a","value":["x","y"],"time":30}
            {"type":"fail","process":1,"f":"cas","key":"a","value":["x","y"],"time":40}
            """
        let h = try HistoryReader.parse(text)
        #expect(h.metadata["seed"] == .int(42))
        #expect(h.metadata["topology"] == .string("3 redis"))
        #expect(h.events.count == 5)
        #expect(h.events[0] == HistoryEvent(type: .invoke, process: .client(0), f: "write", key: "a", value: .int(3), time: 10, session: "s1", line: 2))
        #expect(h.events[1].node == "n1")
        #expect(h.events[2].isNemesis)
        #expect(h.events[2].value == .object(["fault": .string("partition")]))
        #expect(h.events[3].value == .list([.string("x"), .string("y")]))
        #expect(h.events[4].type == .fail)
        #expect(h.warnings.isEmpty)
    }

    @Test func acceptsFilesWithoutMetadata() throws {
        let h = try HistoryReader.parse(#"{"type":"invoke","process":0,"f":"read","key":"k","value":null,"time":1}"#)
        #expect(h.metadata.isEmpty)
        #expect(h.events.count == 1)
    }

    @Test func toleratesATruncatedLastLineWithAWarning() throws {
        let text = """
            {"type":"invoke","process":0,"f":"read","key":"k","value":null,"time":1}
            {"type":"ok","process":0,"f":"read","key":"k","val
            """
        let h = try HistoryReader.parse(text)
        #expect(h.events.count == 1)
        #expect(h.warnings.count == 1)
        #expect(h.warnings[0].contains("line 2"))
    }

    @Test func rejectsATruncatedLineInTheMiddle() {
        let text = """
            {"type":"invoke","process":0,"f":"read","key":"k","value":null,"time":1}
            {"type":"ok","process":0,"f":"read",
            {"type":"invoke","process":1,"f":"read","key":"k","value":null,"time":3}
            """
        #expect(throws: HistoryError(line: 2, reason: "truncated line")) { try HistoryReader.parse(text) }
    }

    /// Found by ci/fuzz: a value nested 200,000 deep overflowed the reader's stack.
    @Test func rejectsValuesNestedTooDeepInsteadOfOverflowingTheStack() throws {
        let line = #"{"type":"invoke","process":0,"f":"write","key":"k","time":1,"value":"#
        let shallow = line + String(repeating: "[", count: 50) + String(repeating: "]", count: 50) + "}"
        #expect(try HistoryReader.parse(shallow).events.count == 1)
        let deep = line + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000) + "}\n" + shallow
        #expect(throws: HistoryError(line: 1, reason: "value nested deeper than 100 levels at column \(line.utf8.count + 101)")) {
            try HistoryReader.parse(deep)
        }
    }

    @Test func reportsABadLineWithItsNumberAndReason() {
        let text = """
            {"type":"invoke","process":0,"f":"read","key":"k","value":null,"time":1}
            {"type":"done","process":0,"f":"read","key":"k","value":1,"time":2}
            """
        #expect(throws: HistoryError(line: 2, reason: "unknown type 'done' (expected invoke, ok, fail or info)")) {
            try HistoryReader.parse(text)
        }
        #expect(throws: HistoryError(line: 1, reason: "missing \"time\"")) {
            try HistoryReader.parse(#"{"type":"invoke","process":0,"f":"read","key":"k","value":null}"#)
        }
        #expect(throws: HistoryError(line: 1, reason: "time must be integer nanoseconds")) {
            try HistoryReader.parse(#"{"type":"invoke","process":0,"f":"read","key":"k","value":null,"time":"x"}"#)
        }
    }

    @Test func readsStringEscapes() throws {
        let h = try HistoryReader.parse(#"{"type":"invoke","process":0,"f":"write","key":"k\"1","value":"a\nb\u00e9","time":1}"#)
        #expect(h.events[0].key == "k\"1")
        #expect(h.events[0].value == .string("a\nbé"))
    }

    @Test func namesTheFileInErrors() {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rift-missing-\(UUID()).jsonl").path
        #expect(throws: HistoryError(file: path, line: 0, reason: "no such file")) { try HistoryReader.read(path: path) }
        #expect(HistoryError(file: "h.jsonl", line: 7, reason: "bad").description == "h.jsonl:7: bad")
    }
}

@Suite struct ParallelJSONLReaderTests {
    /// Enough lines to take the parallel path.
    static func bigHistory(lines: Int) -> [String] {
        (0..<lines).map { i in
            let p = i % 64
            return i % 2 == 0
                ? #"{"type":"invoke","process":\#(p),"f":"write","key":"k\#(p)","value":\#(i),"time":\#(i)}"#
                : #"{"type":"ok","process":\#(p),"f":"write","key":"k\#(p)","value":\#(i - 1),"time":\#(i)}"#
        }
    }

    @Test func keepsOrderAndLineNumbersAcrossChunks() throws {
        let lines = Self.bigHistory(lines: JSONLReader.parallelThreshold + 1000)
        let h = try HistoryReader.parse(lines.joined(separator: "\n"))
        #expect(h.events.count == lines.count)
        #expect(h.events.map(\.time) == (0..<lines.count).map(Int64.init))
        #expect(h.events.last?.line == lines.count)
    }

    @Test func reportsTheFirstBadLineInFileOrder() {
        var lines = Self.bigHistory(lines: JSONLReader.parallelThreshold + 1000)
        lines[lines.count - 10] = "{oops"
        lines[lines.count - 5] = "{also bad"
        #expect(throws: HistoryError(line: lines.count - 9, reason: "expected '\"' at column 2, found 'o'")) {
            try HistoryReader.parse(lines.joined(separator: "\n"))
        }
    }

    @Test func toleratesATruncatedLastLineInTheLastChunk() throws {
        var lines = Self.bigHistory(lines: JSONLReader.parallelThreshold + 1000)
        lines[lines.count - 1] = String(lines[lines.count - 1].prefix(30))
        let h = try HistoryReader.parse(lines.joined(separator: "\n"))
        #expect(h.events.count == lines.count - 1)
        #expect(h.warnings.count == 1)
    }
}
