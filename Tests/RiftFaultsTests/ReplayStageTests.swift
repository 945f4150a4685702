import NIOCore
import NIOEmbedded
import RiftCore
import RiftFaults
import RiftWire
import Testing

private func resp(_ args: String...) -> String {
    String(decoding: RESPRequestEncoder.bytes(args), as: UTF8.self)
}

@Suite struct ReplayStageTests {
    @Test func aMatchingSetIsSentAgainAfterTheDelayByteForByte() throws {
        let h = try StageHarness(ReplayConfig(delayMs: 100, match: FrameMatch(commands: ["SET"])), direction: .upstream)
        let set1 = resp("SET", "k", "1")
        try h.write(set1 + resp("GET", "k"))
        #expect(h.text == set1 + resp("GET", "k"))
        h.advance(ms: 99)
        try h.write(resp("SET", "k", "2"))
        #expect(h.text == set1 + resp("GET", "k") + resp("SET", "k", "2"))
        h.advance(ms: 1)
        #expect(h.text == set1 + resp("GET", "k") + resp("SET", "k", "2") + set1)
        #expect(h.log.map(\.atMs) == [0, 0, 99, 100])
    }

    @Test func theReplyToTheCopyIsSwallowedUnderPipelining() throws {
        let stage = FrameStageHandler(match: FrameMatch(commands: ["SET"]), effect: .replay(after: .milliseconds(10)),
                                      environment: FaultStageEnvironment(random: SeededRandom(seed: 1), direction: .upstream, connectionID: 1))
        let h = try StageHarness(stage)
        try h.write(resp("SET", "k", "1") + resp("GET", "k"))
        h.advance(ms: 10)
        // Sent after the copy: its reply comes after the copy's.
        try h.write(resp("GET", "k"))
        #expect(stage.pendingSwallows == 1)
        // Replies split across writes: SET's, GET's, the copy's (swallowed), GET's.
        try serverReply(h, "+OK\r\n$1\r\n1")
        try serverReply(h, "\r\n+O")
        #expect(try outbound(h) == "+OK\r\n$1\r\n1\r\n")
        try serverReply(h, "K\r\n$1\r\n1\r\n")
        #expect(try outbound(h) == "$1\r\n1\r\n")
        #expect(stage.pendingSwallows == 0)
    }

    @Test func aReplyBegunBeforeTheCopyWentIsNotTakenForItsReply() throws {
        let h = try StageHarness(ReplayConfig(delayMs: 10, match: FrameMatch(commands: ["SET"])), direction: .upstream)
        try h.write(resp("SET", "k", "1"))
        try serverReply(h, "+OK\r\n")
        // A reply to a request from before the stage (untracked) starts arriving...
        try serverReply(h, "$1\r\n")
        #expect(try outbound(h) == "+OK\r\n$1\r\n")
        // ...the copy goes, and the rest of that reply is still the client's.
        h.advance(ms: 10)
        try serverReply(h, "x\r\n")
        #expect(try outbound(h) == "x\r\n")
        try serverReply(h, "+OK\r\n")
        #expect(try outbound(h) == "")
    }

    @Test func pushesBetweenRepliesPassAndAreNotCounted() throws {
        let h = try StageHarness(ReplayConfig(delayMs: 0, match: FrameMatch(commands: ["SET"])), direction: .upstream)
        try h.write(resp("SET", "k", "1"))
        h.advance(ms: 0)
        h.channel.embeddedEventLoop.run()
        #expect(h.text == resp("SET", "k", "1") + resp("SET", "k", "1"))
        let push = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
        try serverReply(h, "+OK\r\n" + push + "+OK\r\n")
        #expect(try outbound(h) == "+OK\r\n" + push)
    }

    @Test func memcachedSetAndNoreply() throws {
        let stage = FrameStageHandler(match: FrameMatch(commands: ["SET"], wireProtocol: .memcached), effect: .replay(after: .milliseconds(5)),
                                      environment: FaultStageEnvironment(random: SeededRandom(seed: 1), direction: .upstream, connectionID: 1))
        let h = try StageHarness(stage)
        try h.write("set a 0 0 1\r\nx\r\nset b 0 0 1 noreply\r\ny\r\nget a\r\n")
        h.advance(ms: 5)
        #expect(h.text == "set a 0 0 1\r\nx\r\nset b 0 0 1 noreply\r\ny\r\nget a\r\nset a 0 0 1\r\nx\r\nset b 0 0 1 noreply\r\ny\r\n")
        // Only the copy of `set a` owes a reply.
        #expect(stage.pendingSwallows == 1)
        try serverReply(h, "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nSTORED\r\n")
        #expect(try outbound(h) == "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n")
    }

