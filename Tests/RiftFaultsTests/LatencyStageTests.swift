import NIOCore
import RiftCore
import RiftFaults
import Testing

@Suite struct LatencyStageTests {
    @Test func everyChunkWaitsTheLatencyAndOrderIsKept() throws {
        let h = try StageHarness(LatencyConfig(latencyMs: 100))
        try h.write("a")
        h.advance(ms: 30)
        try h.write("b")
        h.advance(ms: 69)
        #expect(h.bytes.isEmpty)
        h.advance(ms: 1)
        #expect(h.text == "a")
        h.advance(ms: 29)
        #expect(h.text == "a")
        h.advance(ms: 1)
        #expect(h.text == "ab")
        #expect(h.log.map(\.atMs) == [100, 130])
    }

    @Test func eofWaitsBehindDataAndTheLatency() throws {
        let h = try StageHarness(LatencyConfig(latencyMs: 50))
        try h.write("x")
        h.advance(ms: 10)
        h.inputClosed()
        h.advance(ms: 40)
        #expect(h.arrivals == [.data([120])])
        h.advance(ms: 10)
        #expect(h.arrivals == [.data([120]), .inputClosed])
        #expect(h.log.map(\.atMs) == [50, 60])
    }

    @Test func removalMidStreamFlushesHeldBytesInOrder() throws {
        let h = try StageHarness(LatencyConfig(latencyMs: 1000))
        try h.write(pattern(10))
        h.advance(ms: 400)
        try h.write(pattern(10, from: 10))
        h.advance(ms: 600)
        #expect(h.bytes == pattern(10))
        try h.remove()
        #expect(h.bytes == pattern(20))
        h.advance(ms: 5000)
        #expect(h.bytes == pattern(20))
    }

    @Test func jitterStaysInRangeAndIsReproducibleFromTheSeed() throws {
        func delays(seed: UInt64, distribution: String) -> [Int64] {
            var policy = LatencyPolicy(config: LatencyConfig(latencyMs: 100, jitterMs: 20, distribution: distribution), random: SeededRandom(seed: seed))
            return (0..<500).map { _ in policy.sampleNanoseconds() }
        }
        let uniform = delays(seed: 7, distribution: "uniform")
        #expect(uniform == delays(seed: 7, distribution: "uniform"))
        #expect(uniform != delays(seed: 8, distribution: "uniform"))
        #expect(uniform.allSatisfy { (80_000_000...120_000_000).contains($0) })
        for distribution in LatencyConfig.distributions {
            #expect(delays(seed: 3, distribution: distribution).allSatisfy { $0 >= 0 })
        }
    }

    @Test func attributes() throws {
        let c = try config(LatencyConfig.self, ["latency": .int(5), "jitter": .double(2), "distribution": .string("Normal")])
        #expect(c == LatencyConfig(latencyMs: 5, jitterMs: 2, distribution: "normal"))
        #expect(try config(LatencyConfig.self) == LatencyConfig(latencyMs: 0))
        #expect(rejectedField(LatencyConfig.self, ["latency": .int(-1)]) == "latency")
        #expect(rejectedField(LatencyConfig.self, ["jitter": .string("lots")]) == "jitter")
        #expect(rejectedField(LatencyConfig.self, ["distribution": .string("gamma")]) == "distribution")
    }
}

@Suite struct LatencyBackpressureTests {
    @Test func aLongLatencyWithManyBytesStopsReadingUntilTheyLeave() throws {
        let h = try StageHarness(LatencyConfig(latencyMs: 1_000))
        for i in 0..<12 {
            try h.write(pattern(100_000, from: i))
            h.advance(ms: 10)
        }
        h.read()
        #expect(h.reads == 0, "1.2 MB held, above the 1 MiB mark")
        h.advance(ms: 930)  // t = 1050: 6 chunks gone, 600 kB held, above the 512 KiB low mark
        #expect(h.reads == 0)
        h.advance(ms: 10)   // t = 1060: 7 chunks gone, 500 kB held
        #expect(h.reads == 1)
    }
}
