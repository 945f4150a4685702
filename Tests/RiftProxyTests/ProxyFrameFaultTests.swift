import Foundation
import RiftCore
import RiftFaults
import RiftProxy
import RiftTestSupport
import Testing

/// `replay` and `reorder` on real redis-server and memcached traffic, with pipelined clients:
/// every reply must line up with its request while the fault acts.
@Suite(.serialized) struct ProxyFrameFaultTests {
    @Test func replayedSetMakesRedisGoBackAndRepliesStayPaired() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(
                ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"),
                faults: [try fault("replay", ["delay_ms": .int(300), "commands": .string("SET"), "key": .string("k"), "limit": .int(1)], stream: .upstream)])
            let port = UInt16(proxy.port)
            let replies = try await blocking { () -> ([RESPValue], [RESPValue], [RESPValue]) in
                let client = try RESPClient(port: port)
                defer { client.close() }
                let first = try client.pipeline([["SET", "k", "1"], ["GET", "k"], ["SET", "k", "2"], ["GET", "k"], ["ECHO", "a"]])
                // The copy of `SET k 1` reaches redis 300 ms later, while this pipeline is
                // in flight: its reply must be swallowed, not handed to `GET k`.
                Thread.sleep(forTimeInterval: 0.2)
                var during: [RESPValue] = []
                for i in 0..<8 {
                    during += try client.pipeline([["ECHO", "p\(i)"], ["INCR", "n"]])
                    Thread.sleep(forTimeInterval: 0.025)
                }
                // Well past the 300 ms, with room for a loaded machine.
                Thread.sleep(forTimeInterval: 0.2)
                let after = try client.pipeline([["GET", "k"], ["ECHO", "end"]])
                return (first, during, after)
            }
            #expect(replies.0 == [.simpleString("OK"), .bulkString(Array("1".utf8)), .simpleString("OK"), .bulkString(Array("2".utf8)), .bulkString(Array("a".utf8))])
            let expectedDuring = (0..<8).flatMap { [RESPValue.bulkString(Array("p\($0)".utf8)), .integer(Int64($0 + 1))] }
            #expect(replies.1 == expectedDuring)
            // The stale replay happened: `k` went back to 1.
            #expect(replies.2 == [.bulkString(Array("1".utf8)), .bulkString(Array("end".utf8))])
        }
    }

    @Test func replayedMemcachedSetGoesBackAndNoreplyCopiesAreFine() async throws {
        let memcached = try MemcachedServer.started()
        defer { memcached.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(
                ProxyConfig(name: "mc", upstream: "127.0.0.1:\(memcached.port)"),
                faults: [try fault("replay", ["delay_ms": .int(200), "protocol": .string("memcached"), "key": .string("k*"), "limit": .int(2)], stream: .upstream)])
            let port = UInt16(proxy.port)
            let (lines, late) = try await blocking { () -> ([String], [UInt8]?) in
                let client = try MemcachedClient(port: port)
                defer { client.close() }
                try client.send(raw: Array("set k 0 0 1\r\n1\r\nset kq 0 0 1 noreply\r\nq\r\nget k\r\nset k 0 0 1\r\n2\r\nset kq 0 0 1 noreply\r\nQ\r\nversion\r\n".utf8))
                var lines: [String] = []
                for _ in 0..<6 { lines.append(try client.readLine()) }
                Thread.sleep(forTimeInterval: 0.5)
                for i in 0..<5 { _ = try client.set("other\(i)", value: [UInt8(i)]) }
                lines.append(try client.version())
                return (lines, try client.get("k"))
            }
            #expect(lines.count == 7)
            #expect(Array(lines.prefix(6)) == ["STORED", "VALUE k 0 1", "1", "END", "STORED", lines[5]])
            #expect(lines[5].hasPrefix("VERSION"))
            #expect(late == Array("1".utf8))
            let kq = try await blocking { try MemcachedClient(port: port).get("kq") }
            #expect(kq == Array("q".utf8))
        }
    }

    @Test func reorderLetsAnotherConnectionsDeleteOvertakeASet() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(
                ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"),
                faults: [try fault("reorder", ["overtake": .int(1), "max_hold_ms": .int(3000), "commands": .string("SET,DEL"), "key": .string("k")], stream: .upstream)])
            let port = UInt16(proxy.port)
            let outcome = try await blocking { () -> (RESPValue, [RESPValue], Double, RESPValue?) in
                let a = try RESPClient(port: port)
                let b = try RESPClient(port: port)
                defer { a.close(); b.close() }
                // A's fill and the GET pipelined behind it are held.
                try a.send([[Array("SET".utf8), Array("k".utf8), Array("fill".utf8)], [Array("GET".utf8), Array("k".utf8)]])
                Thread.sleep(forTimeInterval: 0.1)
                // B's delete, sent later, reaches redis first; then A's fill goes.
                let start = monotonicSeconds()
                let deleted = try b.command("DEL", "k")
                let aReplies = [try a.readReply(), try a.readReply()]
                let waited = monotonicSeconds() - start
                return (deleted, aReplies, waited, try b.command("GET", "k"))
            }
            // The DEL found nothing: the SET had not reached redis yet.
            #expect(outcome.0 == .integer(0))
            #expect(outcome.1 == [.simpleString("OK"), .bulkString(Array("fill".utf8))])
            // Released by the overtake, not by max_hold_ms.
            #expect(outcome.2 < 2.5, "A waited \(outcome.2) s")
            #expect(outcome.3 == .bulkString(Array("fill".utf8)))
        }
    }

    @Test func reorderedInvalidationsAllArrive() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer { server in
            let proxy = try await server.createProxy(
                ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"),
                faults: [try fault("reorder", ["window_ms": .int(200), "count": .int(5), "commands": .string("invalidate")], stream: .downstream)])
            let port = UInt16(proxy.port)
            let result = try await blocking { () -> ([RESPValue], [String]) in
                let reader = try RESPClient(port: port)
                let writer = try redis.client()
                defer { reader.close(); writer.close() }
                _ = try reader.command("HELLO", "3")
                _ = try reader.command("CLIENT", "TRACKING", "on")
                var replies: [RESPValue] = []
                for i in 0..<5 { replies.append(try reader.command("GET", "t\(i)")) }
                for i in 0..<5 { _ = try writer.command("SET", "t\(i)", "v") }
                // Five invalidations, held until the fifth, then shuffled; a PING reply still pairs.
                var keys: [String] = []
                var ping: RESPValue?
                try reader.send([[Array("PING".utf8)]])
                while keys.count < 5 || ping == nil {
                    let value = try reader.readReply()
                    if case .push(let items) = value, items.count == 2, case .array(let ks?) = items[1] {
                        for case .bulkString(let k?) in ks { keys.append(String(decoding: k, as: UTF8.self)) }
                    } else {
                        ping = value
                    }
                }
                return (replies + [ping!], keys)
            }
            #expect(result.0.last == .simpleString("PONG"))
            #expect(result.1.sorted() == (0..<5).map { "t\($0)" })
            // Redis sent them in order t0...t4; the seeded shuffle of this run (seed 1, the
            // reader is the proxy's connection 1) is not the identity.
            #expect(result.1 != (0..<5).map { "t\($0)" }, "\(result.1)")
        }
    }
}
