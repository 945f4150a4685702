/// Reads Jepsen and Knossos histories written as EDN: either one map per line
/// (`{:type :invoke, :f :write, :value 3, :process 0, :time 12}`) or one vector of maps.
///
/// Keywords read as strings (`:nemesis` → `"nemesis"`). When every client operation's value is a
/// `[k v]` tuple (jepsen.independent), the tuple's first element becomes the key. Without `:time`
/// the event's position stands in for it, which keeps real-time order. `fail` keeps Jepsen's
/// meaning: the operation did not take effect. So does a read completed `ok` with `nil`: Knossos'
/// models accept it from any state, so it tells nothing (`History.nullReads` is `.unknown`).
/// Knossos' multi-register operations (`:f :txn`, `:value [[:read :x 0] [:write :y 2]]`) keep
/// their steps as the value; `History.paired()` checks their shape.
enum EDNReader {
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(HistoryError) -> History {
        var scanner = EDNScanner(bytes)
        var forms: [(value: HistoryValue, line: Int)] = []
        var warnings: [String] = []
        let lastLine = scanner.lastNonBlankLine()
        scanner.skipSpace()
        // A whole-history vector or list, or a sequence of top-level maps.
        var wrapped = false
        if scanner.pos < scanner.end, scanner.bytes[scanner.pos] == UInt8(ascii: "[") || scanner.bytes[scanner.pos] == UInt8(ascii: "(") {
            wrapped = true
            scanner.pos += 1
        }
        while true {
            scanner.skipSpace()
            if scanner.pos >= scanner.end { break }
            let c = scanner.bytes[scanner.pos]
            if wrapped, c == UInt8(ascii: "]") || c == UInt8(ascii: ")") { scanner.pos += 1; wrapped = false; continue }
            let line = scanner.line(at: scanner.pos)
            let form: Result<HistoryValue, EDNScanner.Failure>
            do throws(EDNScanner.Failure) { form = .success(try scanner.value()) } catch { form = .failure(error) }
            switch form {
            case .success(let v): forms.append((v, line))
            case .failure(.unexpectedEnd) where line == lastLine:
                warnings.append("line \(line): truncated last line ignored (a writer crashed mid-line?)")
                scanner.pos = scanner.end
            case .failure(.unexpectedEnd): throw HistoryError(line: line, reason: "truncated form")
            case .failure(.syntax(let reason)): throw HistoryError(line: line, reason: reason)
            }
        }

        var events: [HistoryEvent] = []
        events.reserveCapacity(forms.count)
        var allTimed = true
        for (index, form) in forms.enumerated() {
            guard case .object(let m) = form.value else {
                throw HistoryError(line: form.line, reason: "expected an EDN map for each event")
            }
            guard let t = m["type"]?.stringValue, let type = EventType(rawValue: t) else {
                throw HistoryError(line: form.line, reason: "missing or unknown :type (expected :invoke, :ok, :fail or :info)")
            }
            let process: ProcessID
            switch m["process"] {
            case .int(let n)?: process = .client(n)
            case .string(let s)?: process = .named(s)
            default: throw HistoryError(line: form.line, reason: "missing :process")
            }
            guard let f = m["f"]?.stringValue else { throw HistoryError(line: form.line, reason: "missing :f") }
            var key: String?
            switch m["key"] {
            case .string(let k)?: key = k
            case .int(let n)?: key = String(n)
            default: key = nil
            }
            let time = m["time"]?.intValue
            if time == nil { allTimed = false }
            events.append(HistoryEvent(
                type: type, process: process, f: f, key: key, value: m["value"] ?? .null, time: time ?? Int64(index),
                node: m["node"]?.stringValue, session: m["session"]?.stringValue, line: form.line))
        }
        if !allTimed {
            for i in events.indices { events[i].time = Int64(i) }
        }
        splitIndependentTuples(&events)
        return History(events: events, warnings: warnings, nullReads: .unknown)
    }

    /// jepsen.independent wraps each value as `[k v]`. Read invocations carry `[k nil]`, so the
    /// history is keyed exactly when every client event without an explicit key has a 2-tuple value
    /// and no cas carries a bare `[from to]` of scalars.
    static func splitIndependentTuples(_ events: inout [HistoryEvent]) {
        var sawClient = false
        for e in events where !e.isNemesis && e.key == nil {
            sawClient = true
            guard case .list(let items) = e.value, items.count == 2 else { return }
            // A bare txn of two steps is a list of two lists; a keyed one is [k steps].
            if e.f == "txn", case .list = items[0] { return }
            if e.f == "cas", e.type != .fail, e.type != .info {
                guard case .list = items[1] else { return }
            }
        }
        guard sawClient else { return }
        for i in events.indices where !events[i].isNemesis && events[i].key == nil {
            guard case .list(let items) = events[i].value else { continue }
            switch items[0] {
            case .string(let k): events[i].key = k
            case .int(let n): events[i].key = String(n)
            default: events[i].key = items[0].description
            }
            events[i].value = items[1]
        }
    }
}

