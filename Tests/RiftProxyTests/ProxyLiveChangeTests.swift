import Foundation
import RiftFaults
import RiftProxy
import RiftTestSupport
import Testing

/// Faults added, changed and removed under a running pipelined load: nothing is lost,
/// duplicated or reordered, and no connection drops.
@Suite(.serialized) struct ProxyLiveChangeTests {
    @Test(arguments: [true, false]) func mutationsUnderPipelinedLoadLoseAndReorderNothing(relay: Bool) async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        try await withProxyServer(seed: 5, relay: relay) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            let port = proxy.port
            let batches = 60, perBatch = 200
            // The load: RPUSH 0, 1, 2, ... in pipelined batches; each reply is the list length,
            // so a lost, duplicated or reordered command shows in the replies and in the list.
            let load = Task.detached { () throws -> [Int64] in
                try await blocking {
                    let client = try RESPClient(port: UInt16(port), readTimeout: .seconds(20))
                    var lengths: [Int64] = []
                    var next = 0
                    for _ in 0..<batches {
                        let commands = (0..<perBatch).map { _ -> [String] in
                            defer { next += 1 }
                            return ["RPUSH", "list", String(next)]
                        }
                        for reply in try client.pipeline(commands) {
                            guard case .integer(let length) = reply else { throw ClientError.unexpectedReply("\(reply)") }
                            lengths.append(length)
                        }
                    }
                    client.close()
                    return lengths
                }
            }
            // Meanwhile, change faults on the live connection again and again.
            for round in 0..<12 {
                try await proxy.addFault(try fault("latency", ["latency": .int(Int64(round % 3 + 1)), "jitter": .int(2)], stream: .upstream, name: "lat-up"))
                try await proxy.addFault(try fault("slicer", ["average_size": .int(7), "size_variation": .int(5), "delay": .int(50)], stream: .downstream, name: "slice"))
                try await Task.sleep(for: .milliseconds(15))
                try await proxy.updateFault(try fault("latency", ["latency": .int(4)], stream: .upstream, name: "lat-up"))
                try await proxy.addFault(try fault("bandwidth", ["rate": .int(500)], stream: .downstream, name: "bw"))
                try await proxy.addFault(try fault("loss", ["rate": .double(0.05), "rto": .int(5)], stream: .upstream, name: "loss"))
                try await Task.sleep(for: .milliseconds(15))
                try await proxy.removeFault(named: "slice")
                try await proxy.removeFault(named: "bw")
                try await proxy.removeFault(named: "loss")
                try await proxy.removeFault(named: "lat-up")
            }
            let lengths = try await load.value
            #expect(lengths == (1...Int64(batches * perBatch)).map { $0 })
            let stored = try await blocking { try RESPClient(port: UInt16(port)).command("LRANGE", "list", "0", "-1") }
            #expect(stored == .array((0..<batches * perBatch).map { .bulk(String($0)) }))
            #expect(proxy.snapshot.connectionsTotal == 2)
        }
    }

    @Test(arguments: [true, false]) func slowReaderPushesBackInsteadOfBuffering(relay: Bool) async throws {
        // A raw TCP peer that accepts and never reads: the proxy must stop reading from the
        // client once the socket buffers fill, not hold the client's bytes in memory.
        let sink = try BlockingListener()
        defer { sink.close() }
        try await withProxyServer(relay: relay) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "sink", upstream: "127.0.0.1:\(sink.port)"))
            let port = proxy.port
            let accepted = Task.detached { try await blocking { Handoff(try sink.accept()) } }
            let sent = try await blocking { () -> Int in
                let socket = try BlockingSocket(port: UInt16(port), writeTimeout: .milliseconds(1500))
                let chunk = [UInt8](repeating: 7, count: 64 * 1024)
                var sent = 0
                while sent < 256 * 1024 * 1024 {
                    do { try socket.send(chunk) } catch { break }
                    sent += chunk.count
                }
                socket.close()
                return sent
            }
            let peer = try await accepted.value
            // Only what fits in kernel buffers (a few MiB each way) can have been taken.
            #expect(sent < 64 * 1024 * 1024, "the client wrote \(sent) bytes into a peer that never reads")
            #expect(proxy.snapshot.upstreamBytes < 64 * 1024 * 1024)
            peer.value.close()
        }
    }
}
