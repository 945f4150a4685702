import NIOCore
import NIOEmbedded
import RiftCore
import RiftFaults
import RiftWire
import Testing

private func env(_ direction: StreamDirection, seed: UInt64 = 1) -> FaultStageEnvironment {
    FaultStageEnvironment(random: SeededRandom(seed: seed), direction: direction, connectionID: 1)
}

private func resp(_ args: String...) -> String {
    String(decoding: RESPRequestEncoder.bytes(args), as: UTF8.self)
}

private func push(_ args: String...) -> String {
    ">\(args.count)\r\n" + args.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
}

/// Writes `text` one byte at a time: frames must not depend on how reads split them.
private func writeBytewise(_ h: StageHarness, _ text: String) throws {
    for byte in text.utf8 { try h.write([byte]) }
}

@Suite struct FrameMatchTests {
    @Test func attributesParseAndEcho() throws {
        let m = try FrameMatch(attributes: ["commands": .string("get, Set"), "key": .string("user:*"), "probability": .double(0.5), "limit": .int(3), "protocol": .string("memcached")])
        #expect(m.commands == ["GET", "SET"])
        #expect(m.keyGlob == "user:*")
        #expect(m.wireProtocol == .memcached)
        #expect(try FrameMatch(attributes: m.attributes) == m)
        #expect(rejectedField(DropFrameConfig.self, ["probability": .double(2)]) == "probability")
        #expect(rejectedField(DropFrameConfig.self, ["protocol": .string("http")]) == "protocol")
        #expect(rejectedField(ErrorReplyConfig.self, ["message": .string("a\r\nb")]) == "message")
    }
}

@Suite struct DropFrameStageTests {
    @Test func aMatchingRequestIsSwallowedAndTheRestIsByteExact() throws {
        let h = try StageHarness(DropFrameConfig(match: FrameMatch(commands: ["get"], keyGlob: "user:*")), direction: .upstream)
        let kept = resp("SET", "user:1", "x") + resp("GET", "other") + "PING\r\n"
        try writeBytewise(h, resp("SET", "user:1", "x") + resp("GET", "user:1") + resp("GET", "other") + "PING\r\n")
        #expect(h.text == kept)
    }

    @Test func aMatchingPushIsRemovedWithoutBreakingTheStream() throws {
        let h = try StageHarness(DropFrameConfig(match: FrameMatch(channelGlob: "news.*")), direction: .downstream)
        try h.write("+OK\r\n" + push("message", "news.uk", "hi") + ":1\r\n" + push("message", "sport", "goal")
            + push("invalidate", "k") + "$1\r\nx\r\n")
        #expect(h.text == "+OK\r\n:1\r\n" + push("message", "sport", "goal") + push("invalidate", "k") + "$1\r\nx\r\n")
    }

    @Test func resp2PubSubMessagesMatchToo() throws {
        let h = try StageHarness(DropFrameConfig(match: FrameMatch(channelGlob: "c")), direction: .downstream)
        try h.write(resp("message", "c", "m") + resp("message", "d", "m") + resp("pmessage", "*", "c", "m"))
        #expect(h.text == resp("message", "d", "m"))
    }

