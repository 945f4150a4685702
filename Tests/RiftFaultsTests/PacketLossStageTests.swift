import NIOCore
import RiftCore
import RiftFaults
import Testing

/// Which of `count` one-byte chunks the packet_loss stage drops.
private func drops(_ config: PacketLossConfig, seed: UInt64, count: Int) throws -> [Bool] {
    let h = try StageHarness(config, seed: seed)
    for i in 0..<count { try h.write([UInt8(truncatingIfNeeded: i)]) }
    var result = Array(repeating: true, count: count)
    var position = 0
    // Chunks are 0, 1, 2... mod 256 and arrive in order, so walk both sequences.
    for byte in h.bytes {
        while UInt8(truncatingIfNeeded: position) != byte { position += 1 }
        result[position] = false
        position += 1
    }
    return result
}

@Suite struct PacketLossStageTests {
    @Test func zeroRatePassesEverythingAndFullRateDropsEverything() throws {
        let keep = try StageHarness(PacketLossConfig(lossRate: 0))
        let lose = try StageHarness(PacketLossConfig(lossRate: 1))
        for i in 0..<100 {
            try keep.write(pattern(10, from: i * 10))
            try lose.write(pattern(10, from: i * 10))
        }
        keep.inputClosed()
        lose.inputClosed()
        #expect(keep.bytes == pattern(1_000))
        #expect(lose.arrivals == [.inputClosed])
    }

    @Test func dropRateMatchesTheConfiguredRate() throws {
        let n = 20_000
        let dropped = try drops(PacketLossConfig(lossRate: 0.3), seed: 17, count: n).filter { $0 }.count
        let sigma = (Double(n) * 0.3 * 0.7).squareRoot()
        #expect(abs(Double(dropped) - Double(n) * 0.3) < 5 * sigma, "\(dropped) dropped")
    }

    @Test func correlationRaisesTheDropChanceAfterADrop() throws {
        let d = try drops(PacketLossConfig(lossRate: 0.2, correlation: 0.5), seed: 23, count: 20_000)
        var afterDrop = 0, dropAfterDrop = 0
        for i in 1..<d.count where d[i - 1] {
            afterDrop += 1
            if d[i] { dropAfterDrop += 1 }
        }
        let p = 0.7
        let sigma = (Double(afterDrop) * p * (1 - p)).squareRoot()
        #expect(abs(Double(dropAfterDrop) - Double(afterDrop) * p) < 5 * sigma, "\(dropAfterDrop) of \(afterDrop)")
    }

    @Test func theSameSeedDropsTheSameChunks() throws {
        let c = PacketLossConfig(lossRate: 0.4)
        #expect(try drops(c, seed: 1, count: 2_000) == drops(c, seed: 1, count: 2_000))
        #expect(try drops(c, seed: 1, count: 2_000) != drops(c, seed: 2, count: 2_000))
    }

    @Test func attributes() throws {
        #expect(try config(PacketLossConfig.self) == PacketLossConfig(lossRate: 0.1, correlation: 0))
        let c = try config(PacketLossConfig.self, ["loss_rate": .double(0.5), "correlation": .double(0.25)])
        #expect(c == PacketLossConfig(lossRate: 0.5, correlation: 0.25))
        #expect(try config(PacketLossConfig.self, c.attributes) == c)
        #expect(rejectedField(PacketLossConfig.self, ["loss_rate": .int(2)]) == "loss_rate")
        #expect(rejectedField(PacketLossConfig.self, ["correlation": .string("high")]) == "correlation")
    }
}

@Suite struct PacketLossRemovalTests {
    @Test func afterRemovalEveryChunkPasses() throws {
        let h = try StageHarness(PacketLossConfig(lossRate: 1))
        try h.write("lost")
        try h.remove()
        try h.write("kept")
        h.inputClosed()
        #expect(h.arrivals == [.data(Array("kept".utf8)), .inputClosed])
    }
}
