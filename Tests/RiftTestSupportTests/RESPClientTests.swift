import Foundation
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
        let error = #expect(throws: ClientError.self) { _ = try client.get("list") }
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

    /// A workload's client: a late reply must never be taken for the next request's, so a
    /// timeout closes the connection and the next request runs on a new one.
    @Test func aReconnectingClientDropsTheConnectionOnATimeoutAndReconnects() throws {
        let listener = try BlockingListener()
        defer { listener.close() }
        let client = RESPClient(reconnectingTo: listener.port)
        defer { client.close() }
        let deadline = { RiftClock.monotonicNanoseconds() + 300_000_000 }
        #expect(throws: ClientError.refused) { _ = try RESPClient(reconnectingTo: FreePort.allocate()).request(["PING"], deadlineNs: deadline()) }
        // The first request connects; the server reads it and stays silent.
        let pending = Thread.detachedResult { try client.request(["GET", "k"], deadlineNs: deadline()) }
        let first = try listener.accept()
        #expect(try first.receiveExactly(RESPRequestEncoder.bytes(["GET", "k"]).count) == RESPRequestEncoder.bytes(["GET", "k"]))
        #expect(throws: ClientError.timeout) { _ = try pending.get() }
        #expect(!client.isOpen)
        // The late reply on the old connection is not read; the next request gets its own.
        try first.send("$4\r\nlate\r\n")
        let next = Thread.detachedResult { try client.request(["GET", "k"], deadlineNs: deadline()) }
        let second = try listener.accept()
        _ = try second.receiveExactly(RESPRequestEncoder.bytes(["GET", "k"]).count)
        try second.send("$5\r\nfresh\r\n")
        #expect(try next.get() == .bulk("fresh"))
    }
}

/// Runs `body` on its own thread; `get()` waits for its result.
// @unchecked: `result` is touched only with `condition` locked (a condition variable: Mutex cannot wait).
private final class DetachedResult<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<T, any Error>?

    func get() throws -> T {
        try condition.withLock {
            while result == nil { condition.wait() }
            return result!
        }.get()
    }

    fileprivate func set(_ r: Result<T, any Error>) {
        condition.withLock {
            result = r
            condition.broadcast()
        }
    }
}

extension Thread {
    fileprivate static func detachedResult<T>(_ body: @escaping () throws -> T) -> DetachedResult<T> {
        let box = DetachedResult<T>()
        let work = Handoff(body)
        Thread { box.set(Result { try work.value() }) }.start()
        return box
    }
}
