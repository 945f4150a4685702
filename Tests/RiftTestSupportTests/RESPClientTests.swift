import Glibc
import RiftCore
import RiftTestSupport
import Testing

@Suite struct RESPClientTests {
    @Test(arguments: [0, 1, 100 * 1024, 1024 * 1024])
    func valuesRoundTripByteExact(size: Int) throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        var random = SeededRandom(seed: 7, labels: "redis-roundtrip", String(size))
        let value = random.bytes(size)
        let client = try redis.client()
        try client.set("key", value: value)
        #expect(try client.get("key") == value)
        #expect(try client.get("missing") == nil)
    }

    @Test func pipelineOf1000IncrsRepliesInOrder() throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let client = try redis.client()
        let replies = try client.pipeline(Array(repeating: ["INCR", "counter"], count: 1000))
        #expect(replies == (1...1000).map { .integer(Int64($0)) })
    }

    @Test func errorRepliesAreValuesNotThrows() throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let client = try redis.client()
        let reply = try client.command("NOSUCHCOMMAND")
        #expect(reply.isError)
        #expect(try client.command("LPUSH", "list", "x") == .integer(1))
        let error = #expect(throws: RESPClientError.self) { _ = try client.get("list") }
        guard case .serverError(let message) = error else {
            Issue.record("expected a server error, got \(String(describing: error))")
            return
        }
        #expect(message.hasPrefix("WRONGTYPE"))
    }

    @Test func resp3RepliesParseAfterHello() throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let client = try redis.client()
        guard case .map(let hello) = try client.command("HELLO", "3") else {
            Issue.record("HELLO 3 did not answer a map")
            return
        }
        #expect(hello.contains(RESPPair(.bulk("proto"), .integer(3))))
        #expect(try client.command("GET", "missing") == .null)
        _ = try client.command("HSET", "h", "f", "v")
        #expect(try client.command("HGETALL", "h") == .map([RESPPair(.bulk("f"), .bulk("v"))]))
        _ = try client.command("SADD", "s", "m")
        #expect(try client.command("SMEMBERS", "s") == .set([.bulk("m")]))
        #expect(try client.get("missing") == nil)
    }
}
