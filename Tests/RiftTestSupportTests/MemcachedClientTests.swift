import Glibc
import RiftCore
import RiftTestSupport
import Testing

@Suite struct MemcachedClientTests {
    @Test(arguments: [0, 1, 100 * 1024, 1024 * 1024])
    func valuesRoundTripByteExact(size: Int) throws {
        let memcached = try MemcachedServer.started()
        defer { memcached.stop() }
        var random = SeededRandom(seed: 7, labels: "memcached-roundtrip", String(size))
        let value = random.bytes(size)
        let client = try memcached.client()
        #expect(try client.set("key", value: value, flags: 42))
        #expect(try client.getItem("key") == MemcachedItem(key: "key", flags: 42, value: value))
        #expect(try client.get("key") == value)
    }

    @Test func setGetDelete() throws {
        let memcached = try MemcachedServer.started()
        defer { memcached.stop() }
        let client = try memcached.client()
        #expect(try client.get("k") == nil)
        #expect(try client.set("k", value: Array("v\r\nEND\r\n".utf8)))
        #expect(try client.get("k") == Array("v\r\nEND\r\n".utf8))
        #expect(try client.delete("k"))
        #expect(try client.delete("k") == false)
        #expect(try client.get("k") == nil)
    }

    @Test func pipelinedGetsAnswerInKeyOrder() throws {
        let memcached = try MemcachedServer.started()
        defer { memcached.stop() }
        let client = try memcached.client()
        var random = SeededRandom(seed: 11)
        var expected: [[UInt8]?] = []
        var keys: [String] = []
        for index in 0..<200 {
            keys.append("key-\(index)")
            if index % 3 == 0 {
                expected.append(nil)
            } else {
                let value = random.bytes(index * 10)
                try client.set("key-\(index)", value: value)
                expected.append(value)
            }
        }
        #expect(try client.getMany(keys) == expected)
    }

    @Test func largePipelinedGetsDoNotDeadlock() throws {
        let memcached = try MemcachedServer.started()
        defer { memcached.stop() }
        let client = try memcached.client()
        var random = SeededRandom(seed: 12)
        let value = random.bytes(1024 * 1024)
        try client.set("big", value: value)
        // 32 MiB of replies to requests we are still writing.
        let results = try client.getMany(Array(repeating: "big", count: 32))
        #expect(results.allSatisfy { $0 == value })
    }

    @Test func invalidKeysAndServerErrorsAreTyped() throws {
        let memcached = try MemcachedServer.started()
        defer { memcached.stop() }
        let client = try memcached.client()
        #expect(throws: ClientError.invalidKey("has space")) { _ = try client.get("has space") }
        #expect(throws: ClientError.invalidKey("")) { _ = try client.get("") }
        let tooBig = [UInt8](repeating: 0, count: 3 * 1024 * 1024)
        let error = #expect(throws: ClientError.self) { try client.set("huge", value: tooBig) }
        if case .serverError(let line) = error {
            #expect(line.hasPrefix("SERVER_ERROR"))
        } else {
            Issue.record("expected a server error, got \(String(describing: error))")
        }
    }
}
