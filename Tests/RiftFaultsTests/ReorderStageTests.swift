import NIOCore
import NIOEmbedded
import RiftCore
import RiftFaults
import RiftWire
import Testing

private func resp(_ args: String...) -> String {
    String(decoding: RESPRequestEncoder.bytes(args), as: UTF8.self)
}

private func push(_ args: String...) -> String {
    ">\(args.count)\r\n" + args.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
}

private func stage(_ config: ReorderConfig, _ direction: StreamDirection, connection: UInt64 = 1, seed: UInt64 = 1, shared: ProxyFaultState = ProxyFaultState()) throws -> StageHarness {
    let env = FaultStageEnvironment(random: SeededRandom(seed: seed), direction: direction, connectionID: connection, faultName: "reorder_test", shared: shared)
    return try StageHarness(try #require(config.makeHandler(env)))
}

/// The pieces delivered, as text.
private func pieces(_ h: StageHarness) -> [String] {
    h.arrivals.compactMap { if case .data(let b) = $0 { return String(decoding: b, as: UTF8.self) } else { return nil } }
}

@Suite struct ReorderPushTests {
    private let pushes = (1...6).map { push("invalidate", "k\($0)") }

    @Test func pushesAreHeldUntilTheCountThenShuffledWhileRepliesPass() throws {
        func run(seed: UInt64) throws -> [String] {
            let h = try stage(ReorderConfig(windowMs: 1000, count: 6, match: FrameMatch(commands: ["invalidate"])), .downstream, seed: seed)
            for (i, p) in pushes.enumerated() {
                try h.write(":\(i)\r\n" + p)
            }
            // Every reply passed at once; the pushes came out together once six were held.
            #expect(Array(pieces(h).prefix(6)) == (0..<6).map { ":\($0)\r\n" })
            #expect(h.log.allSatisfy { $0.atMs == 0 })
            return Array(pieces(h).dropFirst(6))
        }
        let released = try run(seed: 3)
        #expect(released.sorted() == pushes.sorted())
        #expect(try run(seed: 3) == released)
        // Some seed gives another order than the original (a shuffle, not a pass-through).
        #expect(try (1...5).contains { try run(seed: $0) != pushes })
    }

    @Test func theWindowReleasesWhatIsHeld() throws {
        let h = try stage(ReorderConfig(windowMs: 50, match: FrameMatch()), .downstream)
        try h.write(pushes[0])
        h.advance(ms: 30)
        try h.write(pushes[1] + "+OK\r\n")
        #expect(pieces(h) == ["+OK\r\n"])
        h.advance(ms: 19)
        #expect(pieces(h).count == 1)
        h.advance(ms: 1)
        #expect(Set(pieces(h).dropFirst()) == Set(pushes.prefix(2)))
        // A new window starts with the next push.
        try h.write(pushes[2])
        h.advance(ms: 49)
        #expect(pieces(h).count == 3)
        h.advance(ms: 1)
        #expect(pieces(h).last == pushes[2])
    }

    @Test func nonMatchingPushesAreNotHeld() throws {
        let h = try stage(ReorderConfig(windowMs: 50, match: FrameMatch(channelGlob: "news")), .downstream)
        try h.write(push("message", "news", "a") + push("message", "sport", "b"))
        #expect(pieces(h) == [push("message", "sport", "b")])
    }

    @Test func eofAndRemovalPassHeldPushesOnAtOnce() throws {
        let h = try stage(ReorderConfig(windowMs: 1000, match: FrameMatch()), .downstream)
        try h.write(pushes[0] + pushes[1])
        h.inputClosed()
        #expect(h.arrivals.count == 3 && h.arrivals.last == .inputClosed)
        #expect(h.nowMs == 0)

        let r = try stage(ReorderConfig(windowMs: 1000, match: FrameMatch()), .downstream)
        try r.write(pushes[0] + pushes[1] + "*1\r\n$2\r\nOK")
        try r.remove()
        #expect(Set(pieces(r).prefix(2)) == Set(pushes.prefix(2)))
        #expect(pieces(r).last == "*1\r\n$2\r\nOK")
        #expect(r.nowMs == 0)
    }

    @Test func attributesAreChecked() throws {
        let config = try ReorderConfig(attributes: ["window_ms": .int(20), "count": .int(3), "overtake": .int(2), "max_hold_ms": .int(500)])
        #expect(config.windowMs == 20 && config.count == 3 && config.overtake == 2 && config.maxHoldMs == 500)
        #expect(try ReorderConfig(attributes: config.attributes) == config)
        #expect(rejectedField(ReorderConfig.self, ["overtake": .int(0)]) == "overtake")
        #expect(rejectedField(ReorderConfig.self, ["max_hold_ms": .int(0)]) == "max_hold_ms")
        #expect(rejectedField(ReorderConfig.self, ["count": .int(100_000)]) == "count")
        #expect(rejectedField(ReorderConfig.self, ["window_ms": .string("x")]) == "window_ms")
        #expect(FaultRegistry.type(named: "reorder") != nil)
    }
}

@Suite struct ReorderOvertakeTests {
    private let config = ReorderConfig(overtake: 1, maxHoldMs: 1000, match: FrameMatch(commands: ["SET", "DEL"], keyGlob: "k"))

    @Test func aHeldRequestGoesOnceAnotherConnectionsRequestWasAnswered() throws {
        let shared = ProxyFaultState()
        let a = try stage(config, .upstream, connection: 1, shared: shared)
        let b = try stage(config, .upstream, connection: 2, shared: shared)
        // A's SET is held, and the GET pipelined behind it with it.
        try a.write(resp("SET", "k", "1") + resp("GET", "k"))
        #expect(a.bytes.isEmpty)
        // B's DEL passes: one hold at a time.
        try b.write(resp("DEL", "k"))
        #expect(b.text == resp("DEL", "k"))
        a.channel.embeddedEventLoop.run()
        #expect(a.bytes.isEmpty)
        // Sent is not enough: A goes once the server answered B.
        a.advance(ms: 10)
        try b.channel.writeOutbound(ByteBuffer(string: ":1\r\n"))
        a.channel.embeddedEventLoop.run()
        #expect(a.text == resp("SET", "k", "1") + resp("GET", "k"))
        #expect(a.log.map(\.atMs) == [10, 10])
        #expect(!shared.overtakeCoordinator(for: "reorder_test").isHolding)
        // B's reply reached B's client unchanged.
        #expect(try b.channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == ":1\r\n")
    }

    @Test func theHoldEndsAfterMaxHoldAndAnotherMayStart() throws {
        let shared = ProxyFaultState()
        let a = try stage(config, .upstream, connection: 1, shared: shared)
        let b = try stage(config, .upstream, connection: 2, shared: shared)
        try a.write(resp("SET", "k", "1"))
        a.advance(ms: 999)
        #expect(a.bytes.isEmpty)
        a.advance(ms: 1)
        #expect(a.text == resp("SET", "k", "1"))
        // A request A sends meanwhile is not held by A's own earlier hold.
        try b.write(resp("SET", "k", "2"))
        #expect(b.bytes.isEmpty)
        try a.write(resp("DEL", "k"))
        #expect(a.text == resp("SET", "k", "1") + resp("DEL", "k"))
        try a.channel.writeOutbound(ByteBuffer(string: "+OK\r\n:1\r\n"))
        b.channel.embeddedEventLoop.run()
        #expect(b.text == resp("SET", "k", "2"))
    }

    @Test func overtakeCountsSeveralAnswersFromOtherConnectionsOnly() throws {
        let shared = ProxyFaultState()
        let two = ReorderConfig(overtake: 2, maxHoldMs: 1000, match: FrameMatch(commands: ["SET"]))
        let a = try stage(two, .upstream, connection: 1, shared: shared)
        let b = try stage(two, .upstream, connection: 2, shared: shared)
        try a.write(resp("SET", "x", "1") + resp("SET", "y", "1"))
        try b.write(resp("SET", "x", "2") + resp("GET", "x"))
        try b.channel.writeOutbound(ByteBuffer(string: "+OK\r\n$1\r\n2\r\n"))
        a.channel.embeddedEventLoop.run()
        // A GET does not match: one of two answers so far.
        #expect(a.bytes.isEmpty)
        try b.write(resp("SET", "z", "2"))
        try b.channel.writeOutbound(ByteBuffer(string: "+OK\r\n"))
        a.channel.embeddedEventLoop.run()
        #expect(a.text == resp("SET", "x", "1") + resp("SET", "y", "1"))
    }

    @Test func removalPassesTheHeldRequestsOnAndEndsTheHold() throws {
        let shared = ProxyFaultState()
        let a = try stage(config, .upstream, connection: 1, shared: shared)
        try a.write(resp("SET", "k", "1") + "PING\r\n")
        #expect(shared.overtakeCoordinator(for: "reorder_test").isHolding)
        try a.remove()
        #expect(a.text == resp("SET", "k", "1") + "PING\r\n")
        #expect(!shared.overtakeCoordinator(for: "reorder_test").isHolding)
        #expect(a.nowMs == 0)
    }

    @Test func repliesStayPairedThroughAHold() throws {
        let shared = ProxyFaultState()
        let a = try stage(config, .upstream, connection: 1, shared: shared)
        try a.write(resp("GET", "k") + resp("SET", "k", "1") + resp("GET", "k"))
        #expect(a.text == resp("GET", "k"))
        a.advance(ms: 1000)
        #expect(a.text == resp("GET", "k") + resp("SET", "k", "1") + resp("GET", "k"))
        try a.channel.writeOutbound(ByteBuffer(string: "$-1\r\n+OK\r\n$1\r\n1\r\n"))
        var replies = ""
        while let r = try a.channel.readOutbound(as: ByteBuffer.self) { replies += String(buffer: r) }
        #expect(replies == "$-1\r\n+OK\r\n$1\r\n1\r\n")
    }
}
