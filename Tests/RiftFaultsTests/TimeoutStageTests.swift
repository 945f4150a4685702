import NIOCore
import RiftCore
import RiftFaults
import Testing

@Suite struct TimeoutStageTests {
    @Test func dropsEverythingAndClosesAtTheTimeout() throws {
        let h = try StageHarness(TimeoutConfig(timeoutMs: 500))
        try h.write("GET a\r\n")
        h.advance(ms: 300)
        try h.write("GET b\r\n")
        h.advance(ms: 199)
        #expect(h.arrivals.isEmpty)
        h.advance(ms: 1)
        #expect(h.arrivals == [.directive(.close)])
        #expect(h.log.map(\.atMs) == [500], "data does not restart the timer")
        h.advance(ms: 10_000)
        #expect(h.directives == [.close])
    }

    @Test func zeroNeverCloses() throws {
        let h = try StageHarness(TimeoutConfig(timeoutMs: 0))
        try h.write("x")
        h.advance(ms: 86_400_000)
        #expect(h.arrivals.isEmpty)
    }

    @Test func eofAndInactivityPassThrough() throws {
        let h = try StageHarness(TimeoutConfig(timeoutMs: 1_000))
        try h.write("lost")
        h.inputClosed()
        h.inactive()
        #expect(h.arrivals == [.inputClosed, .inactive])
    }

    @Test func readsKeepFlowingBecauseNothingIsHeld() throws {
        let h = try StageHarness(TimeoutConfig(timeoutMs: 0))
        try h.write(pattern(4_000_000))
        h.read()
        #expect(h.reads == 1)
    }

    @Test func removalWithoutDroppedBytesLetsDataFlow() throws {
        let h = try StageHarness(TimeoutConfig(timeoutMs: 1_000))
        h.advance(ms: 100)
        try h.remove()
        try h.write("ok")
        h.advance(ms: 2_000)
        #expect(h.arrivals == [.data(Array("ok".utf8))], "the timer is cancelled on removal")
    }

    @Test func removalAfterDroppingClosesTheCorruptedStream() throws {
        let h = try StageHarness(TimeoutConfig(timeoutMs: 1_000))
        try h.write("half a comm")
        try h.remove()
        #expect(h.arrivals == [.directive(.close)])
        h.advance(ms: 2_000)
        #expect(h.directives == [.close])
    }

    @Test func removalAfterTheCloseDoesNotCloseTwice() throws {
        let h = try StageHarness(TimeoutConfig(timeoutMs: 10))
        try h.write("x")
        h.advance(ms: 10)
        try h.remove()
        #expect(h.directives == [.close])
    }

    @Test func attributes() throws {
        #expect(try config(TimeoutConfig.self) == TimeoutConfig(timeoutMs: 0))
        #expect(try config(TimeoutConfig.self, ["timeout": .int(250)]).attributes == ["timeout": .int(250)])
        #expect(rejectedField(TimeoutConfig.self, ["timeout": .int(-1)]) == "timeout")
        #expect(rejectedField(TimeoutConfig.self, ["timeout": .string("soon")]) == "timeout")
    }
}
