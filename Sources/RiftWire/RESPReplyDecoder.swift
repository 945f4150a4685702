import NIOCore

/// A reply stream decoder that yields values a client acts on (not frames): what a blocking
/// client runs over the bytes it receives.
public protocol WireReplyDecoder: Sendable {
    associatedtype Reply
    init(limits: WireLimits)
    /// The next complete reply (consuming its bytes), or nil when more bytes are needed. After
    /// a throw the stream cannot be followed any more.
    mutating func next(_ buffer: inout ByteBuffer) throws(WireParseError) -> Reply?
}

/// Decodes a reply stream into `RESPValue`s: the one RESP reply decoder every client in Rift
/// uses (the harness's workloads, the tests' clients), so what a client reads obeys exactly the
/// grammar and the `WireLimits` the fault proxy's frame decoder enforces.
///
/// `RESPParser` finds and validates each complete frame (resumably, so bytes arriving one at a
/// time cost linear time, and bounded before any payload is awaited); the value is then built
/// from that frame's bytes. Same contract as the parser: append to `buffer`, keep unconsumed
/// bytes in place, and after a throw the stream cannot be followed any more.
public struct RESPReplyDecoder: WireReplyDecoder {
    private var parser: RESPParser

    public init(limits: WireLimits = .default) {
        parser = RESPParser(role: .reply, limits: limits)
    }

    /// The next complete reply or push (consuming its bytes), or nil when more bytes are needed.
    public mutating func next(_ buffer: inout ByteBuffer) throws(WireParseError) -> RESPValue? {
        guard let frame = try parser.next(&buffer) else { return nil }
        return try RESPValue(frame: frame)
    }
}

extension RESPValue {
    /// The value of one complete reply frame, as `RESPParser(role: .reply)` returned it.
    /// The frame was validated when it was cut; a frame that was not (built by hand) still gets
    /// an error, never a crash.
    public init(frame: RESPFrame) throws(WireParseError) {
        var reader = FrameReader(bytes: frame.bytes)
        self = try reader.value(depth: 0)
        guard reader.index == reader.end else { throw .invalidScalar(type: frame.kind.rawValue, text: "bytes after the value") }
    }
}

/// Walks the bytes of one complete frame. Nesting is bounded by the parser's `maxDepth`.
private struct FrameReader {
    let bytes: ByteBuffer
    var index: Int
    let end: Int

    init(bytes: ByteBuffer) {
        self.bytes = bytes
        index = bytes.readerIndex
        end = bytes.writerIndex
    }

    mutating func value(depth: Int) throws(WireParseError) -> RESPValue {
        guard depth <= 1024 else { throw .nestingTooDeep(limit: 1024) }
        guard index < end, let type = bytes.getInteger(at: index, as: UInt8.self) else { throw .missingPayloadTerminator }
        index += 1
        let line = try self.line()
        guard let kind = RESPKind(rawValue: type), kind != .inline else { throw .unknownType(type) }
        switch kind {
        case .simpleString: return .simpleString(Self.text(line))
        case .error: return .error(Self.text(line))
        case .integer:
            guard let n = Int64(Self.text(line)) else { throw .invalidScalar(type: type, text: Self.text(line)) }
            return .integer(n)
        case .bigNumber: return .bigNumber(Self.text(line))
        case .null: return .null
        case .boolean: return .boolean(line.first == UInt8(ascii: "t"))
        case .double:
            switch Self.text(line).lowercased() {
            case "inf", "+inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan", "-nan": return .double(.nan)
            case let literal:
                guard let d = Double(literal) else { throw .invalidScalar(type: type, text: literal) }
                return .double(d)
            }
        case .bulkString, .blobError, .verbatimString:
            let length = try self.length(line)
            guard length >= 0 else { return .bulkString(nil) }
            let payload = try self.payload(length)
            switch kind {
            case .blobError: return .error(Self.text(payload[...]))
            case .verbatimString:
                guard payload.count >= 4, payload[3] == UInt8(ascii: ":") else {
                    throw .invalidScalar(type: type, text: Self.text(payload.prefix(64)))
                }
                return .verbatimString(format: Self.text(payload.prefix(3)), text: Array(payload.dropFirst(4)))
            default: return .bulkString(payload)
            }
        case .array, .set, .push:
            let count = try self.length(line)
            guard count >= 0 else { return .array(nil) }
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(count, 1024))
            for _ in 0..<count { elements.append(try value(depth: depth + 1)) }
            return kind == .array ? .array(elements) : kind == .set ? .set(elements) : .push(elements)
        case .map, .attribute:
            let count = try self.length(line)
            guard count >= 0 else { throw .invalidLength(Self.text(line)) }
            var pairs: [RESPPair] = []
            pairs.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                let key = try value(depth: depth + 1)
                pairs.append(RESPPair(key, try value(depth: depth + 1)))
            }
            if kind == .map { return .map(pairs) }
            return .attributed(attributes: pairs, value: try value(depth: depth + 1))
        case .inline:
            throw .unknownType(type)
        }
    }

    /// The rest of the current line, without its CRLF.
    private mutating func line() throws(WireParseError) -> ByteBufferView {
        let view = bytes.readableBytesView
        var i = index
        while i + 1 < end {
            if bytes.getInteger(at: i, as: UInt8.self) == UInt8(ascii: "\r") {
                let line = view[index..<i]
                index = i + 2
                return line
            }
            i += 1
        }
        throw .missingPayloadTerminator
    }

    private func length(_ line: ByteBufferView) throws(WireParseError) -> Int {
        guard let n = LineScanner.parseInt(line), n >= -1 else { throw .invalidLength(Self.text(line)) }
        return n
    }

    private mutating func payload(_ length: Int) throws(WireParseError) -> [UInt8] {
        guard end - index >= length + 2, let payload = bytes.getBytes(at: index, length: length) else { throw .missingPayloadTerminator }
        index += length + 2
        return payload
    }

    private static func text(_ bytes: some Collection<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
}
