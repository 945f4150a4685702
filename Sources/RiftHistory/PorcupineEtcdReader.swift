/// Reads the Jepsen etcd logs of Porcupine's test suite:
/// `INFO  jepsen.util - <process> :<type> :<f> <value>`, tab- or space-separated.
///
/// The meanings are Porcupine's, not Jepsen's: a `:fail` cas ran and compared false, so it becomes
/// an `ok` cas whose value is `false` (a constraint on the register). A `:fail :read :timed-out`
/// tells nothing and is kept as `fail`. `:info` means the operation may take effect any time after
/// its invocation. Lines carry no time; the line number is the time.
enum PorcupineEtcdReader {
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(HistoryError) -> History {
        var events: [HistoryEvent] = []
        var warnings: [String] = []
        let lines = LineSplitter.lines(bytes)
        let lastNonBlank = lines.lastIndex(where: { !$0.isBlank })
        for (index, line) in lines.enumerated() where !line.isBlank {
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[line.start..<line.end]), as: UTF8.self)
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
            func bad(_ reason: String) -> HistoryError { HistoryError(line: line.number, reason: reason) }
            guard fields.count >= 7, fields[0] == "INFO", fields[1] == "jepsen.util", fields[2] == "-" else {
                // A last line cut short is a prefix of a well-formed one.
                if index == lastNonBlank, fields.count < 7, text.hasPrefix("INFO") || "INFO".hasPrefix(text) {
                    warnings.append("line \(line.number): truncated last line ignored (a writer crashed mid-line?)")
                    continue
                }
                throw bad("expected 'INFO jepsen.util - PROCESS :TYPE :F VALUE'")
            }
            guard let process = Int64(fields[3]) else { throw bad("process '\(fields[3])' is not an integer") }
            guard fields[4].hasPrefix(":"), let type = EventType(rawValue: String(fields[4].dropFirst())) else {
                throw bad("unknown type '\(fields[4])'")
            }
            guard fields[5].hasPrefix(":") else { throw bad("function '\(fields[5])' is not a keyword") }
            let f = String(fields[5].dropFirst())
            let valueText = fields[6...].joined(separator: " ")
            let value: HistoryValue
            do throws(HistoryError) {
                value = try parseValue(valueText, line: line.number)
            } catch {
                if index == lastNonBlank {
                    warnings.append("line \(line.number): truncated last line ignored (a writer crashed mid-line?)")
                    continue
                }
                throw error
            }
            var eventType = type
            var eventValue = value
            switch (type, f) {
            case (.invoke, "read"): eventValue = .null
            case (.fail, "cas"):
                eventType = .ok
                eventValue = .bool(false)
            case (.info, _): eventValue = .null
            case (.fail, _): eventValue = .null
            default: break
            }
            events.append(HistoryEvent(
                type: eventType, process: .client(process), f: f, key: nil, value: eventValue,
                time: Int64(events.count), line: line.number))
        }
        return History(events: events, warnings: warnings)
    }

    private static func parseValue(_ text: String, line: Int) throws(HistoryError) -> HistoryValue {
        if text == "nil" { return .null }
        if text.hasPrefix(":") { return .string(String(text.dropFirst())) }
        if let n = Int64(text) { return .int(n) }
        if text.hasPrefix("[") {
            guard text.hasSuffix("]") else { throw HistoryError(line: line, reason: "unterminated vector '\(text)'") }
            let inner = text.dropFirst().dropLast().split(whereSeparator: { $0 == " " || $0 == "," })
            var items: [HistoryValue] = []
            for item in inner {
                if item == "nil" { items.append(.null) } else if let n = Int64(item) { items.append(.int(n)) } else {
                    throw HistoryError(line: line, reason: "bad vector element '\(item)'")
                }
            }
            return .list(items)
        }
        throw HistoryError(line: line, reason: "bad value '\(text)'")
    }
}
