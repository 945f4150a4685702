import NIOCore
import RiftWire
import Testing

/// `RESPReplyDecoder`: every RESP2/RESP3 reply type as a value, fed whole, byte by byte and
/// split at every offset; errors at the limits.
@Suite struct RESPReplyDecoderTests {
    static let cases: [(wire: String, value: RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("-ERR unknown command\r\n", .error("ERR unknown command")),
        (":-42\r\n", .integer(-42)),
        (":9223372036854775807\r\n", .integer(.max)),
        ("$5\r\nhello\r\n", .bulk("hello")),
        ("$0\r\n\r\n", .bulk("")),
        ("$4\r\na\r\nb\r\n", .bulk("a\r\nb")),
        ("$-1\r\n", .bulkString(nil)),
        ("*-1\r\n", .array(nil)),
        ("*0\r\n", .array([])),
        ("*3\r\n:1\r\n$1\r\na\r\n*1\r\n+x\r\n", .array([.integer(1), .bulk("a"), .array([.simpleString("x")])])),
        ("_\r\n", .null),
        ("#t\r\n", .boolean(true)),
        ("#f\r\n", .boolean(false)),
        (",3.25\r\n", .double(3.25)),
        (",-inf\r\n", .double(-.infinity)),
        (",1e10\r\n", .double(1e10)),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("(-12\r\n", .bigNumber("-12")),
        ("!21\r\nSYNTAX invalid syntax\r\n", .error("SYNTAX invalid syntax")),
        ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: Array("Some string".utf8))),
        ("%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n:2\r\n", .map([RESPPair(.simpleString("a"), .integer(1)), RESPPair(.simpleString("b"), .array([.integer(2)]))])),
        ("~2\r\n:1\r\n:2\r\n", .set([.integer(1), .integer(2)])),
        (">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n", .push([.bulk("invalidate"), .array([.bulk("k")])])),
        (">2\r\n$10\r\ninvalidate\r\n_\r\n", .push([.bulk("invalidate"), .null])),
        ("|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n", .attributed(attributes: [RESPPair(.simpleString("ttl"), .integer(3600))], value: .bulk("v"))),
        ("*1\r\n|1\r\n+a\r\n+b\r\n:7\r\n", .array([.attributed(attributes: [RESPPair(.simpleString("a"), .simpleString("b"))], value: .integer(7))])),
    ]

    static func decodeAll(_ chunks: [[UInt8]], limits: WireLimits = .default) throws(WireParseError) -> [RESPReplyDecoder.Reply] {
        try decodeReplies(RESPReplyDecoder.self, chunks, limits: limits)
    }

    @Test(arguments: 0..<cases.count)
    func wholeByteByByteAndSplitAtEveryOffset(_ index: Int) throws {
        try expectEverySplit(RESPReplyDecoder.self, Self.cases[index].wire, Self.cases[index].value)
    }

    @Test func everyCaseBackToBackInOneStream() throws {
        let stream = Self.cases.flatMap { Array($0.wire.utf8) }
        #expect(try Self.decodeAll([stream]) == Self.cases.map(\.value))
        #expect(try Self.decodeAll(stream.map { [$0] }) == Self.cases.map(\.value))
    }

    @Test func nanDecodesAsNaN() throws {
        guard case .double(let d) = try Self.decodeAll([Array(",nan\r\n".utf8)]).first else {
            Issue.record("not a double")
            return
        }
        #expect(d.isNaN)
    }

    @Test func binaryBulkKeepsEveryByte() throws {
        let payload = (0...255).map { UInt8($0) }
        let wire = Array("$256\r\n".utf8) + payload + [13, 10]
        #expect(try Self.decodeAll([wire]) == [.bulkString(payload)])
    }

    @Test func attributesPeelOffForClientsThatIgnoreThem() {
        let inner: RESPValue = .bulk("v")
        let wrapped: RESPValue = .attributed(attributes: [], value: .attributed(attributes: [], value: inner))
        #expect(wrapped.withoutAttributes == inner)
        #expect(inner.withoutAttributes == inner)
    }

    @Test func errorsAtTheLimitsAreTheFrameDecodersErrors() {
        let small = WireLimits(maxLineLength: 8, maxBulkLength: 100, maxElements: 10, maxDepth: 3, maxFrameBytes: 200)
        func error(_ wire: String, _ limits: WireLimits = small) -> WireParseError? {
            replyError(RESPReplyDecoder.self, wire, limits: limits)
        }
        #expect(error("+123456789\r\n") == .lineTooLong(limit: 8))
        #expect(error("$101\r\n") == .bulkTooLong(101, limit: 100))
        #expect(error("*11\r\n") == .tooManyElements(11, limit: 10))
        #expect(error("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n") == .nestingTooDeep(limit: 3))
        #expect(error("$3\r\nabcd\r\n") == .missingPayloadTerminator)
        #expect(error("?\r\n") == .unknownType(UInt8(ascii: "?")))
        #expect(error(":12a\r\n") == .invalidScalar(type: UInt8(ascii: ":"), text: "12a"))
        #expect(error("#x\r\n") == .invalidScalar(type: UInt8(ascii: "#"), text: "x"))
        #expect(error("$?\r\n") == .streamedUnsupported)
        #expect(error("+OK\rX") == .expectedLineFeed(found: UInt8(ascii: "X")))
        // An integer the frame grammar accepts but no Int64 holds.
        #expect(error(":99999999999999999999\r\n", .default) == .invalidScalar(type: UInt8(ascii: ":"), text: "99999999999999999999"))
        // A verbatim string without its format.
        #expect(error("=2\r\nab\r\n", .default) == .invalidScalar(type: UInt8(ascii: "="), text: "ab"))
        #expect(error("+123456789\r\n")?.description == "line longer than 8 bytes")
    }

    @Test func afterAnErrorTheDecoderStaysFailed() {
        var decoder = RESPReplyDecoder()
        var buffer = ByteBuffer(string: "?\r\n+OK\r\n")
        #expect(throws: WireParseError.unknownType(UInt8(ascii: "?"))) { _ = try decoder.next(&buffer) }
        #expect(throws: WireParseError.unknownType(UInt8(ascii: "?"))) { _ = try decoder.next(&buffer) }
    }

    @Test func anIncompleteReplyConsumesNothing() throws {
        var decoder = RESPReplyDecoder()
        var buffer = ByteBuffer(string: "*2\r\n:1\r\n")
        #expect(try decoder.next(&buffer) == nil)
        #expect(buffer.readableBytes == 8)
        buffer.writeString(":2\r\n")
        #expect(try decoder.next(&buffer) == .array([.integer(1), .integer(2)]))
    }
}

