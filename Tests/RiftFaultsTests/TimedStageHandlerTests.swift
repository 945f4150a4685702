import NIOCore
import NIOEmbedded
import RiftCore
import RiftFaults
import Testing

/// A policy whose decisions the test scripts: each chunk gets the actions `decide` returns.
struct ScriptedPolicy: StagePolicy {
    var decide: (ByteBuffer, NIODeadline) -> [StageAction]
    var endOfStream: (NIODeadline) -> NIODeadline = { $0 }
    var timed: (NIODeadline) -> (FaultDirective, NIODeadline)? = { _ in nil }

    mutating func transform(_ buffer: ByteBuffer, now: NIODeadline, into actions: inout [StageAction]) {
        actions.append(contentsOf: decide(buffer, now))
    }
    mutating func endOfStreamRelease(now: NIODeadline) -> NIODeadline { endOfStream(now) }
    mutating func timedDirective(addedAt now: NIODeadline) -> (FaultDirective, NIODeadline)? { timed(now) }
}

private func delayed(_ ms: Int64) -> ScriptedPolicy {
    ScriptedPolicy(decide: { [.pass($0, at: $1 + .milliseconds(ms))] }, endOfStream: { $0 + .milliseconds(ms) })
}

@Suite struct TimedStageHandlerTests {
    @Test func passDueNowGoesStraightThrough() throws {
        let h = try StageHarness(TimedStageHandler(policy: ScriptedPolicy(decide: { [.pass($0, at: $1)] })))
        try h.channel.writeInbound(ByteBuffer(string: "abc"))
        #expect(h.text == "abc")
        #expect(try h.channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "abc"))
        #expect(try h.channel.readInbound(as: ByteBuffer.self) == nil)
    }

    @Test func delayedBytesLeaveExactlyAtTheirDeadline() throws {
        let h = try StageHarness(TimedStageHandler(policy: delayed(100)))
        try h.write("ab")
        h.advance(ms: 99)
        #expect(h.bytes.isEmpty)
        h.advance(ms: 1)
        #expect(h.text == "ab")
        #expect(h.log.map(\.atMs) == [100])
    }

    @Test func aLaterChunkWithAnEarlierDeadlineWaitsForTheOneAhead() throws {
        var first = true
        let policy = ScriptedPolicy(decide: { buf, now in
            defer { first = false }
            return [.pass(buf, at: now + .milliseconds(first ? 100 : 10))]
        })
        let h = try StageHarness(TimedStageHandler(policy: policy))
        try h.write("1")
        try h.write("2")
        h.advance(ms: 50)
        #expect(h.bytes.isEmpty)
        h.advance(ms: 50)
        #expect(h.text == "12")
        #expect(h.log.map(\.atMs) == [100, 100])
    }

    @Test func dropDiscardsAndHoldKeepsEverythingBehindUntilRemoval() throws {
        var n = 0
        let policy = ScriptedPolicy(decide: { buf, now in
            n += 1
            switch n {
            case 1: return [.drop(buf)]
            case 2: return [.holdUntilRemoved(buf)]
            default: return [.pass(buf, at: now)]
            }
        })
        let h = try StageHarness(TimedStageHandler(policy: policy))
        try h.write("x")
        try h.write("held")
        try h.write("-after")
        h.inputClosed()
        h.advance(ms: 3_600_000)
        #expect(h.arrivals.isEmpty)
        try h.remove()
        #expect(h.arrivals == [.data(Array("held".utf8)), .data(Array("-after".utf8)), .inputClosed])
    }

    @Test func directiveWaitsBehindQueuedBytes() throws {
        var n = 0
        let policy = ScriptedPolicy(decide: { buf, now in
            n += 1
            return n == 1 ? [.pass(buf, at: now + .milliseconds(20))] : [.directive(.close)]
        })
        let h = try StageHarness(TimedStageHandler(policy: policy))
        try h.write("a")
        try h.write("b")
        #expect(h.arrivals.isEmpty)
        h.advance(ms: 20)
        #expect(h.arrivals == [.data([97]), .directive(.close)])
    }

