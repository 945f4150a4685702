import NIOCore
import RiftCore
import RiftFaults
import Testing

/// Per-segment delays (ms) the loss policy gives `bytes` bytes in one chunk, with segment = 1 byte.
private func byteDelays(_ config: LossConfig, seed: UInt64, bytes: Int) -> [Int64] {
    var policy = LossPolicy(config: config, random: SeededRandom(seed: seed))
    var actions: [StageAction] = []
    let now = NIODeadline.uptimeNanoseconds(0)
    policy.transform(ByteBuffer(bytes: pattern(bytes)), now: now, into: &actions)
    var delays: [Int64] = []
    for action in actions {
        guard case .pass(let slice, let at) = action else { Issue.record("loss must only pass"); continue }
        let ms = Int64((at.uptimeNanoseconds - now.uptimeNanoseconds) / 1_000_000)
        delays.append(contentsOf: repeatElement(ms, count: slice.readableBytes))
    }
    return delays
}

/// A ±5σ range for a binomial count: wide enough never to flake across seeds, narrow
/// enough to catch a wrong rate.
private func binomialRange(trials: Int, p: Double) -> ClosedRange<Int> {
    let mean = Double(trials) * p
    let sigma = (Double(trials) * p * (1 - p)).squareRoot()
    return Int((mean - 5 * sigma).rounded(.down))...Int((mean + 5 * sigma).rounded(.up))
}

@Suite struct LossStageTests {
    @Test func backoffDoublesAndIsCapped() {
        let c = LossConfig(rate: 0.5, rtoMs: 200)
        #expect((0...7).map { c.delayMs(afterLosses: $0) } == [0, 200, 600, 1_400, 3_000, 6_200, 12_600, 25_400])
        // Waits stop doubling at 64 × rto (12.8 s) and stop counting after 16 losses.
        #expect(c.delayMs(afterLosses: 16) == 12_600 + 10 * 12_800)
        #expect(c.delayMs(afterLosses: 40) == c.delayMs(afterLosses: 16))
        // A large rto is capped at 60 s per wait.
        #expect(LossConfig(rate: 1, rtoMs: 40_000).delayMs(afterLosses: 3) == 40_000 + 60_000 + 60_000)
    }

    @Test func noLossPassesAtOnceInOneSlice() throws {
        let h = try StageHarness(LossConfig(rate: 0, segmentBytes: 100))
        try h.write(pattern(1_000))
        #expect(h.pieceSizes == [1_000])
        #expect(h.log.map(\.atMs) == [0])
    }

    @Test func certainLossHoldsTheSegmentForTheWholeCappedBackoffExactly() throws {
        let h = try StageHarness(LossConfig(rate: 1, rtoMs: 200, segmentBytes: 100))
        try h.write(pattern(50))
        h.inputClosed()
        h.advance(ms: 140_599)
        #expect(h.arrivals.isEmpty)
        h.advance(ms: 1)
        #expect(h.arrivals == [.data(pattern(50)), .inputClosed])
    }