@Suite struct RESPRequestEncoderTests {
    @Test func commandsAreArraysOfBulkStringsTheRequestParserReadsBack() throws {
        let commands: [[String]] = [["PING"], ["SET", "k", "a\r\nb"], ["GET", ""], ["CLIENT", "TRACKING", "on"], ["SET", "ключ", "✓"]]
        var buffer = ByteBuffer()
        for c in commands { RESPRequestEncoder.encode(c, into: &buffer) }
        var parser = RESPParser(role: .request)
        for c in commands {
            let frame = try #require(try parser.next(&buffer))
            #expect(frame.arguments.map { String(decoding: $0.readableBytesView, as: UTF8.self) } == c)
            #expect(frame.kind == .array)
        }
        #expect(buffer.readableBytes == 0)
        #expect(RESPRequestEncoder.bytes(["SET", "k", "v"]) == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".utf8))
        #expect(RESPRequestEncoder.bytes([]) == Array("*0\r\n".utf8))
    }

    @Test func binaryArgumentsKeepEveryByte() throws {
        let value = (0...255).map { UInt8($0) }
        var buffer = ByteBuffer()
        RESPRequestEncoder.encode([Array("SET".utf8), Array("k".utf8), value], into: &buffer)
        var parser = RESPParser(role: .request)
        let frame = try #require(try parser.next(&buffer))
        #expect(Array(frame.arguments[2].readableBytesView) == value)
    }
}
