import Foundation
import Testing
@testable import RiftHistory

@Suite struct HistoryWriterTests {
    let sample = [
        HistoryEvent(type: .invoke, process: .client(0), f: "write", key: "k", value: .int(1), time: 1, session: "s"),
        HistoryEvent(type: .ok, process: .client(0), f: "write", key: "k", value: .int(1), time: 2, node: "n1"),
        HistoryEvent(type: .invoke, process: .client(1), f: "cas", key: "k\"q", value: .list([.string("a"), .null]), time: 3),
        HistoryEvent(type: .info, process: .nemesis, f: "stop", value: .object(["heal": .bool(true)]), time: 4),
    ]

    func tempPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("rift-writer-\(UUID()).jsonl").path
    }

    @Test func encodesOneLineThatReadsBack() throws {
        for (i, e) in sample.enumerated() {
            let line = e.jsonLine()
            #expect(!line.contains("\n"))
            var expected = e
            expected.line = 1
            #expect(try HistoryReader.parse(line).events == [expected], "event \(i)")
        }
    }

    @Test func writesAHeaderAndWholeLines() throws {
        let path = tempPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try HistoryWriter(path: path, metadata: ["seed": .int(7)], policy: .everyEvent)
        for e in sample { try w.append(e) }
        try w.close()
        let h = try HistoryReader.read(path: path)
        #expect(h.metadata["seed"] == .int(7))
        #expect(h.metadata["rift_history"] == .int(1))
        #expect(h.events.count == sample.count)
        #expect(String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self).hasSuffix("}\n"))
    }

    @Test func buffersUntilFullOrFlushed() throws {
        let path = tempPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try HistoryWriter(path: path, policy: .whenFull, bufferLimitBytes: 4096)
        try w.append(sample[0])
        #expect(FileManager.default.contents(atPath: path)!.isEmpty)
        try w.flush()
        #expect(try HistoryReader.read(path: path).events.count == 1)
        // Past the bound, the buffer is written before the event that would overflow it.
        for _ in 0..<100 { try w.append(sample[1]) }
        let written = try HistoryReader.read(path: path).events.count
        #expect(written > 1 && written < 101)
        try w.close()
        #expect(try HistoryReader.read(path: path).events.count == 101)
        #expect(throws: HistoryWriter.Failure.self) {
            try w.append(sample[0])
            try w.flush()
        }
    }
}
