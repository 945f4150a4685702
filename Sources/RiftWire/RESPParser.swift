import NIOCore

/// A streaming RESP2/RESP3 parser for one direction of a connection.
///
/// Call `next(_:)` with the bytes received so far; it returns a complete frame (consuming
/// exactly its bytes) or nil when the frame is not complete yet (consuming nothing). It is
/// resumable: work done on an incomplete frame is kept, so bytes arriving one at a time
/// cost linear time. Between calls the caller must keep the unconsumed bytes in place and
/// only append (what `ByteToMessageDecoder` does). After a throw the parser stays failed.
///
/// Requests are arrays of bulk strings or inline lines, as redis-server accepts them; replies
/// are any RESP2/RESP3 value, a leading attribute being part of the frame of the value it
/// annotates. Streamed strings and aggregates (`$?`, `*?`) are rejected with
/// `WireParseError.streamedUnsupported`: no server sends them today.
public struct RESPParser: Sendable {
    public let role: WireRole
    public let limits: WireLimits

    private struct Level: Sendable {
        var remaining: Int
        var isAttribute: Bool
    }

    // Progress through the current frame, relative to the buffer's reader index.
    private var offset = 0
    private var scanFrom = 0
    private var stack: [Level] = []
    private var kind: RESPKind?
    private var isNull = false
    private var hasAttribute = false
    private var elementCount = 0
    private var arguments: [ByteBuffer] = []
    private var failure: WireParseError?

    public init(role: WireRole, limits: WireLimits = .default) {
        self.role = role
        self.limits = limits
    }

