import NIOCore
import NIOTestUtils
import RiftWire
import Testing

@Suite struct RESPDecoderTests {
    @Test func requestsInEverySplit() throws {
        let pairs: [(String, [RESPFrame])] = [
            ("*1\r\n$4\r\nPING\r\n", [request("*1\r\n$4\r\nPING\r\n", ["PING"])]),
            ("*3\r\n$3\r\nset\r\n$1\r\nk\r\n$5\r\nv\r\nxy\r\n", [request("*3\r\n$3\r\nset\r\n$1\r\nk\r\n$5\r\nv\r\nxy\r\n", ["set", "k", "v\r\nxy"])]),
            ("*2\r\n$3\r\nGET\r\n$0\r\n\r\n*1\r\n$4\r\nINFO\r\n", [
                request("*2\r\n$3\r\nGET\r\n$0\r\n\r\n", ["GET", ""]),
                request("*1\r\n$4\r\nINFO\r\n", ["INFO"]),
            ]),
            ("PING\r\n", [request("PING\r\n", ["PING"], kind: .inline)]),
            ("set  k\tv\n", [request("set  k\tv\n", ["set", "k", "v"], kind: .inline)]),
            ("\r\n", [request("\r\n", [], kind: .inline)]),
            ("*0\r\n", [request("*0\r\n", [])]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(stringInputOutputPairs: pairs) { RESPDecoder(role: .request) }
    }

    @Test func everyRESP3TypeInEverySplit() throws {
        let pairs: [(String, [RESPFrame])] = [
            ("+OK\r\n", [reply("+OK\r\n", .simpleString)]),
            ("-ERR bad\r\n", [reply("-ERR bad\r\n", .error)]),
            (":-42\r\n", [reply(":-42\r\n", .integer)]),
            ("$5\r\nhello\r\n", [reply("$5\r\nhello\r\n", .bulkString)]),
            ("$-1\r\n", [reply("$-1\r\n", .bulkString, null: true)]),
            ("*-1\r\n", [reply("*-1\r\n", .array, null: true)]),
            ("*2\r\n:1\r\n$1\r\na\r\n", [reply("*2\r\n:1\r\n$1\r\na\r\n", .array, count: 2, args: ["1", "a"])]),
            ("_\r\n", [reply("_\r\n", .null)]),
            ("#t\r\n#f\r\n", [reply("#t\r\n", .boolean), reply("#f\r\n", .boolean)]),
            (",3.14\r\n,-inf\r\n,1e10\r\n", [reply(",3.14\r\n", .double), reply(",-inf\r\n", .double), reply(",1e10\r\n", .double)]),
            ("(3492890328409238509324850943850943825024385\r\n", [reply("(3492890328409238509324850943850943825024385\r\n", .bigNumber)]),
            ("!21\r\nSYNTAX invalid syntax\r\n", [reply("!21\r\nSYNTAX invalid syntax\r\n", .blobError)]),
            ("=15\r\ntxt:Some string\r\n", [reply("=15\r\ntxt:Some string\r\n", .verbatimString)]),
            ("%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n:2\r\n", [reply("%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n:2\r\n", .map, count: 2, args: ["a", "1", "b"])]),
            ("~0\r\n", [reply("~0\r\n", .set)]),
            ("|1\r\n+ttl\r\n:3600\r\n*1\r\n+x\r\n", [reply("|1\r\n+ttl\r\n:3600\r\n*1\r\n+x\r\n", .array, count: 1, args: ["x"], attribute: true)]),
            ("*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n", [reply("*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n", .array, count: 2, args: ["1", "2"])]),
            (">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n+OK\r\n", [
                reply(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", .push, count: 3, args: ["message", "ch", "hi"]),
                reply("+OK\r\n", .simpleString),
            ]),
            ("*1\r\n*1\r\n*1\r\n*0\r\n", [reply("*1\r\n*1\r\n*1\r\n*0\r\n", .array, count: 1, args: [""])]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(stringInputOutputPairs: pairs) { RESPDecoder(role: .reply) }
    }

    @Test func partialInputWaitsAndConsumesNothing() throws {
        var parser = RESPParser(role: .reply)
        var buffer = buf("$10\r\nhello")
        #expect(try parser.next(&buffer) == nil)
        #expect(buffer.readableBytes == 10)
        buffer.writeString("world\r")
        #expect(try parser.next(&buffer) == nil)
        buffer.writeString("\n:1")
        #expect(try parser.next(&buffer)?.bytes.text == "$10\r\nhelloworld\r\n")
        #expect(try parser.next(&buffer) == nil)
        buffer.writeString("\r\n")
        #expect(try parser.next(&buffer)?.kind == .integer)
    }

    @Test func keysAndCommands() throws {
        let frames = try parseAllRESP(
            "*3\r\n$3\r\nDel\r\n$1\r\na\r\n$1\r\nb\r\n*5\r\n$4\r\nmset\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
                + "*2\r\n$4\r\nPING\r\n$1\r\nx\r\n*5\r\n$4\r\nEVAL\r\n$1\r\ns\r\n$1\r\n1\r\n$1\r\nk\r\n$1\r\nv\r\nget key\r\n",
            role: .request)
        #expect(frames.map(\.command) == ["DEL", "MSET", "PING", "EVAL", "GET"])
        #expect(frames.map { $0.keys.map(\.text) } == [["a", "b"], ["a", "b"], [], ["k"], ["key"]])
    }

    @Test func keyTableCoversTheCommonShapes() throws {
        func keys(_ args: String...) throws -> [String] {
            let wire = "*\(args.count)\r\n" + args.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
            return try parseAllRESP(wire, role: .request)[0].keys.map(\.text)
        }
        #expect(try keys("BLPOP", "a", "b", "0") == ["a", "b"])
        #expect(try keys("RENAME", "a", "b") == ["a", "b"])
        #expect(try keys("OBJECT", "ENCODING", "k") == ["k"])
        #expect(try keys("PUBLISH", "ch", "m") == [])
        #expect(try keys("EVALSHA", "sha", "0", "x") == [])
        #expect(try keys("HSET", "h", "f", "v") == ["h"])
        #expect(try keys("GET") == [])
    }

    @Test func pubSubMessagesExposeTheirChannel() throws {
        let frames = try parseAllRESP(
            ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n>4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\ncx\r\n$1\r\nm\r\n"
                + ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n",
            role: .reply)
        let messages = frames.map { $0.pubSubMessage().map { "\($0.kind) \($0.channel.text)" } }
        #expect(messages == ["message ch", "pmessage cx", "invalidate __redis__:invalidate", nil])
        #expect(frames[3].pubSubMessage(resp2Arrays: true)?.channel.text == "c")
    }

    @Test func malformedInputGivesExactErrors() {
        #expect(respError("?x\r\n", role: .reply) == .unknownType(UInt8(ascii: "?")))
        #expect(respError("+OK\rX", role: .reply) == .expectedLineFeed(found: UInt8(ascii: "X")))
        #expect(respError("$abc\r\n", role: .reply) == .invalidLength("abc"))
        #expect(respError("$-2\r\n", role: .reply) == .invalidLength("-2"))
        #expect(respError("$3\r\nabcd\r\n", role: .reply) == .missingPayloadTerminator)
        #expect(respError(":12a\r\n", role: .reply) == .invalidScalar(type: UInt8(ascii: ":"), text: "12a"))
        #expect(respError("#x\r\n", role: .reply) == .invalidScalar(type: UInt8(ascii: "#"), text: "x"))
        #expect(respError(",1.2.3\r\n", role: .reply) == .invalidScalar(type: UInt8(ascii: ","), text: "1.2.3"))
        #expect(respError("_x\r\n", role: .reply) == .invalidScalar(type: UInt8(ascii: "_"), text: "x"))
        #expect(respError("=3\r\nabc\r\n", role: .reply) == .invalidScalar(type: UInt8(ascii: "="), text: "abc"))
        #expect(respError("$?\r\n", role: .reply) == .streamedUnsupported)
        #expect(respError("*?\r\n", role: .reply) == .streamedUnsupported)
        #expect(respError("%-1\r\n", role: .reply) == .invalidLength("-1"))
        #expect(respError("*1\r\n:1\r\n", role: .request) == .requestElementNotBulk(found: UInt8(ascii: ":")))
        #expect(respError("*1\r\n$-1\r\n", role: .request) == .invalidLength("-1"))
        let small = WireLimits(maxLineLength: 8, maxBulkLength: 100, maxElements: 10, maxDepth: 3, maxFrameBytes: 1000)
        #expect(respError("+123456789\r\n", role: .reply, limits: small) == .lineTooLong(limit: 8))
        #expect(respError("+123456789", role: .reply, limits: small) == .lineTooLong(limit: 8))
        #expect(respError("+12345678\r\n", role: .reply, limits: small) == nil)
        #expect(respError("+12345678\r", role: .reply, limits: small) == nil)
        #expect(respError("PINGPONG\n", role: .request, limits: small) == nil)
        #expect(respError("PINGPONGX\n", role: .request, limits: small) == .lineTooLong(limit: 8))
        #expect(respError("$101\r\n", role: .reply, limits: small) == .bulkTooLong(101, limit: 100))
        #expect(respError("$999999999999\r\n", role: .reply) == .bulkTooLong(999_999_999_999, limit: 512 * 1024 * 1024))
        #expect(respError("*11\r\n", role: .reply, limits: small) == .tooManyElements(11, limit: 10))
        #expect(respError("%6\r\n", role: .reply, limits: small) == .tooManyElements(6, limit: 10))
        #expect(respError("*1\r\n*1\r\n*1\r\n*1\r\n", role: .reply, limits: small) == .nestingTooDeep(limit: 3))
        #expect(respError("PINGPONGPING\r\n", role: .request, limits: small) == .lineTooLong(limit: 8))
    }

    @Test func aFailedParserStaysFailed() {
        var parser = RESPParser(role: .reply)
        var buffer = buf("?\r\n+OK\r\n")
        #expect(throws: WireParseError.unknownType(UInt8(ascii: "?"))) { try parser.next(&buffer) }
        buffer = buf("+OK\r\n")
        #expect(throws: WireParseError.unknownType(UInt8(ascii: "?"))) { try parser.next(&buffer) }
    }

    @Test func aHugeDeclaredLengthDoesNotAllocate() throws {
        var parser = RESPParser(role: .reply)
        var buffer = buf("$536870912\r\nab")
        let capacity = buffer.capacity
        #expect(try parser.next(&buffer) == nil)
        #expect(buffer.capacity == capacity)
    }
}
