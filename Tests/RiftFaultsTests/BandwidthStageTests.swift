import NIOCore
import RiftCore
import RiftFaults
import Testing

@Suite struct BandwidthStageTests {
    // 100 KB/s = 100,000 bytes/s: 10 µs per byte, pieces of 10,000 bytes (100 ms).
    @Test func largeChunksTrickleOutInHundredMillisecondPieces() throws {
        let h = try StageHarness(BandwidthConfig(rateKBps: 100))
        try h.write(pattern(25_000))
        h.advance(ms: 99)
        #expect(h.bytes.isEmpty)
        h.advance(ms: 1)
        #expect(h.pieceSizes == [10_000])
        h.advance(ms: 149)
        #expect(h.pieceSizes == [10_000, 10_000])
        h.advance(ms: 1)
        #expect(h.pieceSizes == [10_000, 10_000, 5_000])
        #expect(h.log.map(\.atMs) == [100, 200, 250])
        #expect(h.bytes == pattern(25_000))
    }

    @Test func timeDebtCarriesAcrossChunksButAnIdleLinkEarnsNoCredit() throws {
        let h = try StageHarness(BandwidthConfig(rateKBps: 100))
        try h.write(pattern(5_000))  // busy 0..50 ms
        h.advance(ms: 10)
        try h.write(pattern(5_000))  // queued behind: 50..100 ms
        h.advance(ms: 290)           // t = 300, link idle since 100
        try h.write(pattern(1_000))  // 300..310 ms
        h.advance(ms: 10)
        #expect(h.log.map(\.atMs) == [50, 100, 310])
    }

    @Test func ratesThatDoNotDivideEvenlyNeverDriftOrLeaveEarly() throws {
        // 3 KB/s: one byte is 333,333.3 ns; 3000 bytes must take exactly one second.
        let h = try StageHarness(BandwidthConfig(rateKBps: 3))
        for _ in 0..<30 { try h.write(pattern(100)) }
        h.advance(ns: 999_999_999)
        #expect(h.bytes.count < 3000)
        h.advance(ns: 1)
        #expect(h.bytes.count == 3000)
    }

    @Test func rateZeroIsUnlimited() throws {
        let h = try StageHarness(BandwidthConfig(rateKBps: 0))
        try h.write(pattern(1_000_000))
        #expect(h.bytes == pattern(1_000_000))
        #expect(h.log.map(\.atMs) == [0])
    }

    @Test func eofFollowsTheLastByte() throws {
        let h = try StageHarness(BandwidthConfig(rateKBps: 100))
        try h.write(pattern(2_000))
        h.inputClosed()
        h.inactive()
        h.advance(ms: 19)
        #expect(h.arrivals.isEmpty)
        h.advance(ms: 1)
        #expect(h.arrivals == [.data(pattern(2_000)), .inputClosed, .inactive])
    }

    @Test func removalFlushesEverythingHeldInOrder() throws {
        let h = try StageHarness(BandwidthConfig(rateKBps: 100))
        try h.write(pattern(25_000))
        try h.write(pattern(5_000, from: 25_000))
        h.inputClosed()
        h.advance(ms: 150)
        #expect(h.bytes.count == 10_000)
        try h.remove()
        #expect(h.bytes == pattern(30_000))
        #expect(h.arrivals.last == .inputClosed)
        h.advance(ms: 1_000)
        #expect(h.bytes.count == 30_000)
    }

    @Test func readsStopAboveTheHighWaterMarkAndResumeWhenDrained() throws {
        // 1000 KB/s; 1.5 MB held is above the 1 MiB mark.
        let h = try StageHarness(BandwidthConfig(rateKBps: 1_000))
        try h.write(pattern(1_500_000))
        h.read()
        #expect(h.reads == 0)
        h.advance(ms: 900)  // 900,000 sent, 600,000 held: above the 512 KiB low mark
        #expect(h.reads == 0)
        h.advance(ms: 100)  // 500,000 held: below the low mark
        #expect(h.reads == 1)
    }

    @Test func attributes() throws {
        #expect(try config(BandwidthConfig.self) == BandwidthConfig(rateKBps: 0))
        #expect(try config(BandwidthConfig.self, ["rate": .string("250")]).rateKBps == 250)
        #expect(rejectedField(BandwidthConfig.self, ["rate": .int(-1)]) == "rate")
        #expect(rejectedField(BandwidthConfig.self, ["rate": .int(BandwidthConfig.maxRateKBps + 1)]) == "rate")
        #expect(rejectedField(BandwidthConfig.self, ["rate": .double(1.5)]) == "rate")
        #expect(rejectedField(BandwidthConfig.self, ["rate": .bool(true)]) == "rate")
        #expect(try config(BandwidthConfig.self, ["rate": .int(7)]).attributes == ["rate": .int(7)])
    }
}