    /// The next complete frame, or nil when more bytes are needed.
    public mutating func next(_ buffer: inout ByteBuffer) throws(WireParseError) -> RESPFrame? {
        if let failure { throw failure }
        do {
            guard let length = try scan(buffer) else { return nil }
            let frame = RESPFrame(
                bytes: buffer.readSlice(length: length)!, kind: kind ?? .inline, isNull: isNull,
                hasAttribute: hasAttribute, elementCount: elementCount, arguments: arguments)
            reset()
            return frame
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func reset() {
        offset = 0
        scanFrom = 0
        stack.removeAll(keepingCapacity: true)
        kind = nil
        isNull = false
        hasAttribute = false
        elementCount = 0
        arguments = []
    }

    private var recordCap: Int { role == .request ? limits.maxRecordedArguments : 3 }
    private var recording: Bool { stack.count == 1 && !stack[0].isAttribute && arguments.count < recordCap }

    /// Advances through complete values; returns the frame length once the top-level value is done.
    private mutating func scan(_ buffer: ByteBuffer) throws(WireParseError) -> Int? {
        let base = buffer.readerIndex
        while true {
            if offset > limits.maxFrameBytes { throw .frameTooLarge(limit: limits.maxFrameBytes) }
            let start = base + offset
            guard let type = buffer.getInteger(at: start, as: UInt8.self) else { return nil }
            if role == .request && offset == 0 && type != UInt8(ascii: "*") {
                return try scanInline(buffer)
            }
            var scanAbsolute = base + scanFrom
            guard let (end, _) = try LineScanner.findLineEnd(
                in: buffer, start: start + 1, scanFrom: &scanAbsolute, lenientLF: false, limit: limits.maxLineLength)
            else {
                scanFrom = scanAbsolute - base
                return nil
            }
            let content = buffer.readableBytesView[(start + 1)..<end]
            let afterLine = end + 2
            guard let resp = RESPKind(rawValue: type), resp != .inline else {
                if type == UInt8(ascii: ";") || type == UInt8(ascii: ".") { throw .streamedUnsupported }
                throw .unknownType(type)
            }
            if role == .request && !stack.isEmpty && resp != .bulkString { throw .requestElementNotBulk(found: type) }
            if stack.isEmpty && resp != .attribute { kind = resp }
            if stack.isEmpty && resp == .attribute {
                if role == .request { throw .unknownType(type) }
                hasAttribute = true
            }

            switch resp {
            case .simpleString, .error:
                record(buffer, from: start + 1, to: end)
                advance(to: afterLine, base: base)
                if finishValue(isAttribute: false) { return offset }
            case .integer, .bigNumber:
                guard Self.validDigits(content, maxDigits: resp == .integer ? 20 : limits.maxLineLength) else {
                    throw .invalidScalar(type: type, text: LineScanner.text(content))
                }
                record(buffer, from: start + 1, to: end)
                advance(to: afterLine, base: base)
                if finishValue(isAttribute: false) { return offset }
            case .null:
                guard content.isEmpty else { throw .invalidScalar(type: type, text: LineScanner.text(content)) }
                record(buffer, from: start + 1, to: start + 1)
                advance(to: afterLine, base: base)
                if finishValue(isAttribute: false) { return offset }
            case .boolean:
                guard content.count == 1, content.first == UInt8(ascii: "t") || content.first == UInt8(ascii: "f") else {
                    throw .invalidScalar(type: type, text: LineScanner.text(content))
                }
                record(buffer, from: start + 1, to: end)
                advance(to: afterLine, base: base)
                if finishValue(isAttribute: false) { return offset }
            case .double:
                guard Self.validDouble(content) else { throw .invalidScalar(type: type, text: LineScanner.text(content)) }
                record(buffer, from: start + 1, to: end)
                advance(to: afterLine, base: base)
                if finishValue(isAttribute: false) { return offset }
            case .bulkString, .blobError, .verbatimString:
                if content.count == 1 && content.first == UInt8(ascii: "?") { throw .streamedUnsupported }
                guard let length = LineScanner.parseInt(content), length >= -1 else {
                    throw .invalidLength(LineScanner.text(content))
                }
                if length == -1 {
                    guard resp == .bulkString, role == .reply else { throw .invalidLength(LineScanner.text(content)) }
                    if stack.isEmpty { isNull = true }
                    record(buffer, from: start + 1, to: start + 1)
                    advance(to: afterLine, base: base)
                    if finishValue(isAttribute: false) { return offset }
                    continue
                }
                guard length <= limits.maxBulkLength else { throw .bulkTooLong(length, limit: limits.maxBulkLength) }
                let payloadEnd = afterLine + length
                if payloadEnd + 2 - base > limits.maxFrameBytes { throw .frameTooLarge(limit: limits.maxFrameBytes) }
                // Wait for the whole payload without copying or reserving anything.
                guard buffer.writerIndex >= payloadEnd + 2 else { return nil }
                guard buffer.getInteger(at: payloadEnd, as: UInt8.self) == UInt8(ascii: "\r"),
                    buffer.getInteger(at: payloadEnd + 1, as: UInt8.self) == UInt8(ascii: "\n")
                else { throw .missingPayloadTerminator }
                if resp == .verbatimString {
                    guard length >= 4, buffer.getInteger(at: afterLine + 3, as: UInt8.self) == UInt8(ascii: ":") else {
                        throw .invalidScalar(type: type, text: String(decoding: buffer.readableBytesView[afterLine..<min(payloadEnd, afterLine + 16)], as: UTF8.self))
                    }
                }
                record(buffer, from: afterLine, to: payloadEnd)
                advance(to: payloadEnd + 2, base: base)
                if finishValue(isAttribute: false) { return offset }
            case .array, .set, .push, .map, .attribute:
                if content.count == 1 && content.first == UInt8(ascii: "?") { throw .streamedUnsupported }
                guard let declared = LineScanner.parseInt(content), declared >= -1 else {
                    throw .invalidLength(LineScanner.text(content))
                }
                let count = (resp == .map || resp == .attribute) ? declared * 2 : declared
                if declared == -1 {
                    guard resp == .array else { throw .invalidLength(LineScanner.text(content)) }
                    if stack.isEmpty { isNull = true }
                    record(buffer, from: start + 1, to: start + 1)
                    advance(to: afterLine, base: base)
                    if finishValue(isAttribute: false) { return offset }
                    continue
                }
                guard declared <= limits.maxElements, count <= limits.maxElements else {
                    throw .tooManyElements(declared, limit: limits.maxElements)
                }
                guard stack.count < limits.maxDepth else { throw .nestingTooDeep(limit: limits.maxDepth) }
                if role == .request && !stack.isEmpty { throw .requestElementNotBulk(found: type) }
                if resp != .attribute { record(buffer, from: start + 1, to: start + 1) }
                if stack.isEmpty && resp != .attribute { elementCount = declared }
                advance(to: afterLine, base: base)
                if count == 0 {
                    if finishValue(isAttribute: resp == .attribute) { return offset }
                } else {
                    stack.append(Level(remaining: count, isAttribute: resp == .attribute))
                }
            case .inline:
                throw .unknownType(type)
            }
        }
    }

    private mutating func advance(to absolute: Int, base: Int) {
        offset = absolute - base
        scanFrom = offset
    }

    /// Records a top-level element's payload (for requests: an argument).
    private mutating func record(_ buffer: ByteBuffer, from: Int, to: Int) {
        guard recording else { return }
        arguments.append(buffer.getSlice(at: from, length: to - from)!)
    }

    /// A value has been read completely; returns true when that completes the frame.
    private mutating func finishValue(isAttribute: Bool) -> Bool {
        var attribute = isAttribute
        while true {
            // An attribute annotates the value after it and does not count as an element.
            if attribute { return false }
            guard var level = stack.popLast() else { return true }
            level.remaining -= 1
            if level.remaining > 0 {
                stack.append(level)
                return false
            }
            attribute = level.isAttribute
        }
    }

    /// The whole line is a command with space-separated arguments, as redis-server reads
    /// an inline command (quotes are not interpreted here; redis-server does).
    private mutating func scanInline(_ buffer: ByteBuffer) throws(WireParseError) -> Int? {
        let base = buffer.readerIndex
        var scanAbsolute = base + scanFrom
        guard let (end, terminator) = try LineScanner.findLineEnd(
            in: buffer, start: base, scanFrom: &scanAbsolute, lenientLF: true, limit: limits.maxLineLength)
        else {
            scanFrom = scanAbsolute - base
            return nil
        }
        kind = .inline
        var wordStart: Int?
        for i in base...end {
            let byte = i < end ? buffer.getInteger(at: i, as: UInt8.self)! : UInt8(ascii: " ")
            let isSpace = byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
            if isSpace, let s = wordStart {
                elementCount += 1
                if arguments.count < recordCap { arguments.append(buffer.getSlice(at: s, length: i - s)!) }
                wordStart = nil
            } else if !isSpace && wordStart == nil {
                wordStart = i
            }
        }
        return end + terminator - base
    }

    /// An optional sign then decimal digits.
    static func validDigits(_ bytes: ByteBufferView, maxDigits: Int) -> Bool {
        var digits = bytes[...]
        if let first = digits.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.count <= maxDigits && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    static func validDouble(_ bytes: ByteBufferView) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 512 else { return false }
        let text = String(decoding: bytes, as: UTF8.self).lowercased()
        if text == "inf" || text == "-inf" || text == "+inf" || text == "nan" || text == "-nan" { return true }
        guard text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E || $0 == 0x65 }) else { return false }
        return Double(text) != nil
    }
}
