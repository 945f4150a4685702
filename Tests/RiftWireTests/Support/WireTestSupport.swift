import NIOCore
import RiftWire

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
