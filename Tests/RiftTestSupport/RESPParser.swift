/// A RESP2/RESP3 reply parser that accepts input in arbitrary pieces.
///
/// Append bytes as they arrive and call `next()` until it returns nil (more input needed).
/// A value is consumed only once it is complete, so a reply split at any byte boundary parses
/// to the same value. Re-parsing an incomplete aggregate costs its size again on every append;
/// fine for test-sized replies, not for multi-megabyte arrays.
///
/// Limits (bulk length, element count, nesting, line length) turn a confused stream into an
/// error instead of an allocation that takes the machine down.
public struct RESPParser: Sendable {
    public struct Limits: Sendable {
        public var maxBulkLength = 512 * 1024 * 1024  // Redis's own proto-max-bulk-len
        public var maxElements = 16 * 1024 * 1024
        public var maxDepth = 128
        public var maxLineLength = 64 * 1024
        public init() {}
    }

    public enum ProtocolError: Error, Equatable, Sendable {
        case unknownType(UInt8)
        case invalidLength(String)
        case invalidInteger(String)
        case invalidDouble(String)
        case invalidBoolean(String)
        case missingCRLF
        case lineTooLong
        case bulkTooLong(Int)
        case tooManyElements(Int)
        case nestingTooDeep
        case invalidVerbatim
    }

    private var buffer: [UInt8] = []
    private var start = 0
    public var limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Bytes received but not yet part of a returned value.
    public var bufferedByteCount: Int { buffer.count - start }

