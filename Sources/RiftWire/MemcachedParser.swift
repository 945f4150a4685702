import NIOCore

/// A streaming memcached parser (text and meta protocol) for one direction of a connection.
///
/// Same contract as `RESPParser`: `next(_:)` consumes exactly one complete frame or nothing,
/// resumes where it stopped, bounds everything by `WireLimits`, and stays failed after a throw.
///
/// Lines end in `\r\n` or a bare `\n` (memcached accepts both); data blocks must end in `\r\n`.
/// Requests: storage commands and `ms` carry a data block; any other command is one line
/// (unknown commands too: the server answers `ERROR` and the stream stays in step). Replies
/// are parsed without knowing the requests: `VALUE` and `STAT` lines run to their `END`.
public struct MemcachedParser: Sendable {
    public let role: WireRole
    public let limits: WireLimits

    private enum Block: Sendable { case none, values, stats }

    private var offset = 0
    private var scanFrom = 0
    private var block = Block.none
    private var keys: [ByteBuffer] = []
    private var dataLength = 0
    private var failure: WireParseError?

    public init(role: WireRole, limits: WireLimits = .default) {
        self.role = role
        self.limits = limits
    }

    /// The next complete frame, or nil when more bytes are needed.
    public mutating func next(_ buffer: inout ByteBuffer) throws(WireParseError) -> MemcachedFrame? {
        if let failure { throw failure }
        do {
            switch role {
            case .request: return try nextRequest(&buffer)
            case .reply: return try nextReply(&buffer)
            }
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func reset() {
        offset = 0
        scanFrom = 0
        block = .none
        keys = []
        dataLength = 0
    }

    /// The next line from `offset`: its words and where the line after it starts.
    private mutating func nextLine(_ buffer: ByteBuffer) throws(WireParseError) -> (words: [ByteBuffer], after: Int)? {
        let base = buffer.readerIndex
        let start = base + offset
        var scanAbsolute = base + scanFrom
        guard let (end, terminator) = try LineScanner.findLineEnd(
            in: buffer, start: start, scanFrom: &scanAbsolute, lenientLF: true, limit: limits.maxLineLength)
        else {
            scanFrom = scanAbsolute - base
            return nil
        }
        var words: [ByteBuffer] = []
        var wordStart: Int?
        for i in start...end {
            let byte = i < end ? buffer.getInteger(at: i, as: UInt8.self)! : UInt8(ascii: " ")
            if byte == UInt8(ascii: " ") {
                if let s = wordStart {
                    if words.count <= limits.maxRecordedArguments { words.append(buffer.getSlice(at: s, length: i - s)!) }
                    wordStart = nil
                }
            } else if wordStart == nil {
                wordStart = i
            }
        }
        return (words, end + terminator - base)
    }

    /// Checks that a data block of `length` bytes plus CRLF follows `after`; returns the
    /// offset after it, or nil when it has not all arrived.
    private func dataBlock(_ buffer: ByteBuffer, after: Int, length: Int) throws(WireParseError) -> Int? {
        guard length <= limits.maxBulkLength else { throw .bulkTooLong(length, limit: limits.maxBulkLength) }
        let end = after + length + 2
        if end > limits.maxFrameBytes { throw .frameTooLarge(limit: limits.maxFrameBytes) }
        let base = buffer.readerIndex
        guard buffer.writerIndex >= base + end else { return nil }
        guard buffer.getInteger(at: base + end - 2, as: UInt8.self) == UInt8(ascii: "\r"),
            buffer.getInteger(at: base + end - 1, as: UInt8.self) == UInt8(ascii: "\n")
        else { throw .missingPayloadTerminator }
        return end
    }

    private static func string(_ word: ByteBuffer) -> String {
        String(decoding: word.readableBytesView, as: UTF8.self)
    }

    private static func length(_ word: ByteBuffer) -> Int? {
        guard let n = LineScanner.parseInt(word.readableBytesView), n >= 0,
            word.readableBytesView.first != UInt8(ascii: "+")
        else { return nil }
        return n
    }

    private func lineText(_ words: [ByteBuffer]) -> String {
        String(words.map(Self.string).joined(separator: " ").prefix(64))
    }

    // MARK: - Requests

    private mutating func nextRequest(_ buffer: inout ByteBuffer) throws(WireParseError) -> MemcachedFrame? {
        guard let (words, after) = try nextLine(buffer) else { return nil }
        guard let first = words.first else {
            return finish(&buffer, length: after, command: nil, kind: nil, keys: [], noreply: false)
        }
        let command = Self.string(first).uppercased()
        let lastWord = words.count > 1 ? Self.string(words[words.count - 1]) : ""
        switch command {
        case "SET", "ADD", "REPLACE", "APPEND", "PREPEND", "CAS":
            let needed = command == "CAS" ? 6 : 5
            guard words.count >= needed, words.count <= needed + 1, let length = Self.length(words[4]) else {
                throw .invalidCommandLine(lineText(words))
            }
            guard let end = try dataBlock(buffer, after: after, length: length) else { return nil }
            return finish(&buffer, length: end, command: command, kind: nil, keys: [words[1]], noreply: words.count == needed + 1 && lastWord == "noreply", data: length)
        case "MS":
            guard words.count >= 3, let length = Self.length(words[2]) else { throw .invalidCommandLine(lineText(words)) }
            guard let end = try dataBlock(buffer, after: after, length: length) else { return nil }
            return finish(&buffer, length: end, command: command, kind: nil, keys: [words[1]], noreply: Self.hasQuietFlag(words.dropFirst(3)), data: length)
        case "GET", "GETS":
            return finish(&buffer, length: after, command: command, kind: nil, keys: Array(words.dropFirst()), noreply: false)
        case "GAT", "GATS":
            return finish(&buffer, length: after, command: command, kind: nil, keys: Array(words.dropFirst(2)), noreply: false)
        case "DELETE", "INCR", "DECR", "TOUCH":
            return finish(&buffer, length: after, command: command, kind: nil, keys: Array(words.dropFirst().prefix(1)), noreply: words.count > 2 && lastWord == "noreply")
        case "MG", "MD", "MA":
            return finish(&buffer, length: after, command: command, kind: nil, keys: Array(words.dropFirst().prefix(1)), noreply: Self.hasQuietFlag(words.dropFirst(2)))
        case "ME":
            return finish(&buffer, length: after, command: command, kind: nil, keys: Array(words.dropFirst().prefix(1)), noreply: false)
        default:
            return finish(&buffer, length: after, command: command, kind: nil, keys: [], noreply: lastWord == "noreply")
        }
    }

    private static func hasQuietFlag(_ flags: ArraySlice<ByteBuffer>) -> Bool {
        flags.contains { $0.readableBytes == 1 && $0.readableBytesView.first == UInt8(ascii: "q") }
    }

    private mutating func finish(_ buffer: inout ByteBuffer, length: Int, command: String?, kind: MemcachedReplyKind?, keys: [ByteBuffer], noreply: Bool, data: Int = 0) -> MemcachedFrame {
        let frame = MemcachedFrame(
            bytes: buffer.readSlice(length: length)!, command: command, replyKind: kind,
            keys: Array(keys.prefix(limits.maxRecordedArguments)), noreply: noreply, dataLength: data)
        reset()
        return frame
    }

    // MARK: - Replies

    private mutating func nextReply(_ buffer: inout ByteBuffer) throws(WireParseError) -> MemcachedFrame? {
        while true {
            if offset > limits.maxFrameBytes { throw .frameTooLarge(limit: limits.maxFrameBytes) }
            guard let (words, after) = try nextLine(buffer) else { return nil }
            let first = words.first.map(Self.string) ?? ""
            switch (block, first) {
            case (.none, "VALUE"), (.values, "VALUE"):
                guard words.count == 4 || words.count == 5, let length = Self.length(words[3]) else {
                    throw .invalidReplyLine(lineText(words))
                }
                guard let end = try dataBlock(buffer, after: after, length: length) else { return nil }
                block = .values
                if keys.count < limits.maxRecordedArguments { keys.append(words[1]) }
                dataLength += length
                offset = end
                scanFrom = end
            case (.none, "STAT"), (.stats, "STAT"):
                block = .stats
                offset = after
                scanFrom = after
            case (.none, "END"), (.values, "END"), (.stats, "END"):
                guard words.count == 1 else { throw .invalidReplyLine(lineText(words)) }
                let kind: MemcachedReplyKind = block == .stats ? .stats : .values
                let data = dataLength
                return finish(&buffer, length: after, command: nil, kind: kind, keys: keys, noreply: false, data: data)
            case (.values, _), (.stats, _):
                throw .invalidReplyLine(lineText(words))
            case (.none, "VA"):
                guard words.count >= 2, let length = Self.length(words[1]) else { throw .invalidReplyLine(lineText(words)) }
                guard let end = try dataBlock(buffer, after: after, length: length) else { return nil }
                return finish(&buffer, length: end, command: nil, kind: .metaValue, keys: [], noreply: false, data: length)
            case (.none, _):
                let kind: MemcachedReplyKind
                if let known = MemcachedReplyKind(rawValue: first), known != .metaValue {
                    kind = known
                } else if words.count == 1, first.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                    kind = .number
                } else {
                    kind = .other
                }
                return finish(&buffer, length: after, command: nil, kind: kind, keys: [], noreply: false)
            }
        }
    }
}
