import NIOCore
import RiftWire
import Testing

/// `MemcachedReplyDecoder`: text and meta replies as values, whole, byte by byte and split at
/// every offset; errors at the limits.
@Suite struct MemcachedReplyDecoderTests {
    static let cases: [(wire: String, reply: MemcachedReply)] = [
        ("END\r\n", .values([])),
        ("VALUE k 0 5\r\nhello\r\nEND\r\n", .values([MemcachedItem(key: "k", flags: 0, value: Array("hello".utf8))])),
        ("VALUE k 7 4 99\r\na\r\nb\r\nEND\r\n", .values([MemcachedItem(key: "k", flags: 7, value: Array("a\r\nb".utf8), cas: 99)])),
        ("VALUE a 0 1\r\n1\r\nVALUE b 1 0\r\n\r\nEND\r\n", .values([
            MemcachedItem(key: "a", flags: 0, value: Array("1".utf8)), MemcachedItem(key: "b", flags: 1, value: []),
        ])),
        ("STAT pid 42\r\nSTAT version 1.6.18\r\nEND\r\n", .stats([("pid", "42"), ("version", "1.6.18")])),
        ("STORED\r\n", .stored),
        ("NOT_STORED\r\n", .notStored),
        ("EXISTS\r\n", .exists),
        ("NOT_FOUND\r\n", .notFound),
        ("DELETED\r\n", .deleted),
        ("TOUCHED\r\n", .touched),
        ("OK\r\n", .ok),
        ("VERSION 1.6.18\r\n", .version("1.6.18")),
        ("43\r\n", .number(43)),
        ("ERROR\r\n", .error),
        ("CLIENT_ERROR bad data chunk\r\n", .clientError("bad data chunk")),
        ("SERVER_ERROR object too large for cache\r\n", .serverError("object too large for cache")),
        ("VA 2 f1 t-1\r\nhi\r\n", .meta(code: "VA", flags: ["f1", "t-1"], data: Array("hi".utf8))),
        ("HD c12\r\n", .meta(code: "HD", flags: ["c12"], data: nil)),
        ("NS\r\n", .meta(code: "NS", flags: [], data: nil)),
        ("EX\r\n", .meta(code: "EX", flags: [], data: nil)),
        ("NF\r\n", .meta(code: "NF", flags: [], data: nil)),
        ("EN\r\n", .meta(code: "EN", flags: [], data: nil)),
        ("MN\r\n", .meta(code: "MN", flags: [], data: nil)),
        ("RESET\r\n", .other("RESET")),
        ("STORED\n", .stored),
    ]

    static func decodeAll(_ chunks: [[UInt8]], limits: WireLimits = .default) throws(WireParseError) -> [MemcachedReplyDecoder.Reply] {
        try decodeReplies(MemcachedReplyDecoder.self, chunks, limits: limits)
    }

    @Test(arguments: 0..<cases.count)
    func wholeByteByByteAndSplitAtEveryOffset(_ index: Int) throws {
        try expectEverySplit(MemcachedReplyDecoder.self, Self.cases[index].wire, Self.cases[index].reply)
    }

    @Test func everyCaseBackToBackInOneStream() throws {
        let stream = Self.cases.flatMap { Array($0.wire.utf8) }
        #expect(try Self.decodeAll([stream]) == Self.cases.map(\.reply))
        #expect(try Self.decodeAll(stream.map { [$0] }) == Self.cases.map(\.reply))
    }

    @Test func errorsAtTheLimitsNameTheLine() {
        let small = WireLimits(maxLineLength: 16, maxBulkLength: 10, maxFrameBytes: 100)
        func error(_ wire: String, _ limits: WireLimits = small) -> WireParseError? {
            replyError(MemcachedReplyDecoder.self, wire, limits: limits)
        }
        #expect(error("VALUE k 0 11\r\n") == .bulkTooLong(11, limit: 10))
        #expect(error("SERVER_ERROR out of memory\r\n") == .lineTooLong(limit: 16))
        #expect(error("VALUE k 0 2\r\nabc\r\n") == .missingPayloadTerminator)
        #expect(error("VALUE k 0\r\n") == .invalidReplyLine("VALUE k 0"))
        #expect(error("VALUE k 0 1\r\na\r\nSTORED\r\n") == .invalidReplyLine("STORED"))
        // Flags that are no 32-bit number, a CAS unique that is no number: the frame is whole,
        // the value cannot be built.
        #expect(error("VALUE k x 1\r\na\r\nEND\r\n", .default) == .invalidReplyLine("VALUE k x 1"))
        #expect(error("VALUE k 0 1 z\r\na\r\nEND\r\n", .default) == .invalidReplyLine("VALUE k 0 1 z"))
        #expect(error("VALUE k 0 11\r\n")?.description == "bulk length 11 above limit 10")
        #expect(error("VALUE k 0\r\n")?.description == "invalid memcached reply line 'VALUE k 0'")
    }
}

@Suite struct MemcachedRequestTests {
    @Test func requestsAreReadBackByTheRequestParser() throws {
        let requests: [(MemcachedRequest, command: String, keys: [String], noreply: Bool)] = [
            (.get(keys: ["a", "b"]), "GET", ["a", "b"], false),
            (.get(keys: ["a"], cas: true), "GETS", ["a"], false),
            (.store(.set, key: "k", flags: 3, exptime: 60, value: Array("v\r\nw".utf8)), "SET", ["k"], false),
            (.store(.add, key: "k", value: [], noreply: true), "ADD", ["k"], true),
            (.cas(key: "k", value: Array("1".utf8), unique: 77), "CAS", ["k"], false),
            (.delete(key: "k"), "DELETE", ["k"], false),
            (.incr(key: "n", by: 5), "INCR", ["n"], false),
            (.decr(key: "n", by: 1, noreply: true), "DECR", ["n"], true),
            (.touch(key: "k", exptime: 10), "TOUCH", ["k"], false),
            (.version, "VERSION", [], false),
            (.stats, "STATS", [], false),
        ]
        var buffer = ByteBuffer()
        for (r, _, _, _) in requests { try r.encode(into: &buffer) }
        var parser = MemcachedParser(role: .request)
        for (_, command, keys, noreply) in requests {
            let frame = try #require(try parser.next(&buffer))
            #expect(frame.command == command)
            #expect(frame.keys.map(\.text) == keys)
            #expect(frame.noreply == noreply)
        }
        #expect(buffer.readableBytes == 0)
        var set = ByteBuffer()
        try MemcachedRequest.store(.set, key: "k", flags: 1, exptime: 2, value: Array("xyz".utf8)).encode(into: &set)
        #expect(set.text == "set k 1 2 3\r\nxyz\r\n")
        var cas = ByteBuffer()
        try MemcachedRequest.cas(key: "k", value: Array("1".utf8), unique: 9).encode(into: &cas)
        #expect(cas.text == "cas k 0 0 1 9\r\n1\r\n")
    }

    @Test func invalidKeysAreRefusedBeforeAByteIsWritten() {
        for key in ["", "has space", "ctl\u{7}", String(repeating: "k", count: 251), "new\r\nline"] {
            var buffer = ByteBuffer()
            #expect(throws: MemcachedRequest.InvalidKey(key: key)) { try MemcachedRequest.get(keys: ["ok", key]).encode(into: &buffer) }
            #expect(buffer.readableBytes == 0)
        }
        #expect(throws: Never.self) { try MemcachedRequest.validate(String(repeating: "k", count: 250)) }
    }
}