    @Test func metaQuietModeIsNotReplayed() throws {
        let stage = FrameStageHandler(match: FrameMatch(commands: ["MS"], wireProtocol: .memcached), effect: .replay(after: .milliseconds(5)),
                                      environment: FaultStageEnvironment(random: SeededRandom(seed: 1), direction: .upstream, connectionID: 1))
        let h = try StageHarness(stage)
        try h.write("ms k 1 q\r\nx\r\nmn\r\n")
        h.advance(ms: 5)
        #expect(h.text == "ms k 1 q\r\nx\r\nmn\r\n")
        #expect(stage.scheduledReplays == 0)
    }

    @Test func removalDropsUnsentCopiesAndStillSwallowsSentOnes() throws {
        let stage = FrameStageHandler(match: FrameMatch(commands: ["SET"]), effect: .replay(after: .milliseconds(10)),
                                      environment: FaultStageEnvironment(random: SeededRandom(seed: 1), direction: .upstream, connectionID: 1))
        let h = try StageHarness(stage)
        try h.write(resp("SET", "a", "1"))
        h.advance(ms: 5)
        try h.write(resp("SET", "b", "1"))
        h.advance(ms: 5)
        // The copy of `SET a` went; the copy of `SET b` is due in 5 ms.
        #expect(stage.pendingSwallows == 1 && stage.scheduledReplays == 1)
        let removed = h.channel.pipeline.syncOperations.removeHandler(name: "stage")
        // The stage waits for the reply it owes; requests pass straight on meanwhile.
        try h.write(resp("GET", "a"))
        h.advance(ms: 100)
        #expect(h.text == resp("SET", "a", "1") + resp("SET", "b", "1") + resp("SET", "a", "1") + resp("GET", "a"))
        try serverReply(h, "+OK\r\n+OK\r\n+OK\r\n$1\r\n1\r\n")
        #expect(try outbound(h) == "+OK\r\n+OK\r\n$1\r\n1\r\n")
        try removed.wait()
        #expect(stage.pendingSwallows == 0)
    }

    @Test func removalGiveUpAfterTheGrace() throws {
        let h = try StageHarness(ReplayConfig(delayMs: 0, match: FrameMatch(commands: ["SET"])), direction: .upstream)
        try h.write(resp("SET", "a", "1"))
        h.advance(ms: 0)
        let removed = h.channel.pipeline.syncOperations.removeHandler(name: "stage")
        var done = false
        removed.whenSuccess { done = true }
        h.advance(ms: 4999)
        #expect(!done)
        h.advance(ms: 1)
        #expect(done)
        try serverReply(h, "+OK\r\n+OK\r\n")
        #expect(try outbound(h) == "+OK\r\n+OK\r\n")
    }

    @Test func eofWaitsForDueCopies() throws {
        let h = try StageHarness(ReplayConfig(delayMs: 20, match: FrameMatch(commands: ["SET"])), direction: .upstream)
        try h.write(resp("SET", "a", "1"))
        h.inputClosed()
        #expect(h.arrivals.count == 1)
        h.advance(ms: 20)
        #expect(h.arrivals == [.data(Array(resp("SET", "a", "1").utf8)), .data(Array(resp("SET", "a", "1").utf8)), .inputClosed])
    }

    @Test func attributesAreCheckedAndDefaultToWrites() throws {
        let config = try ReplayConfig(attributes: ["delay_ms": .int(250)])
        #expect(config.delayMs == 250 && config.match.commands == ["SET", "MS"])
        #expect(try ReplayConfig(attributes: config.attributes) == config)
        #expect(rejectedField(ReplayConfig.self, ["delay_ms": .int(-1)]) == "delay_ms")
        #expect(rejectedField(ReplayConfig.self, ["delay_ms": .string("soon")]) == "delay_ms")
        #expect(config.makeHandler(FaultStageEnvironment(random: SeededRandom(seed: 1), direction: .downstream, connectionID: 1)) == nil)
        #expect(FaultRegistry.type(named: "replay") != nil)
    }
}
