import RiftTestSupport
import Testing

@Suite struct RESPParserTests {
    /// Hand-written wire bytes and the value each must parse to: every RESP2 and RESP3 type.
    static let cases: [(wire: String, value: RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":9223372036854775807\r\n", .integer(.max)),
        ("$5\r\nhello\r\n", .bulk("hello")),
        ("$0\r\n\r\n", .bulkString([])),
        ("$4\r\na\r\nb\r\n", .bulk("a\r\nb")),
        ("$-1\r\n", .bulkString(nil)),
        ("*0\r\n", .array([])),
        ("*-1\r\n", .array(nil)),
        ("*3\r\n:1\r\n$1\r\nx\r\n*1\r\n+nested\r\n", .array([.integer(1), .bulk("x"), .array([.simpleString("nested")])])),
        ("_\r\n", .null),
        ("#t\r\n", .boolean(true)),
        ("#f\r\n", .boolean(false)),
        (",3.25\r\n", .double(3.25)),
        (",-1e-3\r\n", .double(-0.001)),
        (",10\r\n", .double(10)),
        (",inf\r\n", .double(.infinity)),
        (",-inf\r\n", .double(-.infinity)),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("(-12\r\n", .bigNumber("-12")),
        ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: Array("Some string".utf8))),
        ("!21\r\nSYNTAX invalid syntax\r\n", .error("SYNTAX invalid syntax")),
        ("%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n#f\r\n",
         .map([RESPPair(.simpleString("first"), .integer(1)), RESPPair(.bulk("second"), .boolean(false))])),
        ("%0\r\n", .map([])),
        ("~3\r\n+orange\r\n+apple\r\n#t\r\n", .set([.simpleString("orange"), .simpleString("apple"), .boolean(true)])),
        (">3\r\n+message\r\n+chan\r\n$3\r\nmsg\r\n", .push([.simpleString("message"), .simpleString("chan"), .bulk("msg")])),
        ("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.1923\r\n*2\r\n:2039123\r\n:9543892\r\n",
         .attributed(
            attributes: [RESPPair(.simpleString("key-popularity"), .map([RESPPair(.bulk("a"), .double(0.1923))]))],
            value: .array([.integer(2_039_123), .integer(9_543_892)]))),
    ]

    @Test(arguments: 0..<cases.count)
    func parsesWholeInput(_ index: Int) throws {
        let (wire, expected) = Self.cases[index]
        var parser = RESPParser()
        parser.append(Array(wire.utf8))
        #expect(try parser.next() == expected, "\(wire.debugDescription)")
        #expect(try parser.next() == nil)
        #expect(parser.bufferedByteCount == 0)
    }

    /// Every type, split at every byte boundary: nothing is returned until the value is
    /// complete, and then exactly the value.
    @Test(arguments: 0..<cases.count)
    func parsesInputSplitAtEveryBoundary(_ index: Int) throws {
        let (wire, expected) = Self.cases[index]
        let bytes = Array(wire.utf8)
        for split in 1..<bytes.count {
            var parser = RESPParser()
            parser.append(bytes[..<split])
            #expect(try parser.next() == nil, "split \(split) of \(wire.debugDescription)")
            parser.append(bytes[split...])
            #expect(try parser.next() == expected, "split \(split) of \(wire.debugDescription)")
        }
    }

    @Test func parsesAllTypesFedOneByteAtATime() throws {
        let stream = Self.cases.flatMap { Array($0.wire.utf8) }
        var parser = RESPParser()
        var values: [RESPValue] = []
        for byte in stream {
            parser.append([byte])
            while let value = try parser.next() { values.append(value) }
        }
        #expect(values == Self.cases.map(\.value))
    }

    @Test func binaryBulkStringsKeepEveryByte() throws {
        let payload = (0...255).map { UInt8($0) } + [13, 10, 13, 10]
        var parser = RESPParser()
        parser.append(Array("$\(payload.count)\r\n".utf8) + payload + [13, 10])
        #expect(try parser.next() == .bulkString(payload))
    }

    @Test func nanParsesAsNaN() throws {
        var parser = RESPParser()
        parser.append(Array(",nan\r\n".utf8))
        guard case .double(let value) = try parser.next() else {
            Issue.record("not a double")
            return
        }
        #expect(value.isNaN)
    }

    @Test func malformedInputThrowsTheExactError() {
        func parse(_ wire: String) throws(RESPParser.ProtocolError) -> RESPValue? {
            var parser = RESPParser()
            parser.append(Array(wire.utf8))
            return try parser.next()
        }
        #expect(throws: RESPParser.ProtocolError.unknownType(UInt8(ascii: "?"))) { try parse("?x\r\n") }
        #expect(throws: RESPParser.ProtocolError.invalidInteger("12a")) { try parse(":12a\r\n") }
        #expect(throws: RESPParser.ProtocolError.invalidLength("-2")) { try parse("$-2\r\n") }
        #expect(throws: RESPParser.ProtocolError.invalidLength("-1")) { try parse("~-1\r\n") }
        #expect(throws: RESPParser.ProtocolError.invalidBoolean("x")) { try parse("#x\r\n") }
        #expect(throws: RESPParser.ProtocolError.invalidDouble("1.2.3")) { try parse(",1.2.3\r\n") }
        #expect(throws: RESPParser.ProtocolError.missingCRLF) { try parse("$3\r\nabcde\r\n") }
        #expect(throws: RESPParser.ProtocolError.missingCRLF) { try parse("+OK\n") }
        #expect(throws: RESPParser.ProtocolError.invalidVerbatim) { try parse("=3\r\ntxt\r\n") }
    }

    @Test func limitsStopRunawayInput() {
        var limits = RESPParser.Limits()
        limits.maxBulkLength = 10
        limits.maxElements = 3
        limits.maxDepth = 2
        limits.maxLineLength = 8
        func parse(_ wire: String) throws(RESPParser.ProtocolError) -> RESPValue? {
            var parser = RESPParser(limits: limits)
            parser.append(Array(wire.utf8))
            return try parser.next()
        }
        #expect(throws: RESPParser.ProtocolError.bulkTooLong(11)) { try parse("$11\r\n") }
        #expect(throws: RESPParser.ProtocolError.tooManyElements(4)) { try parse("*4\r\n") }
        #expect(throws: RESPParser.ProtocolError.nestingTooDeep) { try parse("*1\r\n*1\r\n*1\r\n:1\r\n") }
        #expect(throws: RESPParser.ProtocolError.lineTooLong) { try parse("+0123456789") }
    }

    @Test func encodesCommandsAsArraysOfBulkStrings() {
        var out: [UInt8] = []
        RESPClient.encode([Array("SET".utf8), Array("k".utf8), []], into: &out)
        #expect(out == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n".utf8))
    }
}
