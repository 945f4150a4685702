import NIOCore
import RiftCore
import RiftFaults
import Testing

@Suite struct ResetPeerStageTests {
    @Test func anIdleConnectionIsLeftAloneUntilUsed() throws {
        let h = try StageHarness(ResetPeerConfig(timeoutMs: 0))
        h.advance(ms: 60_000)
        #expect(h.arrivals.isEmpty)
        try h.write("+OK\r\n")
        #expect(h.arrivals == [.directive(.reset)], "the arming bytes are not delivered")
    }

    @Test func resetsTimeoutAfterTheFirstDataAndDropsWhatFollows() throws {
        let h = try StageHarness(ResetPeerConfig(timeoutMs: 100))
        h.advance(ms: 50)
        try h.write("a")
        h.advance(ms: 60)
        try h.write("b")
        h.advance(ms: 39)
        #expect(h.arrivals.isEmpty)
        h.advance(ms: 1)
        #expect(h.arrivals == [.directive(.reset)])
        #expect(h.log.map(\.atMs) == [150])
        try h.write("c")
        h.advance(ms: 1_000)
        #expect(h.arrivals == [.directive(.reset)])
    }

    @Test func eofArmsItAndIsSwallowed() throws {
        let h = try StageHarness(ResetPeerConfig(timeoutMs: 20))
        h.inputClosed()
        h.advance(ms: 20)
        #expect(h.arrivals == [.directive(.reset)])
        h.inactive()
        #expect(h.arrivals == [.directive(.reset), .inactive])
    }

    @Test func removalBeforeTheResetCancelsIt() throws {
        let h = try StageHarness(ResetPeerConfig(timeoutMs: 100))
        h.inputClosed()
        try h.remove()
        h.advance(ms: 1_000)
        #expect(h.arrivals == [.inputClosed], "the swallowed EOF is passed on; no reset")
    }

    @Test func removalAfterDroppingBytesCloses() throws {
        let h = try StageHarness(ResetPeerConfig(timeoutMs: 100))
        try h.write("partial")
        try h.remove()
        h.advance(ms: 1_000)
        #expect(h.arrivals == [.directive(.close)])
    }

    @Test func attributes() throws {
        #expect(try config(ResetPeerConfig.self) == ResetPeerConfig(timeoutMs: 0))
        #expect(try config(ResetPeerConfig.self, ["timeout": .double(10)]).timeoutMs == 10)
        #expect(rejectedField(ResetPeerConfig.self, ["timeout": .int(-3)]) == "timeout")
        #expect(rejectedField(ResetPeerConfig.self, ["timeout": .bool(false)]) == "timeout")
    }
}
