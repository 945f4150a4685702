import NIOCore
import NIOTestUtils
import RiftWire
import Testing

private func cmd(_ wire: String, _ command: String?, keys: [String] = [], noreply: Bool = false, data: Int = 0) -> MemcachedFrame {
    MemcachedFrame(bytes: buf(wire), command: command, keys: keys.map(buf), noreply: noreply, dataLength: data)
}

private func rep(_ wire: String, _ kind: MemcachedReplyKind, keys: [String] = [], data: Int = 0) -> MemcachedFrame {
    MemcachedFrame(bytes: buf(wire), replyKind: kind, keys: keys.map(buf), dataLength: data)
}

@Suite struct MemcachedDecoderTests {
    @Test func requestsInEverySplit() throws {
        let pairs: [(String, [MemcachedFrame])] = [
            ("get a\r\n", [cmd("get a\r\n", "GET", keys: ["a"])]),
            ("gets a b c\r\n", [cmd("gets a b c\r\n", "GETS", keys: ["a", "b", "c"])]),
            ("gat 10 a b\r\ngats 0 c\n", [cmd("gat 10 a b\r\n", "GAT", keys: ["a", "b"]), cmd("gats 0 c\n", "GATS", keys: ["c"])]),
            ("set k 0 0 5\r\nhe\r\no\r\n", [cmd("set k 0 0 5\r\nhe\r\no\r\n", "SET", keys: ["k"], data: 5)]),
            ("add k 1 2 0 noreply\r\n\r\n", [cmd("add k 1 2 0 noreply\r\n\r\n", "ADD", keys: ["k"], noreply: true)]),
            ("replace k 0 0 1\r\nx\r\nappend k 0 0 1\r\ny\r\nprepend k 0 0 1\r\nz\r\n", [
                cmd("replace k 0 0 1\r\nx\r\n", "REPLACE", keys: ["k"], data: 1),
                cmd("append k 0 0 1\r\ny\r\n", "APPEND", keys: ["k"], data: 1),
                cmd("prepend k 0 0 1\r\nz\r\n", "PREPEND", keys: ["k"], data: 1),
            ]),
            ("cas k 0 0 2 99 noreply\r\nab\r\n", [cmd("cas k 0 0 2 99 noreply\r\nab\r\n", "CAS", keys: ["k"], noreply: true, data: 2)]),
            ("delete k\r\ndelete k noreply\r\n", [cmd("delete k\r\n", "DELETE", keys: ["k"]), cmd("delete k noreply\r\n", "DELETE", keys: ["k"], noreply: true)]),
            ("incr n 5\r\ndecr n 1 noreply\r\ntouch k 10\r\n", [
                cmd("incr n 5\r\n", "INCR", keys: ["n"]), cmd("decr n 1 noreply\r\n", "DECR", keys: ["n"], noreply: true),
                cmd("touch k 10\r\n", "TOUCH", keys: ["k"]),
            ]),
            ("version\r\nstats\r\nstats slabs\r\n", [cmd("version\r\n", "VERSION"), cmd("stats\r\n", "STATS"), cmd("stats slabs\r\n", "STATS")]),
            ("mg k v t\r\nms k 2 T0 q\r\nhi\r\nmd k q\r\nma n\r\nmn\r\nme k\r\n", [
                cmd("mg k v t\r\n", "MG", keys: ["k"]), cmd("ms k 2 T0 q\r\nhi\r\n", "MS", keys: ["k"], noreply: true, data: 2),
                cmd("md k q\r\n", "MD", keys: ["k"], noreply: true), cmd("ma n\r\n", "MA", keys: ["n"]), cmd("mn\r\n", "MN"),
                cmd("me k\r\n", "ME", keys: ["k"]),
            ]),
            ("bogus x\r\n\r\n", [cmd("bogus x\r\n", "BOGUS"), cmd("\r\n", nil)]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(stringInputOutputPairs: pairs) { MemcachedDecoder(role: .request) }
    }

    @Test func repliesInEverySplit() throws {
        let pairs: [(String, [MemcachedFrame])] = [
            ("END\r\n", [rep("END\r\n", .values)]),
            ("VALUE a 0 2\r\nhi\r\nVALUE b 5 3 77\r\nEND\r\nEND\r\n", [rep("VALUE a 0 2\r\nhi\r\nVALUE b 5 3 77\r\nEND\r\nEND\r\n", .values, keys: ["a", "b"], data: 5)]),
            ("STAT pid 1\r\nSTAT uptime 2\r\nEND\r\n", [rep("STAT pid 1\r\nSTAT uptime 2\r\nEND\r\n", .stats)]),
            ("STORED\r\nNOT_STORED\r\nEXISTS\r\nNOT_FOUND\r\nDELETED\r\nTOUCHED\r\nOK\r\n", [
                rep("STORED\r\n", .stored), rep("NOT_STORED\r\n", .notStored), rep("EXISTS\r\n", .exists),
                rep("NOT_FOUND\r\n", .notFound), rep("DELETED\r\n", .deleted), rep("TOUCHED\r\n", .touched), rep("OK\r\n", .ok),
            ]),
            ("42\r\nVERSION 1.6.21\r\n", [rep("42\r\n", .number), rep("VERSION 1.6.21\r\n", .version)]),
            ("ERROR\r\nCLIENT_ERROR bad data chunk\r\nSERVER_ERROR out of memory\r\n", [
                rep("ERROR\r\n", .error), rep("CLIENT_ERROR bad data chunk\r\n", .clientError), rep("SERVER_ERROR out of memory\r\n", .serverError),
            ]),
            ("VA 2 t-1\r\nhi\r\nHD\r\nNS\r\nEX\r\nNF\r\nEN\r\nMN\r\nME k exp=-1 la=2\r\n", [
                rep("VA 2 t-1\r\nhi\r\n", .metaValue, data: 2), rep("HD\r\n", .metaHeader), rep("NS\r\n", .metaNotStored),
                rep("EX\r\n", .metaExists), rep("NF\r\n", .metaNotFound), rep("EN\r\n", .metaEnd), rep("MN\r\n", .metaNoop),
                rep("ME k exp=-1 la=2\r\n", .metaDebug),
            ]),
            ("RESET\r\n", [rep("RESET\r\n", .other)]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(stringInputOutputPairs: pairs) { MemcachedDecoder(role: .reply) }
    }

    @Test func malformedInputGivesExactErrors() {
        #expect(memcachedError("set k 0 0\r\n", role: .request) == .invalidCommandLine("set k 0 0"))
        #expect(memcachedError("set k 0 0 -1\r\n", role: .request) == .invalidCommandLine("set k 0 0 -1"))
        #expect(memcachedError("set k 0 0 x y z\r\n", role: .request) == .invalidCommandLine("set k 0 0 x y z"))
        #expect(memcachedError("set k 0 0 2\r\nabc\r\n", role: .request) == .missingPayloadTerminator)
        #expect(memcachedError("ms k\r\n", role: .request) == .invalidCommandLine("ms k"))
        #expect(memcachedError("set k 0 0 999999999999\r\n", role: .request) == .bulkTooLong(999_999_999_999, limit: 512 * 1024 * 1024))
        #expect(memcachedError("VALUE k 0\r\n", role: .reply) == .invalidReplyLine("VALUE k 0"))
        #expect(memcachedError("VALUE k 0 1\r\nx\r\nSTORED\r\n", role: .reply) == .invalidReplyLine("STORED"))
        #expect(memcachedError("STAT a 1\r\nVALUE k 0 1\r\n", role: .reply) == .invalidReplyLine("VALUE k 0 1"))
        #expect(memcachedError("VA x\r\n", role: .reply) == .invalidReplyLine("VA x"))
        #expect(memcachedError("END x\r\n", role: .reply) == .invalidReplyLine("END x"))
        let small = WireLimits(maxLineLength: 8, maxFrameBytes: 64)
        #expect(memcachedError("get abcdefghij\r\n", role: .request, limits: small) == .lineTooLong(limit: 8))
        #expect(memcachedError("get abcdefghij", role: .request, limits: small) == .lineTooLong(limit: 8))
        #expect(memcachedError("get abcd\r\n", role: .request, limits: small) == nil)
        #expect(memcachedError("get abcd\n", role: .request, limits: small) == nil)
        #expect(memcachedError("get abcde\n", role: .request, limits: small) == .lineTooLong(limit: 8))
        #expect(memcachedError("get abcde\r\n", role: .request, limits: small) == .lineTooLong(limit: 8))
        #expect(memcachedError(String(repeating: "STAT a\r\n", count: 10), role: .reply, limits: small) == .frameTooLarge(limit: 64))
    }

    @Test func aHugeDeclaredLengthDoesNotAllocate() throws {
        var parser = MemcachedParser(role: .reply)
        var buffer = buf("VALUE k 0 536870912\r\nab")
        let capacity = buffer.capacity
        #expect(try parser.next(&buffer) == nil)
        #expect(buffer.capacity == capacity)
    }

    @Test func partialDataBlockWaits() throws {
        var parser = MemcachedParser(role: .request)
        var buffer = buf("set k 0 0 10\r\nhello")
        #expect(try parser.next(&buffer) == nil)
        #expect(buffer.readableBytes == 19)
        buffer.writeString("world\r\nget k\r\n")
        #expect(try parser.next(&buffer)?.dataLength == 10)
        #expect(try parser.next(&buffer)?.command == "GET")
    }
}
