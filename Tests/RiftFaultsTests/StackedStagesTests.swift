import NIOCore
import NIOEmbedded
import RiftCore
import RiftFaults
import Testing

/// Faults stack on one direction as consecutive handlers; the proxy adds and removes them
/// one at a time while bytes flow.
@Suite struct StackedStagesTests {
    private func env(_ seed: UInt64) -> FaultStageEnvironment {
        FaultStageEnvironment(random: SeededRandom(seed: seed), direction: .downstream, connectionID: 1)
    }

    @Test func latencyThenBandwidthAddUpAndRemovingEitherKeepsTheStream() throws {
        let channel = EmbeddedChannel()
        let recorder = ArrivalRecorder()
        let ops = channel.pipeline.syncOperations
        try ops.addHandler(LatencyConfig(latencyMs: 100).makeHandler(env(1))!, name: "latency")
        try ops.addHandler(BandwidthConfig(rateKBps: 10).makeHandler(env(2))!, name: "bandwidth")
        try ops.addHandler(recorder)

        // 1000 bytes: 100 ms of latency, then 100 ms at 10 KB/s.
        try channel.writeInbound(ByteBuffer(bytes: pattern(1_000)))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(199))
        #expect(recorder.log.isEmpty)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(recorder.log.map(\.atMs) == [200])

        // More bytes, then the latency stage goes while they are in it: they move on to
        // the bandwidth stage at once and keep their place.
        try channel.writeInbound(ByteBuffer(bytes: pattern(2_000, from: 1_000)))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(50))
        try ops.removeHandler(name: "latency").wait()
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(99))
        #expect(recorder.log.count == 1)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(recorder.log.map(\.atMs) == [200, 350])  // first 1000-byte piece at 250 + 100
        try ops.removeHandler(name: "bandwidth").wait()
        let bytes = recorder.log.flatMap { entry -> [UInt8] in
            if case .data(let b) = entry.arrival { return b }
            return []
        }
        #expect(bytes == pattern(3_000))
        #expect(recorder.log.last?.arrival == .inputClosed)
    }

    @Test func aHeldReadIsReleasedThroughEveryStage() throws {
        let channel = EmbeddedChannel()
        let counter = ReadCounter()
        let ops = channel.pipeline.syncOperations
        try ops.addHandler(counter)
        try ops.addHandler(LatencyConfig(latencyMs: 10).makeHandler(env(1))!, name: "latency")
        try ops.addHandler(BlackholeConfig().makeHandler(env(2))!, name: "blackhole")
        try ops.addHandler(ArrivalRecorder())
        try channel.writeInbound(ByteBuffer(bytes: pattern(1_200_000)))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(10))
        channel.pipeline.read()
        #expect(counter.reads == 0, "the blackhole withholds the read")
        try ops.removeHandler(name: "blackhole").wait()
        #expect(counter.reads == 1)
    }
}
