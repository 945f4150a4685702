import Dispatch
import Foundation
import Synchronization

/// Reads Rift's own history format: JSON Lines, one event per line, Jepsen's vocabulary.
///
/// A first line `{"rift_history":1, ...}` carries metadata and is optional. Blank lines are
/// skipped. A last line cut short (a writer that crashed mid-line) is dropped with a warning; a
/// broken line anywhere else is an error naming its line.
enum JSONLReader {
    /// Lines are parsed in parallel chunks (one per core) above this many lines.
    static let parallelThreshold = 50_000

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(HistoryError) -> History {
        let lines = LineSplitter.lines(bytes)
        let lastNonBlank = lines.lastIndex(where: { !$0.isBlank }) ?? -1
        let firstNonBlank = lines.firstIndex(where: { !$0.isBlank }) ?? -1
        let workers = lines.count < parallelThreshold ? 1 : max(1, ProcessInfo.processInfo.activeProcessorCount)
        let per = (lines.count + workers - 1) / max(workers, 1)
        let input = SendableBytes(bytes: bytes, lines: lines)
        let results = ChunkResults(count: workers)
        let work: @Sendable (Int) -> Void = { w in
            let range = (w * per)..<min(lines.count, (w + 1) * per)
            results.set(w, parseChunk(input, range, firstNonBlank: firstNonBlank, lastNonBlank: lastNonBlank))
        }
        if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
        var events: [HistoryEvent] = []
        events.reserveCapacity(results.values.reduce(0) { $0 + ($1?.events.count ?? 0) })
        var metadata: [String: HistoryValue] = [:]
        var warnings: [String] = []
        for chunk in results.values {
            guard let chunk else { continue }
            if let error = chunk.error { throw error }
            events.append(contentsOf: chunk.events)
            warnings.append(contentsOf: chunk.warnings)
            if !chunk.metadata.isEmpty { metadata = chunk.metadata }
        }
        return History(metadata: metadata, events: events, warnings: warnings)
    }

    struct Chunk: Sendable {
        var events: [HistoryEvent] = []
        var metadata: [String: HistoryValue] = [:]
        var warnings: [String] = []
        var error: HistoryError?
    }

    private static func parseChunk(_ input: SendableBytes, _ range: Range<Int>, firstNonBlank: Int, lastNonBlank: Int) -> Chunk {
        var chunk = Chunk()
        chunk.events.reserveCapacity(range.count)
        for index in range {
            let line = input.lines[index]
            if line.isBlank { continue }
            var scanner = JSONScanner(input.bytes, from: line.start, to: line.end)
            do throws(JSONScanner.Failure) {
                if let event = try parseLine(&scanner, lineNumber: line.number, metadata: &chunk.metadata, isFirst: index == firstNonBlank) {
                    chunk.events.append(event)
                }
            } catch {
                switch error {
                case .unexpectedEnd where index == lastNonBlank:
                    chunk.warnings.append("line \(line.number): truncated last line ignored (a writer crashed mid-line?)")
                case .unexpectedEnd:
                    chunk.error = HistoryError(line: line.number, reason: "truncated line")
                    return chunk
                case .syntax(let reason):
                    chunk.error = HistoryError(line: line.number, reason: reason)
                    return chunk
                }
            }
        }
        return chunk
    }

    private static func parseLine(
        _ s: inout JSONScanner, lineNumber: Int, metadata: inout [String: HistoryValue], isFirst: Bool
    ) throws(JSONScanner.Failure) -> HistoryEvent? {
        var type: EventType?
        var process: ProcessID?
        var f: String?
        var key: String?
        var value: HistoryValue = .null
        var time: Int64?
        var node: String?
        var session: String?
        var extra: [String: HistoryValue] = [:]
        var problem: String?
        try s.eventObject { (s: inout JSONScanner, name: JSONScanner.FieldName) throws(JSONScanner.Failure) in
            switch name {
            case .type:
                let t = try s.string()
                type = EventType(rawValue: t)
                if type == nil { problem = problem ?? "unknown type '\(t)' (expected invoke, ok, fail or info)" }
            case .process:
                switch try s.value() {
                case .int(let n): process = .client(n)
                case .string(let name): process = .named(name)
                default: problem = problem ?? "process must be an integer or a name"
                }
            case .f: f = try s.string()
            case .key:
                switch try s.value() {
                case .string(let k): key = k
                case .int(let n): key = String(n)
                case .null: key = nil
                default: problem = problem ?? "key must be a string or an integer"
                }
            case .value: value = try s.value()
            case .time:
                guard case .int(let t) = try s.value() else { problem = problem ?? "time must be integer nanoseconds"; return }
                time = t
            case .node: node = try s.optionalString()
            case .session:
                switch try s.value() {
                case .string(let v): session = v
                case .int(let n): session = String(n)
                default: session = nil
                }
            case .other(let name):
                extra[name] = try s.value()
            }
        }
        s.skipSpace()
        guard s.pos == s.end else { throw .syntax("trailing characters after the object at column \(s.pos - s.lineStart + 1)") }
        if isFirst, type == nil, extra["rift_history"] != nil {
            // Metadata line: keep every field it carried.
            metadata = extra
            if let node { metadata["node"] = .string(node) }
            if let key { metadata["key"] = .string(key) }
            return nil
        }
        if let problem { throw .syntax(problem) }
        guard let type else { throw .syntax("missing \"type\"") }
        guard let process else { throw .syntax("missing \"process\"") }
        guard let f else { throw .syntax("missing \"f\"") }
        guard let time else { throw .syntax("missing \"time\"") }
        return HistoryEvent(type: type, process: process, f: f, key: key, value: value, time: time, node: node, session: session, line: lineNumber)
    }
}

extension JSONScanner {
    mutating func optionalString() throws(Failure) -> String? {
        switch try value() {
        case .string(let s): return s
        case .int(let n): return String(n)
        default: return nil
        }
    }
}

/// A line of input: byte range and 1-based number.
struct LineRange: Sendable {
    var start: Int
    var end: Int
    var number: Int
    var isBlank: Bool
}

enum LineSplitter {
    static func lines(_ bytes: UnsafeBufferPointer<UInt8>) -> [LineRange] {
        var result: [LineRange] = []
        result.reserveCapacity(bytes.count / 64 + 1)
        var start = 0
        var number = 1
        var blank = true
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            if c == 0x0A {
                var e = i
                if e > start, bytes[e - 1] == 0x0D { e -= 1 }
                result.append(LineRange(start: start, end: e, number: number, isBlank: blank))
                number += 1
                start = i + 1
                blank = true
            } else if blank, c != 0x20, c != 0x09, c != 0x0D {
                blank = false
            }
            i += 1
        }
        if start < n {
            result.append(LineRange(start: start, end: n, number: number, isBlank: blank))
        }
        return result
    }
}

/// The file's bytes and line table, shared read-only by the parsing workers.
// @unchecked: read only, and only inside `parse`, which returns after every worker has (the bytes outlive it).
struct SendableBytes: @unchecked Sendable {
    let bytes: UnsafeBufferPointer<UInt8>
    let lines: [LineRange]
}

/// Per-worker parsed chunks, in file order.
final class ChunkResults: Sendable {
    private let slots: Mutex<[JSONLReader.Chunk?]>
    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
    var values: [JSONLReader.Chunk?] { slots.withLock { $0 } }
    func set(_ i: Int, _ v: JSONLReader.Chunk) { slots.withLock { $0[i] = v } }
}
