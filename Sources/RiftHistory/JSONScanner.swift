/// A small JSON value parser over UTF-8 bytes, fast enough for million-line histories
/// (Foundation's decoders allocate per field and run several times slower).
struct JSONScanner {
    enum Failure: Error {
        /// The input ended inside a value: a truncated line.
        case unexpectedEnd
        case syntax(String)
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var pos: Int
    let end: Int
    /// Where the line starts: columns in messages count from here.
    let lineStart: Int
    /// How many values `value()` is inside of (at most `HistoryValue.maxNesting`).
    private var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) {
        self.bytes = bytes
        self.pos = start
        self.end = end
        self.lineStart = start
    }

    mutating func skipSpace() {
        while pos < end {
            let c = bytes[pos]
            if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A { pos += 1 } else { break }
        }
    }

    mutating func peek() throws(Failure) -> UInt8 {
        skipSpace()
        guard pos < end else { throw .unexpectedEnd }
        return bytes[pos]
    }

    mutating func expect(_ c: UInt8) throws(Failure) {
        let got = try peek()
        guard got == c else { throw .syntax("expected '\(Character(Unicode.Scalar(c)))' at column \(pos - lineStart + 1), found '\(Character(Unicode.Scalar(got)))'") }
        pos += 1
    }

    /// Calls `field` for every member of an object; `field` must consume the member's value.
    mutating func object(_ field: (inout JSONScanner, String) throws(Failure) -> Void) throws(Failure) {
        try expect(UInt8(ascii: "{"))
        if try peek() == UInt8(ascii: "}") { pos += 1; return }
        while true {
            let key = try string()
            try expect(UInt8(ascii: ":"))
            try field(&self, key)
            let c = try peek()
            pos += 1
            if c == UInt8(ascii: "}") { return }
            guard c == UInt8(ascii: ",") else { throw .syntax("expected ',' or '}' at column \(pos - lineStart)") }
        }
    }

    /// The event fields JSONL lines carry, matched on bytes so that no String is built per key.
    enum FieldName {
        case type, process, f, key, value, time, node, session
        case other(String)
    }

    /// Like `object`, with keys matched against the known field names.
    mutating func eventObject(_ field: (inout JSONScanner, FieldName) throws(Failure) -> Void) throws(Failure) {
        try expect(UInt8(ascii: "{"))
        if try peek() == UInt8(ascii: "}") { pos += 1; return }
        while true {
            let name = try fieldName()
            try expect(UInt8(ascii: ":"))
            try field(&self, name)
            let c = try peek()
            pos += 1
            if c == UInt8(ascii: "}") { return }
            guard c == UInt8(ascii: ",") else { throw .syntax("expected ',' or '}' at column \(pos - lineStart)") }
        }
    }

    private mutating func fieldName() throws(Failure) -> FieldName {
        try expect(UInt8(ascii: "\""))
        let start = pos
        while pos < end, bytes[pos] != UInt8(ascii: "\""), bytes[pos] != UInt8(ascii: "\\") { pos += 1 }
        guard pos < end else { throw .unexpectedEnd }
        if bytes[pos] == UInt8(ascii: "\\") {
            pos = start - 1
            return .other(try string())
        }
        let n = pos - start
        pos += 1
        func matches(_ word: StaticString) -> Bool {
            guard word.utf8CodeUnitCount == n else { return false }
            let w = word.utf8Start
            for i in 0..<n where bytes[start + i] != w[i] { return false }
            return true
        }
        switch n {
        case 1: if matches("f") { return .f }
        case 3: if matches("key") { return .key }
        case 4:
            if matches("type") { return .type }
            if matches("time") { return .time }
            if matches("node") { return .node }
        case 5: if matches("value") { return .value }
        case 7:
            if matches("process") { return .process }
            if matches("session") { return .session }
        default: break
        }
        return .other(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<(start + n)]), as: UTF8.self))
    }

    mutating func string() throws(Failure) -> String {
        try expect(UInt8(ascii: "\""))
        let start = pos
        var simple = true
        while pos < end {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                if simple {
                    let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
                    pos += 1
                    return s
                }
                break
            }
            if c == UInt8(ascii: "\\") { simple = false; pos += 2; continue }
            if c < 0x20 { throw .syntax("control character in string at column \(pos - lineStart + 1)") }
            pos += 1
        }
        guard pos < end else { throw .unexpectedEnd }
        // Slow path with escapes.
        pos = start
        var out: [UInt8] = []
        while pos < end {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") { pos += 1; return String(decoding: out, as: UTF8.self) }
            if c == UInt8(ascii: "\\") {
                guard pos + 1 < end else { throw .unexpectedEnd }
                let e = bytes[pos + 1]
                pos += 2
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "\""): out.append(e)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), pos + 1 < end, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                        pos += 2
                        let low = try hex4()
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw .syntax("bad escape '\\\(Character(Unicode.Scalar(e)))'")
                }
                continue
            }
            out.append(c)
            pos += 1
        }
        throw .unexpectedEnd
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard pos + 4 <= end else { throw .unexpectedEnd }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw .syntax("bad \\u escape")
            }
            v = v * 16 + d
            pos += 1
        }
        return v
    }

    mutating func value() throws(Failure) -> HistoryValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= HistoryValue.maxNesting else {
            throw .syntax("value nested deeper than \(HistoryValue.maxNesting) levels at column \(pos - lineStart + 1)")
        }
        let c = try peek()
        switch c {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "{"):
            var fields: [String: HistoryValue] = [:]
            try object { (s: inout JSONScanner, key: String) throws(Failure) in fields[key] = try s.value() }
            return .object(fields)
        case UInt8(ascii: "["):
            pos += 1
            var items: [HistoryValue] = []
            if try peek() == UInt8(ascii: "]") { pos += 1; return .list(items) }
            while true {
                items.append(try value())
                let d = try peek()
                pos += 1
                if d == UInt8(ascii: "]") { return .list(items) }
                guard d == UInt8(ascii: ",") else { throw .syntax("expected ',' or ']' at column \(pos - lineStart)") }
            }
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), 0x30...0x39: return try number()
        default: throw .syntax("unexpected '\(Character(Unicode.Scalar(c)))' at column \(pos - lineStart + 1)")
        }
    }

    private mutating func literal(_ word: String) throws(Failure) {
        for (i, b) in word.utf8.enumerated() {
            guard pos + i < end else { throw .unexpectedEnd }
            guard bytes[pos + i] == b else { throw .syntax("bad literal at column \(pos - lineStart + 1)") }
        }
        pos += word.utf8.count
    }

    mutating func number() throws(Failure) -> HistoryValue {
        let start = pos
        var negative = false
        if bytes[pos] == UInt8(ascii: "-") { negative = true; pos += 1 }
        var v: Int64 = 0
        var digits = 0
        var overflow = false
        while pos < end, bytes[pos] >= 0x30, bytes[pos] <= 0x39 {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(bytes[pos] - 0x30))
            overflow = overflow || o1 || o2
            v = a
            pos += 1
            digits += 1
        }
        guard digits > 0 else { throw pos >= end ? .unexpectedEnd : .syntax("bad number at column \(start - lineStart + 1)") }
        var isFloat = false
        while pos < end, bytes[pos] == UInt8(ascii: ".") || bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E")
            || bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") || (bytes[pos] >= 0x30 && bytes[pos] <= 0x39) {
            isFloat = true
            pos += 1
        }
        if isFloat || overflow {
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
            guard let d = Double(text) else { throw .syntax("bad number '\(text)'") }
            return .double(d)
        }
        return .int(negative ? -v : v)
    }
}