    @Test func invalidatePushesMatchTheirKind() throws {
        let h = try StageHarness(DropFrameConfig(match: FrameMatch(commands: ["invalidate"])), direction: .downstream)
        try h.write(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n" + push("message", "c", "m"))
        #expect(h.text == push("message", "c", "m"))
    }

    @Test func limitAndProbabilityBoundWhatIsDropped() throws {
        let limited = try StageHarness(DropFrameConfig(match: FrameMatch(commands: ["PING"], limit: 2)), direction: .upstream)
        try limited.write(String(repeating: "PING\r\n", count: 5))
        #expect(limited.text == "PING\r\nPING\r\nPING\r\n")
        let never = try StageHarness(DropFrameConfig(match: FrameMatch(probability: 0)), direction: .upstream)
        try never.write(String(repeating: "PING\r\n", count: 5))
        #expect(never.text.utf8.count == 30)
        // Half on average, and the same frames for the same seed.
        func run(_ seed: UInt64) throws -> String {
            let h = try StageHarness(DropFrameConfig(match: FrameMatch(probability: 0.5)), seed: seed, direction: .upstream)
            for i in 0..<200 { try h.write(resp("GET", "k\(i)")) }
            return h.text
        }
        let kept = try run(7).utf8.filter { $0 == UInt8(ascii: "*") }.count
        #expect(kept > 60 && kept < 140)
        #expect(try run(7) == run(7))
    }

    @Test func memcachedRequestsMatchByKey() throws {
        let h = try StageHarness(DropFrameConfig(match: FrameMatch(keyGlob: "a*", wireProtocol: .memcached)), direction: .upstream)
        try writeBytewise(h, "set abc 0 0 2\r\nhi\r\nget b\r\nget x abc\r\ndelete b\r\n")
        #expect(h.text == "get b\r\ndelete b\r\n")
    }

    @Test func unparsableInputFallsBackToForwardingBytes() throws {
        let stage = FrameStageHandler(match: FrameMatch(), effect: .drop, environment: env(.downstream))
        let h = try StageHarness(stage)
        try h.write("+OK\r\n?garbage\r\n")
        try h.write(push("message", "c", "m"))
        #expect(h.text == "+OK\r\n?garbage\r\n" + push("message", "c", "m"))
        #expect(stage.fallbackError == .unknownType(UInt8(ascii: "?")))
    }

    @Test func aPartialFrameWaitsThenPassesOnAtEOFOrRemoval() throws {
        let h = try StageHarness(DropFrameConfig(match: FrameMatch(commands: ["DEL"])), direction: .upstream)
        try h.write("*2\r\n$3\r\nGET\r\n$1\r\n")
        #expect(h.bytes.isEmpty)
        h.inputClosed()
        #expect(h.arrivals == [.data(Array("*2\r\n$3\r\nGET\r\n$1\r\n".utf8)), .inputClosed])

        let r = try StageHarness(DropFrameConfig(match: FrameMatch(commands: ["DEL"])), direction: .upstream)
        try r.write("*1\r\n$4\r\nPI")
        try r.remove()
        #expect(r.text == "*1\r\n$4\r\nPI")
        try r.write("NG\r\n")
        #expect(r.text == "*1\r\n$4\r\nPING\r\n")
    }
}

@Suite struct DelayFrameStageTests {
    @Test func aDelayedRequestHoldsTheRequestsBehindIt() throws {
        let h = try StageHarness(DelayFrameConfig(delayMs: 100, match: FrameMatch(commands: ["GET"])), direction: .upstream)
        try h.write(resp("SET", "k", "v") + resp("GET", "k"))
        h.advance(ms: 10)
        try h.write("PING\r\n")
        #expect(h.text == resp("SET", "k", "v"))
        h.advance(ms: 89)
        #expect(h.text == resp("SET", "k", "v"))
        h.advance(ms: 1)
        #expect(h.text == resp("SET", "k", "v") + resp("GET", "k") + "PING\r\n")
        #expect(h.log.map(\.atMs) == [0, 100, 100])
    }

    @Test func aDelayedPushIsOvertakenAndEOFWaitsForIt() throws {
        let h = try StageHarness(DelayFrameConfig(delayMs: 50, match: FrameMatch()), direction: .downstream)
        try h.write(push("message", "c", "m") + "+OK\r\n")
        #expect(h.text == "+OK\r\n")
        h.inputClosed()
        h.advance(ms: 49)
        #expect(h.arrivals.count == 1)
        h.advance(ms: 1)
        #expect(h.arrivals == [.data(Array("+OK\r\n".utf8)), .data(Array(push("message", "c", "m").utf8)), .inputClosed])
    }

    @Test func removalPassesDelayedFramesOnAtOnce() throws {
        let h = try StageHarness(DelayFrameConfig(delayMs: 1000, match: FrameMatch()), direction: .upstream)
        try h.write("PING\r\nPING\r\n")
        #expect(h.bytes.isEmpty)
        try h.remove()
        #expect(h.text == "PING\r\nPING\r\n")
        #expect(h.nowMs == 0)
    }

