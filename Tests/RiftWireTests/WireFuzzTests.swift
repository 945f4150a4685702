import NIOCore
import RiftWire
import Testing

/// What feeding a stream to a parser produced: the frames' bytes, the error if any, and the
/// most bytes the parser left waiting at any point.
private struct Outcome: Equatable {
    var frames: [[UInt8]] = []
    var error: WireParseError?
    var maxWaiting = 0
}

/// Feeds `input` in the given chunk sizes, as a ByteToMessageDecoder would.
private func feed(_ input: [UInt8], chunks: [Int], next: (inout ByteBuffer) throws(WireParseError) -> [UInt8]?) -> Outcome {
    var outcome = Outcome()
    var buffer = ByteBuffer()
    var position = 0
    var chunkIndex = 0
    while position < input.count {
        let size = min(chunks[chunkIndex % chunks.count], input.count - position)
        chunkIndex += 1
        buffer.writeBytes(input[position..<(position + size)])
        position += size
        do {
            while let frame = try next(&buffer) { outcome.frames.append(frame) }
        } catch {
            outcome.error = error
            return outcome
        }
        outcome.maxWaiting = max(outcome.maxWaiting, buffer.readableBytes)
        buffer.discardReadBytes()
    }
    return outcome
}

private let respReplies = [
    "+OK\r\n", "-ERR x\r\n", ":12\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*-1\r\n", "*2\r\n$1\r\na\r\n:1\r\n", "_\r\n", "#t\r\n",
    ",1.5\r\n", "(123\r\n", "!3\r\nerr\r\n", "=7\r\ntxt:abc\r\n", "%1\r\n+k\r\n*1\r\n:1\r\n", "~1\r\n+a\r\n",
    "|1\r\n+a\r\n+b\r\n+c\r\n", ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n", "*0\r\n",
]
private let respRequests = ["*1\r\n$4\r\nPING\r\n", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv\n\r\n", "PING\r\n", "get k\n", "*0\r\n"]
private let mcRequests = [
    "get a b\r\n", "set k 0 0 3\r\nabc\r\n", "cas k 0 0 1 5 noreply\r\nx\r\n", "delete k\n", "incr n 1\r\n", "mg k v\r\n",
    "ms k 2 q\r\nhi\r\n", "mn\r\n", "version\r\n", "stats\r\n",
]
private let mcReplies = [
    "VALUE a 0 1\r\nx\r\nEND\r\n", "END\r\n", "STAT a 1\r\nEND\r\n", "STORED\r\n", "12\r\n", "VA 1 f\r\nz\r\n", "HD\r\n", "EN\r\n",
    "CLIENT_ERROR bad\r\n", "VERSION 1\r\n",
]

@Suite struct WireFuzzTests {
    /// Bytes biased towards protocol characters, so that random input reaches deep states.
    private static func randomBytes(_ random: inout SeededRandom, count: Int) -> [UInt8] {
        let alphabet = Array("*$+-:_#,(!=%~|>?\r\n\r\n0123456789-1 VALUESTRDgetsa".utf8)
        return (0..<count).map { _ in
            random.next() % 4 == 0 ? UInt8(truncatingIfNeeded: random.next()) : alphabet[Int(random.next() % UInt64(alphabet.count))]
        }
    }

    private static func validStream(_ random: inout SeededRandom, corpus: [String]) -> [UInt8] {
        (0..<(1 + Int(random.next() % 8))).flatMap { _ in Array(corpus[Int(random.next() % UInt64(corpus.count))].utf8) }
    }

    private static func chunks(_ random: inout SeededRandom) -> [Int] {
        (0..<(1 + Int(random.next() % 5))).map { _ in 1 + Int(random.next() % 7) }
    }

    private static let limits = WireLimits(maxLineLength: 32, maxBulkLength: 64, maxElements: 16, maxDepth: 4, maxFrameBytes: 256, maxRecordedArguments: 8)

    private func run(seed: UInt64, corpus: [String], parse: @escaping () -> (inout ByteBuffer) throws(WireParseError) -> [UInt8]?) {
        var random = SeededRandom(seed: seed)
        var errors = 0
        var frames = 0
        defer {
            // The fuzz is not vacuous: it reaches both parse errors and parsed frames.
            #expect(errors > 100 && frames > 1000, "errors \(errors) frames \(frames)")
        }
        for iteration in 0..<2000 {
            var input: [UInt8]
            let mutated: Bool
            switch iteration % 3 {
            case 0:
                input = Self.randomBytes(&random, count: Int(random.next() % 200))
                mutated = true
            case 1:
                input = Self.validStream(&random, corpus: corpus)
                for _ in 0..<(1 + Int(random.next() % 3)) where !input.isEmpty {
                    input[Int(random.next() % UInt64(input.count))] = Self.randomBytes(&random, count: 1)[0]
                }
                mutated = true
            default:
                input = Self.validStream(&random, corpus: corpus)
                mutated = false
            }
            let whole = feed(input, chunks: [input.count + 1], next: parse())
            let split = feed(input, chunks: Self.chunks(&random), next: parse())
            // Splitting never changes what is parsed, nor the error.
            #expect(whole.frames == split.frames, "seed \(seed) iteration \(iteration)")
            #expect(whole.error == split.error, "seed \(seed) iteration \(iteration)")
            // Waiting bytes stay within the frame and line bounds.
            #expect(split.maxWaiting <= Self.limits.maxFrameBytes + Self.limits.maxLineLength + 8)
            // Frames are exact slices: together they are a prefix of the input.
            if split.error != nil { errors += 1 }
            frames += split.frames.count
            let joined = split.frames.flatMap { $0 }
            #expect(Array(input.prefix(joined.count)) == joined)
            if !mutated {
                #expect(split.error == nil)
                #expect(joined == input, "seed \(seed) iteration \(iteration)")
            }
        }
    }

    @Test(arguments: [UInt64(1), 2, 3]) func respRepliesSurviveRandomAndMutatedInput(seed: UInt64) {
        run(seed: seed, corpus: respReplies) {
            var parser = RESPParser(role: .reply, limits: Self.limits)
            return { (buffer: inout ByteBuffer) throws(WireParseError) in try parser.next(&buffer).map { Array($0.bytes.readableBytesView) } }
        }
    }

    @Test(arguments: [UInt64(4), 5]) func respRequestsSurviveRandomAndMutatedInput(seed: UInt64) {
        run(seed: seed, corpus: respRequests) {
            var parser = RESPParser(role: .request, limits: Self.limits)
            return { (buffer: inout ByteBuffer) throws(WireParseError) in try parser.next(&buffer).map { Array($0.bytes.readableBytesView) } }
        }
    }

    @Test(arguments: [UInt64(6), 7]) func memcachedRequestsSurviveRandomAndMutatedInput(seed: UInt64) {
        run(seed: seed, corpus: mcRequests) {
            var parser = MemcachedParser(role: .request, limits: Self.limits)
            return { (buffer: inout ByteBuffer) throws(WireParseError) in try parser.next(&buffer).map { Array($0.bytes.readableBytesView) } }
        }
    }

    @Test(arguments: [UInt64(8), 9]) func memcachedRepliesSurviveRandomAndMutatedInput(seed: UInt64) {
        run(seed: seed, corpus: mcReplies) {
            var parser = MemcachedParser(role: .reply, limits: Self.limits)
            return { (buffer: inout ByteBuffer) throws(WireParseError) in try parser.next(&buffer).map { Array($0.bytes.readableBytesView) } }
        }
    }
}
