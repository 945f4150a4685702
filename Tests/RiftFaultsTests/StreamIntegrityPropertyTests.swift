import NIOCore
import RiftCore
import RiftFaults
import Testing

/// The stages that must keep the stream intact: random chunking, random clock advances and
/// removal at a random moment (or never) must deliver exactly the bytes written, in order,
/// with EOF last and nothing before it was written.
@Suite struct StreamIntegrityPropertyTests {
    static let stages: [(String, any FaultStageConfig)] = [
        ("latency", LatencyConfig(latencyMs: 80, jitterMs: 60, distribution: "paretonormal")),
        ("bandwidth", BandwidthConfig(rateKBps: 20)),
        ("slicer", SlicerConfig(averageSize: 200, sizeVariation: 150, delayUs: 3_000)),
        ("loss", LossConfig(rate: 0.3, correlation: 0.4, rtoMs: 50, segmentBytes: 500)),
        ("slow_close", SlowCloseConfig(delayMs: 500)),
        ("blackhole", BlackholeConfig()),
    ]

    @Test(arguments: stages.map(\.0))
    func outputEqualsInputWhateverTheChunkingTimingAndRemoval(name: String) throws {
        let config = Self.stages.first { $0.0 == name }!.1
        for seed in UInt64(1)...40 {
            var rng = SeededRandom(seed: seed, labels: "property", name)
            let env = FaultStageEnvironment(random: SeededRandom(seed: seed), direction: .downstream, connectionID: seed)
            let h = try StageHarness(try #require(config.makeHandler(env)))
            let steps = 25
            let removeAt = Int(rng.next() % UInt64(steps + 1))  // == steps: never removed
            var sent: [UInt8] = []
            var writtenAtMs: [Double] = []
            for step in 0..<steps {
                if step == removeAt { try h.remove() }
                let size = 1 + Int(rng.next() % 4_000)
                let chunk = (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                try h.write(chunk)
                sent += chunk
                writtenAtMs += repeatElement(h.nowMs, count: size)
                if rng.next() % 3 != 0 { h.advance(ms: Int64(rng.next() % 400)) }
            }
            h.inputClosed()
            if removeAt == steps && name == "blackhole" {
                try h.remove()
            } else {
                h.advance(ms: 600_000)
            }
            #expect(h.bytes == sent, "\(name) seed \(seed): \(h.bytes.count) of \(sent.count) bytes, or out of order")
            #expect(h.arrivals.last == .inputClosed, "\(name) seed \(seed): EOF last")
            #expect(h.arrivals.filter { $0 == .inputClosed }.count == 1)
            #expect(h.directives.isEmpty)
            // No byte leaves before it was written.
            var index = 0
            for entry in h.log {
                guard case .data(let bytes) = entry.arrival else { continue }
                #expect(entry.atMs >= writtenAtMs[index + bytes.count - 1], "\(name) seed \(seed): early bytes")
                index += bytes.count
            }
        }
    }
}
