import NIOCore
import RiftCore
import RiftFaults
import Testing

@Suite struct LimitDataStageTests {
    @Test func passesUpToTheLimitThenClosesAndDropsTheRest() throws {
        let h = try StageHarness(LimitDataConfig(bytes: 10))
        try h.write(pattern(4))
        try h.write(pattern(4, from: 4))
        #expect(h.directives.isEmpty)
        try h.write(pattern(4, from: 8))
        try h.write(pattern(50, from: 12))
        #expect(h.arrivals == [.data(pattern(4)), .data(pattern(4, from: 4)), .data(pattern(2, from: 8)), .directive(.close)])
    }

    @Test func reachingTheLimitExactlyClosesAtOnce() throws {
        let h = try StageHarness(LimitDataConfig(bytes: 5))
        try h.write(pattern(5))
        #expect(h.arrivals == [.data(pattern(5)), .directive(.close)])
    }

    @Test func zeroClosesOnTheFirstChunkWithoutPassingIt() throws {
        let h = try StageHarness(LimitDataConfig(bytes: 0))
        #expect(h.arrivals.isEmpty)
        try h.write("abc")
        #expect(h.arrivals == [.directive(.close)])
    }

    @Test func eofBeforeTheLimitPassesThrough() throws {
        let h = try StageHarness(LimitDataConfig(bytes: 100))
        try h.write("abc")
        h.inputClosed()
        #expect(h.arrivals == [.data(Array("abc".utf8)), .inputClosed])
    }

    @Test func countsOverTheWholeConnection() throws {
        let h = try StageHarness(LimitDataConfig(bytes: 1_000))
        for i in 0..<200 { try h.write(pattern(7, from: i * 7)) }
        #expect(h.bytes == pattern(1_000))
        #expect(h.directives == [.close])
    }

    @Test func removalAfterTheLimitLetsBytesFlowAgain() throws {
        let h = try StageHarness(LimitDataConfig(bytes: 2))
        try h.write("abc")
        try h.remove()
        try h.write("d")
        #expect(h.text == "abd")
        #expect(h.directives == [.close])
    }

    @Test func attributes() throws {
        #expect(try config(LimitDataConfig.self) == LimitDataConfig(bytes: 0))
        #expect(try config(LimitDataConfig.self, ["bytes": .int(1 << 40)]).bytes == 1 << 40)
        #expect(rejectedField(LimitDataConfig.self, ["bytes": .int(-1)]) == "bytes")
        #expect(rejectedField(LimitDataConfig.self, ["bytes": .string("1MB")]) == "bytes")
    }
}