    @Test func readsStopAboveTheHighWaterMark() throws {
        let stage = FrameStageHandler(match: FrameMatch(), effect: .delay(.milliseconds(10)), environment: env(.upstream), highWaterMark: 20)
        let h = try StageHarness(stage)
        h.read()
        #expect(h.reads == 1)
        try h.write(String(repeating: "PING\r\n", count: 4))
        #expect(stage.heldBytes == 24)
        h.read()
        #expect(h.reads == 1)
        h.advance(ms: 10)
        #expect(h.reads == 2)
        #expect(stage.heldBytes == 0)
    }
}

@Suite struct ErrorReplyStageTests {
    @Test func anIdleConnectionGetsTheErrorAtOnce() throws {
        let h = try StageHarness(ErrorReplyConfig(match: FrameMatch(commands: ["GET"])), direction: .upstream)
        try h.write(resp("GET", "k"))
        #expect(h.bytes.isEmpty)
        #expect(try outbound(h) == "-ERR injected by rift\r\n")
    }

    @Test func aPipelinedErrorWaitsForTheRepliesAheadOfIt() throws {
        let h = try StageHarness(ErrorReplyConfig(message: "ERR nope", match: FrameMatch(keyGlob: "b")), direction: .upstream)
        try h.write(resp("GET", "a") + resp("GET", "b") + resp("GET", "c"))
        #expect(h.text == resp("GET", "a") + resp("GET", "c"))
        #expect(try outbound(h) == "")
        try serverReply(h, push("message", "ch", "x") + "$2\r\nA")
        try serverReply(h, "A\r\n$2\r\nCC\r\n")
        #expect(try outbound(h) == push("message", "ch", "x") + "$2\r\nAA\r\n-ERR nope\r\n$2\r\nCC\r\n")
    }

    @Test func memcachedGetsServerErrorAndNoreplyIsSwallowed() throws {
        let h = try StageHarness(ErrorReplyConfig(message: "boom", match: FrameMatch(commands: ["set", "get"], wireProtocol: .memcached)), direction: .upstream)
        try h.write("set k 0 0 1 noreply\r\nx\r\nget k\r\n")
        #expect(h.bytes.isEmpty)
        #expect(try outbound(h) == "SERVER_ERROR boom\r\n")
    }

    @Test func aSubscriptionEndsPairingAndErrorsGoOutAtOnce() throws {
        let h = try StageHarness(ErrorReplyConfig(match: FrameMatch(commands: ["GET"])), direction: .upstream)
        try h.write(resp("PING") + resp("CLIENT", "SETNAME", "n") + resp("GET", "x"))
        #expect(try outbound(h) == "")
        try h.write(resp("SUBSCRIBE", "c"))
        #expect(try outbound(h) == "-ERR injected by rift\r\n")
        try h.write(resp("GET", "y"))
        #expect(try outbound(h) == "-ERR injected by rift\r\n")
    }

    @Test func removalWritesPendingErrors() throws {
        let h = try StageHarness(ErrorReplyConfig(match: FrameMatch(commands: ["GET"])), direction: .upstream)
        try h.write(resp("PING") + resp("GET", "x"))
        try h.remove()
        #expect(try outbound(h) == "-ERR injected by rift\r\n")
    }

    @Test func theDefaultMessageSuitsTheProtocol() throws {
        #expect(String(buffer: try ErrorReplyConfig(attributes: [:]).replyBytes) == "-ERR injected by rift\r\n")
        #expect(String(buffer: try ErrorReplyConfig(attributes: ["protocol": .string("memcached")]).replyBytes) == "SERVER_ERROR injected by rift\r\n")
    }

    @Test func downstreamInstallsNoStage() {
        #expect(ErrorReplyConfig(match: FrameMatch()).makeHandler(env(.downstream)) == nil)
    }
}