    @Test func directiveWithNothingQueuedIsSentAtOnce() throws {
        let h = try StageHarness(TimedStageHandler(policy: ScriptedPolicy(decide: { _, _ in [.directive(.reset)] })))
        try h.write("a")
        #expect(h.arrivals == [.directive(.reset)])
    }

    @Test func inputClosedAndInactiveTravelBehindTheData() throws {
        let h = try StageHarness(TimedStageHandler(policy: ScriptedPolicy(decide: { [.pass($0, at: $1 + .milliseconds(30))] })))
        try h.write("abc")
        h.inputClosed()
        h.inactive()
        #expect(h.arrivals.isEmpty)
        h.advance(ms: 30)
        #expect(h.arrivals == [.data(Array("abc".utf8)), .inputClosed, .inactive])
    }

    @Test func endOfStreamWaitsForItsOwnDeadline() throws {
        let h = try StageHarness(TimedStageHandler(policy: delayed(40)))
        h.inputClosed()
        h.advance(ms: 39)
        #expect(h.arrivals.isEmpty)
        h.advance(ms: 1)
        #expect(h.arrivals == [.inputClosed])
    }

    @Test func endOfStreamWithNothingHeldPassesAtOnce() throws {
        let h = try StageHarness(TimedStageHandler(policy: ScriptedPolicy(decide: { [.pass($0, at: $1)] })))
        h.inputClosed()
        h.inactive()
        #expect(h.arrivals == [.inputClosed, .inactive])
    }

    @Test func timedDirectiveFiresAtItsTime() throws {
        let policy = ScriptedPolicy(decide: { [.pass($0, at: $1)] }, timed: { (.reset, $0 + .milliseconds(250)) })
        let h = try StageHarness(TimedStageHandler(policy: policy))
        h.advance(ms: 249)
        #expect(h.directives.isEmpty)
        h.advance(ms: 1)
        #expect(h.directives == [.reset])
    }

    @Test func removalFlushesEverythingAtOnceInOrderAndCancelsTimers() throws {
        let policy = ScriptedPolicy(decide: { [.pass($0, at: $1 + .seconds(1))] }, timed: { (.close, $0 + .seconds(5)) })
        let h = try StageHarness(TimedStageHandler(policy: policy))
        try h.write("one,")
        h.advance(ms: 500)
        try h.write("two")
        h.inputClosed()
        try h.remove()
        #expect(h.arrivals == [.data(Array("one,".utf8)), .data(Array("two".utf8)), .inputClosed])
        #expect(h.log.allSatisfy { $0.atMs == 500 })
        h.advance(ms: 10_000)
        #expect(h.arrivals.count == 3, "no timer may deliver anything after removal")
        // After removal the stage is gone: bytes flow straight through.
        try h.write("three")
        #expect(h.text == "one,twothree")
    }

    @Test func readsAreWithheldAboveTheHighWaterMarkAndResumeWhenDrained() throws {
        let handler = TimedStageHandler(policy: delayed(100), highWaterMark: 1000)
        let h = try StageHarness(handler)
        h.read()
        #expect(h.reads == 1)
        try h.write(pattern(600))
        h.read()
        #expect(h.reads == 2, "600 held bytes are below the mark")
        try h.write(pattern(600))
        #expect(handler.heldBytes == 1200)
        h.read()
        h.read()
        #expect(h.reads == 2, "above the mark, read() must not reach the socket")
        h.advance(ms: 100)
        #expect(h.bytes.count == 1200)
        #expect(h.reads == 3, "one pending read is passed on once drained")
    }

    @Test func removalPassesOnAWithheldRead() throws {
        let h = try StageHarness(TimedStageHandler(policy: delayed(100), highWaterMark: 10))
        try h.write(pattern(11))
        h.read()
        #expect(h.reads == 0)
        try h.remove()
        #expect(h.reads == 1)
        #expect(h.bytes == pattern(11))
    }
}
