import NIOCore
import RiftWire

/// Small limits, so that short inputs reach every limit check as well as the default ones.
private let smallLimits = WireLimits(maxLineLength: 32, maxBulkLength: 64, maxElements: 16, maxDepth: 4, maxFrameBytes: 256, maxRecordedArguments: 8)

/// Fuzzes one wire parser: the first byte picks the role and the limits, the second a chunk
/// size, the rest is the stream. Besides not crashing, the parser must give the same frames and
/// error whether the stream comes whole or in chunks, and its frames must be exact slices of
/// the input, in order.
public func fuzzWireParser<Parser: WireStreamParser>(_: Parser.Type, frameBytes: @escaping (Parser.Frame) -> ByteBuffer) -> Never {
    fuzz { raw in
        var input = FuzzInput(raw)
        let choice = input.byte()
        let chunk = 1 + Int(input.byte() % 16)
        let stream = input.rest
        let role: WireRole = choice & 1 == 0 ? .request : .reply
        let limits = choice & 2 == 0 ? WireLimits.default : smallLimits
        let whole = feed(stream, chunk: stream.count + 1, Parser(role: role, limits: limits), frameBytes)
        let split = feed(stream, chunk: chunk, Parser(role: role, limits: limits), frameBytes)
        precondition(whole.frames == split.frames, "frames differ when the stream comes in chunks of \(chunk)")
        precondition(whole.error == split.error, "error differs when the stream comes in chunks of \(chunk)")
        let joined = whole.frames.flatMap { $0 }
        precondition(Array(stream.prefix(joined.count)) == joined, "frames are not the input's bytes in order")
    }
}

private func feed<Parser: WireStreamParser>(
    _ stream: [UInt8], chunk: Int, _ parser: Parser, _ frameBytes: (Parser.Frame) -> ByteBuffer
) -> (frames: [[UInt8]], error: WireParseError?) {
    var parser = parser
    var frames: [[UInt8]] = []
    var buffer = ByteBuffer()
    var position = 0
    repeat {
        let end = min(stream.count, position + chunk)
        buffer.writeBytes(stream[position..<end])
        position = end
        do {
            while let frame = try parser.next(&buffer) { frames.append(Array(frameBytes(frame).readableBytesView)) }
        } catch {
            return (frames, error)
        }
        buffer.discardReadBytes()
    } while position < stream.count
    return (frames, nil)
}
