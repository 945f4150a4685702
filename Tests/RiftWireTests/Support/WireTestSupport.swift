import NIOCore
import RiftWire
import Testing

func buf(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

/// An expected RESP request frame: its bytes and argument vector.
func request(_ wire: String, _ args: [String], kind: RESPKind = .array) -> RESPFrame {
    RESPFrame(bytes: buf(wire), kind: kind, elementCount: args.count, arguments: args.map(buf))
}

/// An expected RESP reply frame.
func reply(_ wire: String, _ kind: RESPKind, count: Int = 0, args: [String] = [], null: Bool = false, attribute: Bool = false) -> RESPFrame {
    RESPFrame(bytes: buf(wire), kind: kind, isNull: null, hasAttribute: attribute, elementCount: count, arguments: args.map(buf))
}

/// Parses all of `input` with a fresh parser fed in one piece.
func parseAllRESP(_ input: String, role: WireRole, limits: WireLimits = .default) throws(WireParseError) -> [RESPFrame] {
    var parser = RESPParser(role: role, limits: limits)
    var buffer = buf(input)
    var frames: [RESPFrame] = []
    while let frame = try parser.next(&buffer) { frames.append(frame) }
    return frames
}

/// The error a RESP parser throws for `input`, or nil.
func respError(_ input: String, role: WireRole, limits: WireLimits = .default) -> WireParseError? {
    do {
        _ = try parseAllRESP(input, role: role, limits: limits)
        return nil
    } catch {
        return error
    }
}

func parseAllMemcached(_ input: String, role: WireRole, limits: WireLimits = .default) throws(WireParseError) -> [MemcachedFrame] {
    var parser = MemcachedParser(role: role, limits: limits)
    var buffer = buf(input)
    var frames: [MemcachedFrame] = []
    while let frame = try parser.next(&buffer) { frames.append(frame) }
    return frames
}

func memcachedError(_ input: String, role: WireRole, limits: WireLimits = .default) -> WireParseError? {
    do {
        _ = try parseAllMemcached(input, role: role, limits: limits)
        return nil
    } catch {
        return error
    }
}

extension ByteBuffer {
    var text: String { String(decoding: readableBytesView, as: UTF8.self) }
}

/// Every reply `Decoder` yields for `chunks` fed in order (and checks no byte is left over).
func decodeReplies<Decoder: WireReplyDecoder>(_: Decoder.Type, _ chunks: [[UInt8]], limits: WireLimits = .default) throws(WireParseError) -> [Decoder.Reply] {
    var decoder = Decoder(limits: limits)
    var buffer = ByteBuffer()
    var replies: [Decoder.Reply] = []
    for chunk in chunks {
        buffer.writeBytes(chunk)
        while let reply = try decoder.next(&buffer) { replies.append(reply) }
    }
    if buffer.readableBytes != 0 { throw .invalidReplyLine("\(buffer.readableBytes) bytes left after the last reply") }
    return replies
}

/// `wire` decoded whole, byte by byte, and split in two at every offset: each must give `expected`.
func expectEverySplit<Decoder: WireReplyDecoder>(_: Decoder.Type, _ wire: String, _ expected: Decoder.Reply) throws where Decoder.Reply: Equatable {
    let bytes = Array(wire.utf8)
    #expect(try decodeReplies(Decoder.self, [bytes]) == [expected], "whole: \(wire.debugDescription)")
    #expect(try decodeReplies(Decoder.self, bytes.map { [$0] }) == [expected], "byte by byte: \(wire.debugDescription)")
    for cut in 1..<bytes.count {
        #expect(try decodeReplies(Decoder.self, [Array(bytes[..<cut]), Array(bytes[cut...])]) == [expected], "split at \(cut): \(wire.debugDescription)")
    }
}

/// The error decoding `wire` in one piece throws, or nil.
func replyError<Decoder: WireReplyDecoder>(_: Decoder.Type, _ wire: String, limits: WireLimits = .default) -> WireParseError? {
    do {
        _ = try decodeReplies(Decoder.self, [Array(wire.utf8)], limits: limits)
        return nil
    } catch {
        return error
    }
}