    public mutating func append<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        // Drop consumed bytes once they dominate the buffer, keeping appends amortized O(1).
        if start > 4096 && start * 2 > buffer.count {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete value, or nil if the buffered bytes end mid-value.
    /// After a `ProtocolError` the stream is out of sync; drop the parser.
    public mutating func next() throws(ProtocolError) -> RESPValue? {
        var index = start
        guard let value = try parseValue(at: &index, depth: 0) else { return nil }
        start = index
        return value
    }

    // MARK: Grammar

    private func parseValue(at index: inout Int, depth: Int) throws(ProtocolError) -> RESPValue? {
        guard depth <= limits.maxDepth else { throw .nestingTooDeep }
        guard index < buffer.count else { return nil }
        let type = buffer[index]
        var i = index + 1
        guard let line = try readLine(at: &i) else { return nil }
        let value: RESPValue
        switch type {
        case UInt8(ascii: "+"):
            value = .simpleString(text(line))
        case UInt8(ascii: "-"):
            value = .error(text(line))
        case UInt8(ascii: ":"):
            value = .integer(try integer(line))
        case UInt8(ascii: "$"):
            guard let length = try length(line, allowNull: true) else { value = .bulkString(nil); break }
            guard let payload = try readBulk(length, at: &i) else { return nil }
            value = .bulkString(Array(payload))
        case UInt8(ascii: "!"):
            guard let length = try length(line, allowNull: false),
                let payload = try readBulk(length, at: &i)
            else { return nil }
            value = .error(text(payload))
        case UInt8(ascii: "="):
            guard let length = try length(line, allowNull: false),
                let payload = try readBulk(length, at: &i)
            else { return nil }
            guard payload.count >= 4, payload[payload.startIndex + 3] == UInt8(ascii: ":") else {
                throw .invalidVerbatim
            }
            value = .verbatimString(
                format: text(payload.prefix(3)), text: Array(payload.dropFirst(4)))
        case UInt8(ascii: "*"):
            guard let count = try count(line, allowNull: true) else { value = .array(nil); break }
            guard let elements = try parseElements(count, at: &i, depth: depth) else { return nil }
            value = .array(elements)
        case UInt8(ascii: "~"):
            guard let count = try count(line, allowNull: false),
                let elements = try parseElements(count, at: &i, depth: depth)
            else { return nil }
            value = .set(elements)
        case UInt8(ascii: ">"):
            guard let count = try count(line, allowNull: false),
                let elements = try parseElements(count, at: &i, depth: depth)
            else { return nil }
            value = .push(elements)
        case UInt8(ascii: "%"):
            guard let count = try count(line, allowNull: false),
                let pairs = try parsePairs(count, at: &i, depth: depth)
            else { return nil }
            value = .map(pairs)
        case UInt8(ascii: "|"):
            guard let count = try count(line, allowNull: false),
                let pairs = try parsePairs(count, at: &i, depth: depth),
                let described = try parseValue(at: &i, depth: depth + 1)
            else { return nil }
            value = .attributed(attributes: pairs, value: described)
        case UInt8(ascii: "_"):
            guard line.isEmpty else { throw .invalidLength(text(line)) }
            value = .null
        case UInt8(ascii: "#"):
            switch text(line) {
            case "t": value = .boolean(true)
            case "f": value = .boolean(false)
            default: throw .invalidBoolean(text(line))
            }
        case UInt8(ascii: ","):
            value = .double(try double(line))
        case UInt8(ascii: "("):
            let digits = text(line)
            let body = digits.hasPrefix("-") || digits.hasPrefix("+") ? digits.dropFirst() : Substring(digits)
            guard !body.isEmpty, body.allSatisfy(\.isASCIIDigit) else { throw .invalidInteger(digits) }
            value = .bigNumber(digits)
        default:
            throw .unknownType(type)
        }
        index = i
        return value
    }

    private func parseElements(_ count: Int, at index: inout Int, depth: Int) throws(ProtocolError) -> [RESPValue]? {
        var elements: [RESPValue] = []
        elements.reserveCapacity(min(count, 1024))
        for _ in 0..<count {
            guard let element = try parseValue(at: &index, depth: depth + 1) else { return nil }
            elements.append(element)
        }
        return elements
    }

    private func parsePairs(_ count: Int, at index: inout Int, depth: Int) throws(ProtocolError) -> [RESPPair]? {
        var pairs: [RESPPair] = []
        pairs.reserveCapacity(min(count, 1024))
        for _ in 0..<count {
            guard let key = try parseValue(at: &index, depth: depth + 1),
                let value = try parseValue(at: &index, depth: depth + 1)
            else { return nil }
            pairs.append(RESPPair(key, value))
        }
        return pairs
    }

    // MARK: Lexing

    /// The bytes up to the next CRLF (exclusive), advancing past it; nil if no CRLF yet.
    private func readLine(at index: inout Int) throws(ProtocolError) -> ArraySlice<UInt8>? {
        var i = index
        while i < buffer.count {
            if buffer[i] == UInt8(ascii: "\r") {
                guard i + 1 < buffer.count else { return nil }
                guard buffer[i + 1] == UInt8(ascii: "\n") else { throw .missingCRLF }
                let line = buffer[index..<i]
                index = i + 2
                return line
            }
            if buffer[i] == UInt8(ascii: "\n") { throw .missingCRLF }
            i += 1
            if i - index > limits.maxLineLength { throw .lineTooLong }
        }
        if i - index > limits.maxLineLength { throw .lineTooLong }
        return nil
    }

    /// `length` payload bytes followed by CRLF; nil if not all there yet.
    private func readBulk(_ length: Int, at index: inout Int) throws(ProtocolError) -> ArraySlice<UInt8>? {
        guard buffer.count - index >= length + 2 else { return nil }
        guard buffer[index + length] == UInt8(ascii: "\r"), buffer[index + length + 1] == UInt8(ascii: "\n") else {
            throw .missingCRLF
        }
        let payload = buffer[index..<(index + length)]
        index += length + 2
        return payload
    }

    private func integer(_ line: ArraySlice<UInt8>) throws(ProtocolError) -> Int64 {
        guard let value = Int64(text(line)) else { throw .invalidInteger(text(line)) }
        return value
    }

    /// A bulk length; nil for -1 when the type has a RESP2 null form.
    private func length(_ line: ArraySlice<UInt8>, allowNull: Bool) throws(ProtocolError) -> Int? {
        guard let value = Int(text(line)), value >= -1, value != -1 || allowNull else {
            throw .invalidLength(text(line))
        }
        if value == -1 { return nil }
        guard value <= limits.maxBulkLength else { throw .bulkTooLong(value) }
        return value
    }

    private func count(_ line: ArraySlice<UInt8>, allowNull: Bool) throws(ProtocolError) -> Int? {
        guard let value = Int(text(line)), value >= -1, value != -1 || allowNull else {
            throw .invalidLength(text(line))
        }
        if value == -1 { return nil }
        guard value <= limits.maxElements else { throw .tooManyElements(value) }
        return value
    }

    private func double(_ line: ArraySlice<UInt8>) throws(ProtocolError) -> Double {
        let literal = text(line)
        switch literal {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default:
            guard let value = Double(literal), value.isFinite else { throw .invalidDouble(literal) }
            return value
        }
    }

    private func text(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
