import NIOCore
import RiftCore
import RiftFaults
import Testing

@Suite struct SlowCloseStageTests {
    @Test func dataPassesAtOnceAndEofWaitsTheDelay() throws {
        let h = try StageHarness(SlowCloseConfig(delayMs: 300))
        try h.write("hello")
        #expect(h.text == "hello")
        h.advance(ms: 10)
        h.inputClosed()
        h.advance(ms: 299)
        #expect(h.arrivals == [.data(Array("hello".utf8))])
        h.advance(ms: 1)
        #expect(h.arrivals == [.data(Array("hello".utf8)), .inputClosed])
        #expect(h.log.map(\.atMs) == [0, 310])
    }

    @Test func inactivityIsDelayedToo() throws {
        let h = try StageHarness(SlowCloseConfig(delayMs: 100))
        h.inactive()
        h.advance(ms: 99)
        #expect(h.arrivals.isEmpty)
        h.advance(ms: 1)
        #expect(h.arrivals == [.inactive])
    }

    @Test func removalReleasesTheHeldEofAtOnce() throws {
        let h = try StageHarness(SlowCloseConfig(delayMs: 5_000))
        try h.write("x")
        h.inputClosed()
        h.inactive()
        h.advance(ms: 1)
        try h.remove()
        #expect(h.arrivals == [.data([120]), .inputClosed, .inactive])
        #expect(h.log.map(\.atMs) == [0, 1, 1])
        h.advance(ms: 10_000)
        #expect(h.arrivals.count == 3)
    }

    @Test func zeroDelayChangesNothing() throws {
        let h = try StageHarness(SlowCloseConfig(delayMs: 0))
        try h.write("ab")
        h.inputClosed()
        #expect(h.arrivals == [.data([97, 98]), .inputClosed])
    }

    @Test func attributes() throws {
        #expect(try config(SlowCloseConfig.self) == SlowCloseConfig(delayMs: 0))
        #expect(try config(SlowCloseConfig.self, ["delay": .double(1500)]).delayMs == 1500)
        #expect(rejectedField(SlowCloseConfig.self, ["delay": .int(-5)]) == "delay")
        #expect(rejectedField(SlowCloseConfig.self, ["delay": .string("1s")]) == "delay")
    }
}
