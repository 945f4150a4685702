import NIOCore
import RiftCore
import RiftFaults
import RiftWire
import Testing

/// Whatever the split and whatever the bytes, a frame stage passes on exactly the input
/// minus the frames it drops: valid streams lose only matching frames, garbage is forwarded.
@Suite struct FrameStageIntegrityTests {
    private static let frames = [
        "*1\r\n$4\r\nPING\r\n", "*2\r\n$3\r\nGET\r\n$3\r\nk:1\r\n", "*3\r\n$3\r\nSET\r\n$3\r\nk:2\r\n$2\r\nv\n\r\n",
        "*2\r\n$3\r\nDEL\r\n$1\r\nx\r\n", "PING\r\n", "get k:3\n",
    ]

    @Test(arguments: [UInt64(11), 12, 13]) func dropsOnlyMatchingFramesInAnySplit(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        for _ in 0..<200 {
            let picked = (0..<(1 + Int(random.next() % 10))).map { _ in Self.frames[Int(random.next() % UInt64(Self.frames.count))] }
            var input = Array(picked.joined().utf8)
            let garbage = random.next() % 4 == 0
            if garbage, !input.isEmpty { input[Int(random.next() % UInt64(input.count))] = UInt8(truncatingIfNeeded: random.next()) }
            let h = try StageHarness(DropFrameConfig(match: FrameMatch(keyGlob: "k:*")), direction: .upstream)
            var position = 0
            while position < input.count {
                let size = min(1 + Int(random.next() % 9), input.count - position)
                try h.write(Array(input[position..<(position + size)]))
                position += size
            }
            h.inputClosed()
            if garbage {
                // Frames before the damage are filtered; from the damage on, bytes pass as they are.
                var parser = RESPParser(role: .request)
                var buffer = ByteBuffer(bytes: input)
                var expected: [UInt8] = []
                do {
                    while let frame = try parser.next(&buffer) {
                        if !frame.keys.contains(where: { Glob.matches("k:*", $0.readableBytesView) }) {
                            expected += frame.bytes.readableBytesView
                        }
                    }
                } catch {}
                expected += buffer.readableBytesView
                #expect(h.bytes == expected)
            } else {
                let expected = picked.filter { !$0.contains("k:") }.joined()
                #expect(h.text == expected)
            }
            #expect(h.arrivals.last == .inputClosed)
        }
    }

    @Test(arguments: [UInt64(21), 22]) func delayedRequestsKeepTheStreamExactAndInOrder(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        for _ in 0..<100 {
            let picked = (0..<(1 + Int(random.next() % 10))).map { _ in Self.frames[Int(random.next() % UInt64(Self.frames.count))] }
            let input = Array(picked.joined().utf8)
            let h = try StageHarness(DelayFrameConfig(delayMs: 30, match: FrameMatch(keyGlob: "k:*", probability: 0.5)), seed: random.next(), direction: .upstream)
            var position = 0
            var lastLength = 0
            while position < input.count {
                let size = min(1 + Int(random.next() % 9), input.count - position)
                try h.write(Array(input[position..<(position + size)]))
                position += size
                h.advance(ms: Int64(random.next() % 20))
                // Whatever has been delivered so far is a prefix of the input: nothing overtakes.
                #expect(Array(input.prefix(h.bytes.count)) == h.bytes)
                #expect(h.bytes.count >= lastLength)
                lastLength = h.bytes.count
            }
            h.inputClosed()
            h.advance(ms: 30)
            #expect(h.bytes == input)
            #expect(h.arrivals.last == .inputClosed)
        }
    }
}