    @Test func aLateSegmentHoldsEverythingBehindItWithoutAddingTheirLosses() throws {
        // A seed whose first segment is lost twice (300 ms), the second once (100 ms) and
        // the third not at all: all three leave at 300 ms, not 400.
        let config = LossConfig(rate: 0.5, rtoMs: 100, segmentBytes: 10)
        let seed = try #require((1...5_000 as ClosedRange<UInt64>).first { seed in
            let d = byteDelays(config, seed: seed, bytes: 30)
            return [d[0], d[10], d[20]] == [300, 100, 0]
        })
        let h = try StageHarness(config, seed: seed)
        try h.write(pattern(30))
        h.advance(ms: 299)
        #expect(h.bytes.isEmpty, "segments 2 and 3 are held behind segment 1")
        h.advance(ms: 1)
        #expect(h.bytes == pattern(30))
        #expect(h.log.allSatisfy { $0.atMs == 300 })
    }

    @Test func lossRateMatchesTheConfiguredRate() {
        for rate in [0.02, 0.1, 0.3] {
            let delays = byteDelays(LossConfig(rate: rate, rtoMs: 200, segmentBytes: 1), seed: 42, bytes: 20_000)
            let lostOnce = delays.filter { $0 >= 200 }.count
            #expect(binomialRange(trials: 20_000, p: rate).contains(lostOnce), "rate \(rate): \(lostOnce) lost")
            // Retransmissions are lost at the same rate.
            let lostTwice = delays.filter { $0 >= 600 }.count
            #expect(binomialRange(trials: lostOnce, p: rate).contains(lostTwice), "rate \(rate): \(lostTwice) of \(lostOnce) lost again")
            #expect(delays.allSatisfy { [0, 200, 600, 1_400, 3_000, 6_200, 12_600].contains($0) || $0 > 12_600 })
        }
    }

    @Test func correlationMakesBurstsButKeepsTheRate() {
        let rate = 0.1
        for correlation in [0.0, 0.5, 0.9] {
            let delays = byteDelays(LossConfig(rate: rate, correlation: correlation, segmentBytes: 1), seed: 9, bytes: 50_000)
            let lost = delays.map { $0 > 0 }
            var afterLoss = 0, lossAfterLoss = 0
            for i in 1..<lost.count where lost[i - 1] {
                afterLoss += 1
                if lost[i] { lossAfterLoss += 1 }
            }
            // Correlated draws are not independent, so the bounds are looser than binomial.
            let observed = Double(lost.filter { $0 }.count) / Double(lost.count)
            #expect(abs(observed - rate) < rate * 0.5, "corr \(correlation): rate \(observed)")
            let expectedBurst = correlation + (1 - correlation) * rate
            let burst = Double(lossAfterLoss) / Double(afterLoss)
            #expect(abs(burst - expectedBurst) < 0.05, "corr \(correlation): loss after loss \(burst), expected \(expectedBurst)")
            // Retransmissions of a lost segment are lost again at the same conditional rate.
            let lostAgain = Double(delays.filter { $0 >= 600 }.count) / Double(lost.filter { $0 }.count)
            #expect(abs(lostAgain - expectedBurst) < 0.05, "corr \(correlation): lost again \(lostAgain)")
        }
    }

    @Test func theSameSeedGivesTheSameDelays() {
        let c = LossConfig(rate: 0.2, correlation: 0.3, segmentBytes: 1)
        #expect(byteDelays(c, seed: 5, bytes: 5_000) == byteDelays(c, seed: 5, bytes: 5_000))
        #expect(byteDelays(c, seed: 5, bytes: 5_000) != byteDelays(c, seed: 6, bytes: 5_000))
    }

    @Test func removalFlushesHeldSegmentsInOrder() throws {
        let h = try StageHarness(LossConfig(rate: 0.5, segmentBytes: 7), seed: 3)
        var sent: [UInt8] = []
        for i in 0..<20 {
            try h.write(pattern(50, from: i * 50))
            sent += pattern(50, from: i * 50)
            h.advance(ms: 37)
        }
        h.inputClosed()
        try h.remove()
        #expect(h.bytes == sent)
        #expect(h.arrivals.last == .inputClosed)
    }

    @Test func attributes() throws {
        #expect(try config(LossConfig.self) == LossConfig(rate: 0.01, correlation: 0, rtoMs: 200, segmentBytes: 1448))
        let c = try config(LossConfig.self, ["rate": .string("0.25"), "correlation": .int(1), "rto": .int(50), "segment": .int(536)])
        #expect(c == LossConfig(rate: 0.25, correlation: 1, rtoMs: 50, segmentBytes: 536))
        #expect(try config(LossConfig.self, c.attributes) == c)
        #expect(rejectedField(LossConfig.self, ["rate": .double(1.5)]) == "rate")
        #expect(rejectedField(LossConfig.self, ["rate": .double(.nan)]) == "rate")
        #expect(rejectedField(LossConfig.self, ["correlation": .double(-0.1)]) == "correlation")
        #expect(rejectedField(LossConfig.self, ["rto": .int(0)]) == "rto")
        #expect(rejectedField(LossConfig.self, ["segment": .int(0)]) == "segment")
        #expect(rejectedField(LossConfig.self, ["segment": .bool(true)]) == "segment")
    }
}
