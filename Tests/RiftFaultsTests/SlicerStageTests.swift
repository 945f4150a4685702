import NIOCore
import RiftCore
import RiftFaults
import Testing

@Suite struct SlicerStageTests {
    @Test func fixedSizePiecesSpacedByTheDelay() throws {
        let h = try StageHarness(SlicerConfig(averageSize: 10, delayUs: 1_000))
        try h.write(pattern(35))
        try h.write(pattern(4, from: 35))
        #expect(h.pieceSizes == [10])
        h.advance(us: 999)
        #expect(h.pieceSizes == [10])
        h.advance(us: 1)
        #expect(h.pieceSizes == [10, 10])
        h.advance(ms: 10)
        #expect(h.pieceSizes == [10, 10, 10, 5, 4])
        // The next chunk waits one delay after the previous chunk's last piece.
        #expect(h.log.map(\.atMs) == [0, 1, 2, 3, 4])
        #expect(h.bytes == pattern(39))
    }

    @Test func piecesVaryWithinTheRangeAndComeFromTheSeed() throws {
        func run(seed: UInt64) throws -> [Int] {
            let h = try StageHarness(SlicerConfig(averageSize: 100, sizeVariation: 40), seed: seed)
            try h.write(pattern(50_000))
            #expect(h.bytes == pattern(50_000))
            return h.pieceSizes
        }
        let sizes = try run(seed: 11)
        #expect(sizes.dropLast().allSatisfy { (60...140).contains($0) })
        #expect((1...140).contains(sizes.last!))
        #expect(Set(sizes.dropLast()).count > 10, "sizes vary")
        #expect(try run(seed: 11) == sizes)
        #expect(try run(seed: 12) != sizes)
    }

    @Test func smallChunksStayWhole() throws {
        let h = try StageHarness(SlicerConfig(averageSize: 100, sizeVariation: 20))
        try h.write(pattern(120))
        #expect(h.pieceSizes == [120])
    }

    @Test func eofFollowsTheLastPiece() throws {
        let h = try StageHarness(SlicerConfig(averageSize: 4, delayUs: 500))
        try h.write(pattern(12))
        h.inputClosed()
        h.advance(us: 999)
        #expect(h.arrivals == [.data(pattern(4)), .data(pattern(4, from: 4))])
        h.advance(us: 1)
        #expect(h.arrivals == [.data(pattern(4)), .data(pattern(4, from: 4)), .data(pattern(4, from: 8)), .inputClosed])
    }

    @Test func removalFlushesTheRemainingPiecesInOrder() throws {
        let h = try StageHarness(SlicerConfig(averageSize: 10, delayUs: 100_000))
        try h.write(pattern(100))
        h.inputClosed()
        h.advance(ms: 250)
        #expect(h.bytes == pattern(30))
        try h.remove()
        #expect(h.bytes == pattern(100))
        #expect(h.arrivals.last == .inputClosed)
    }

    @Test func attributes() throws {
        #expect(try config(SlicerConfig.self) == SlicerConfig(averageSize: 64))
        let c = try config(SlicerConfig.self, ["average_size": .int(10), "size_variation": .int(9), "delay": .int(20)])
        #expect(c == SlicerConfig(averageSize: 10, sizeVariation: 9, delayUs: 20))
        #expect(try config(SlicerConfig.self, c.attributes) == c)
        #expect(rejectedField(SlicerConfig.self, ["average_size": .int(0)]) == "average_size")
        #expect(rejectedField(SlicerConfig.self, ["average_size": .int(10), "size_variation": .int(10)]) == "size_variation")
        #expect(rejectedField(SlicerConfig.self, ["size_variation": .int(-1)]) == "size_variation")
        #expect(rejectedField(SlicerConfig.self, ["delay": .string("fast")]) == "delay")
        #expect(rejectedField(SlicerConfig.self, ["delay": .int(60_000_001)]) == "delay")
    }
}
