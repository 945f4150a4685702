import NIOCore
import RiftCore
import RiftFaults
import Testing

@Suite struct BlackholeStageTests {
    @Test func holdsEverythingIncludingEofUntilRemoved() throws {
        let h = try StageHarness(BlackholeConfig())
        try h.write("SET k v\r\n")
        try h.write("GET k\r\n")
        h.inputClosed()
        h.inactive()
        h.advance(ms: 3_600_000)
        #expect(h.arrivals.isEmpty)
        try h.remove()
        #expect(h.arrivals == [.data(Array("SET k v\r\n".utf8)), .data(Array("GET k\r\n".utf8)), .inputClosed, .inactive])
        #expect(h.log.allSatisfy { $0.atMs == 3_600_000 })
    }

    @Test func readingStopsAboveTheHighWaterMarkLikeASilentPartition() throws {
        let h = try StageHarness(BlackholeConfig())
        h.read()
        #expect(h.reads == 1)
        try h.write(pattern(1 << 20))
        h.read()
        #expect(h.reads == 2, "exactly at the mark: still reading")
        try h.write(pattern(1))
        h.read()
        h.read()
        #expect(h.reads == 2)
        h.advance(ms: 600_000)
        #expect(h.reads == 2, "time does not heal a partition")
        try h.remove()
        #expect(h.reads == 3, "the pending read goes out once the partition heals")
        #expect(h.bytes == pattern(1 << 20) + pattern(1))
    }

    @Test func afterRemovalBytesFlowStraightThrough() throws {
        let h = try StageHarness(BlackholeConfig())
        try h.write("a")
        try h.remove()
        try h.write("b")
        h.inputClosed()
        #expect(h.arrivals == [.data([97]), .data([98]), .inputClosed])
    }

    @Test func attributes() throws {
        #expect(try config(BlackholeConfig.self) == BlackholeConfig())
        #expect(BlackholeConfig().attributes.isEmpty)
        #expect(BlackholeConfig().listenerEffect == .none)
    }
}