struct EDNScanner {
    enum Failure: Error, CustomStringConvertible {
        case unexpectedEnd
        case syntax(String)
        var description: String {
            switch self {
            case .unexpectedEnd: "unexpected end of input"
            case .syntax(let s): s
            }
        }
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var pos = 0
    let end: Int
    private let newlines: [Int]
    /// How many forms `value()` is inside of (at most `HistoryValue.maxNesting`).
    private var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        self.end = bytes.count
        var nl: [Int] = []
        for i in 0..<bytes.count where bytes[i] == 0x0A { nl.append(i) }
        self.newlines = nl
    }

    /// 1-based line of byte `offset`.
    func line(at offset: Int) -> Int {
        var lo = 0, hi = newlines.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if newlines[mid] < offset { lo = mid + 1 } else { hi = mid }
        }
        return lo + 1
    }

    func lastNonBlankLine() -> Int {
        var i = end - 1
        while i >= 0, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 || bytes[i] == UInt8(ascii: ",") { i -= 1 }
        return i < 0 ? 0 : line(at: i)
    }

    mutating func skipSpace() {
        while pos < end {
            let c = bytes[pos]
            if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A || c == UInt8(ascii: ",") {
                pos += 1
            } else if c == UInt8(ascii: ";") {
                while pos < end, bytes[pos] != 0x0A { pos += 1 }
            } else {
                break
            }
        }
    }

    private static func isDelimiter(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A || c == UInt8(ascii: ",") || c == UInt8(ascii: "]")
            || c == UInt8(ascii: "}") || c == UInt8(ascii: ")") || c == UInt8(ascii: "[") || c == UInt8(ascii: "{")
            || c == UInt8(ascii: "(") || c == UInt8(ascii: "\"") || c == UInt8(ascii: ";")
    }

    mutating func value() throws(Failure) -> HistoryValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= HistoryValue.maxNesting else { throw .syntax("form nested deeper than \(HistoryValue.maxNesting) levels") }
        skipSpace()
        guard pos < end else { throw .unexpectedEnd }
        let c = bytes[pos]
        switch c {
        case UInt8(ascii: "{"):
            pos += 1
            let items = try sequence(closing: UInt8(ascii: "}"))
            guard items.count % 2 == 0 else { throw .syntax("map with an odd number of forms") }
            var m: [String: HistoryValue] = [:]
            var i = 0
            while i < items.count {
                let k: String
                switch items[i] {
                case .string(let s): k = s
                default: k = items[i].description
                }
                m[k] = items[i + 1]
                i += 2
            }
            return .object(m)
        case UInt8(ascii: "["):
            pos += 1
            return .list(try sequence(closing: UInt8(ascii: "]")))
        case UInt8(ascii: "("):
            pos += 1
            return .list(try sequence(closing: UInt8(ascii: ")")))
        case UInt8(ascii: "#"):
            pos += 1
            guard pos < end else { throw .unexpectedEnd }
            if bytes[pos] == UInt8(ascii: "{") {
                pos += 1
                return .list(try sequence(closing: UInt8(ascii: "}")))
            }
            if bytes[pos] == UInt8(ascii: "_") {
                pos += 1
                _ = try value()
                return try value()
            }
            _ = token()  // a tag such as #jepsen.history.Op: read the tagged value
            return try value()
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: ":"):
            pos += 1
            return .string(token())
        case UInt8(ascii: "\\"):
            pos += 1
            return .string(token())
        default:
            let t = token()
            guard !t.isEmpty else { throw .syntax("unexpected '\(Character(Unicode.Scalar(c)))'") }
            switch t {
            case "nil": return .null
            case "true": return .bool(true)
            case "false": return .bool(false)
            default:
                var digits = Substring(t)
                if digits.hasSuffix("N") || digits.hasSuffix("M") { digits = digits.dropLast() }
                if let n = Int64(digits) { return .int(n) }
                if let first = t.first, first.isNumber || first == "-" || first == "+", let d = Double(digits) { return .double(d) }
                return .string(t)  // a symbol
            }
        }
    }

    private mutating func sequence(closing: UInt8) throws(Failure) -> [HistoryValue] {
        var items: [HistoryValue] = []
        while true {
            skipSpace()
            guard pos < end else { throw .unexpectedEnd }
            if bytes[pos] == closing { pos += 1; return items }
            let c = bytes[pos]
            if c == UInt8(ascii: "]") || c == UInt8(ascii: "}") || c == UInt8(ascii: ")") {
                throw .syntax("unbalanced '\(Character(Unicode.Scalar(c)))'")
            }
            items.append(try value())
        }
    }

    private mutating func token() -> String {
        let start = pos
        while pos < end, !Self.isDelimiter(bytes[pos]) { pos += 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
    }

    private mutating func string() throws(Failure) -> String {
        pos += 1
        var out: [UInt8] = []
        while pos < end {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") { pos += 1; return String(decoding: out, as: UTF8.self) }
            if c == UInt8(ascii: "\\") {
                guard pos + 1 < end else { throw .unexpectedEnd }
                let e = bytes[pos + 1]
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                default: out.append(e)
                }
                pos += 2
                continue
            }
            out.append(c)
            pos += 1
        }
        throw .unexpectedEnd
    }
}
