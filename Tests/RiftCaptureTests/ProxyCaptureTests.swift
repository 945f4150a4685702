import Foundation
import RiftCapture
import RiftFaults
import RiftHistory
import RiftProxy
import RiftRecord
import RiftTestSupport
import Testing

/// The proxy's pcap output against a real redis-server, read back by tshark.
@Suite(.serialized) struct ProxyCaptureTests {
    @Test func tsharkDecodesRESPInBothDirectionsOnBothLegs() async throws {
        _ = try TShark.path()
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let dir = try TempDir()
        defer { dir.remove() }
        let file = dir.file("rift.pcap")
        let (proxyPort, stats) = try await withCapturingProxy(PacketCapture.Options(path: file)) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            let port = UInt16(proxy.port)
            try await blocking {
                let client = try RESPClient(port: port)
                for i in 0..<5 { try client.set("k\(i)", value: "v\(i)") }
                for i in 0..<5 { _ = try client.get("k\(i)") }
                client.close()
            }
            try await waitForNoConnections(proxy)
            return Int(port)
        }
        #expect(stats.dropped == 0)
        #expect(stats.files == [file])
        let ports = [proxyPort, Int(redis.port)]
        let resp = try TShark.fields(file, respPorts: ports, filter: "resp", ["tcp.srcport", "tcp.dstport"])
        func count(_ src: Int?, _ dst: Int?) -> Int {
            resp.filter { row in (src.map { row[0] == String($0) } ?? true) && (dst.map { row[1] == String($0) } ?? true) }.count
        }
        // 10 commands, one per packet: requests and replies on the client leg and on the upstream leg.
        #expect(count(nil, proxyPort) == 10, "client -> proxy: \(resp)")
        #expect(count(proxyPort, nil) == 10, "proxy -> client")
        #expect(count(nil, Int(redis.port)) == 10, "proxy -> redis")
        #expect(count(Int(redis.port), nil) == 10, "redis -> proxy")
        let ok = try TShark.fields(file, respPorts: ports, filter: "resp.string == \"OK\"", ["tcp.srcport"])
        #expect(ok.count == 10, "5 +OK replies on each leg")
        // Handshakes, FINs and sequence numbers are consistent: tshark finds nothing to flag.
        let flagged = try TShark.fields(file, respPorts: ports, filter: "tcp.analysis.flags && !tcp.analysis.window_update", ["frame.number", "_ws.expert.message"])
        #expect(flagged.isEmpty, "tshark's TCP analysis flagged \(flagged)")
        #expect(try TShark.fields(file, respPorts: [], filter: "tcp.flags.syn == 1 && tcp.flags.ack == 0", ["tcp.dstport"]).count == 2)
        #expect(try TShark.fields(file, respPorts: [], filter: "tcp.flags.fin == 1", ["tcp.srcport"]).count == 4)
    }

    @Test func aDroppedRequestIsOnTheClientLegOnly() async throws {
        _ = try TShark.path()
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let dir = try TempDir()
        defer { dir.remove() }
        let file = dir.file("drop.pcap")
        let drop = Fault(stream: .upstream, config: try FaultRegistry.makeConfig(
            type: "drop_frame", attributes: ["commands": .string("GET"), "key": .string("hidden*")], strict: true))
        let (proxyPort, _) = try await withCapturingProxy(PacketCapture.Options(path: file)) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"), faults: [drop])
            let port = UInt16(proxy.port)
            let answered = try await blocking {
                let client = try RESPClient(port: port, readTimeout: .milliseconds(500))
                defer { client.close() }
                try client.set("seen", value: "1")
                do { _ = try client.get("hidden-key") } catch { return false }
                return true
            }
            #expect(!answered, "the dropped GET got a reply")
            try await waitForNoConnections(proxy)
            return Int(port)
        }
        let hidden = try TShark.fields(file, respPorts: [proxyPort, Int(redis.port)], filter: "frame contains \"hidden-key\"", ["tcp.dstport"])
        #expect(hidden.map { $0[0] } == [String(proxyPort)], "the client sent it; redis never saw it")
        let seen = try TShark.fields(file, respPorts: [], filter: "frame contains \"seen\"", ["tcp.dstport"])
        #expect(Set(seen.map { $0[0] }) == [String(proxyPort), String(redis.port)])

        // Recorded, the client leg has the GET without an answer (indeterminate); the
        // upstream leg never had it.
        let clientLeg = dir.file("client.jsonl"), upstreamLeg = dir.file("upstream.jsonl")
        _ = try RecordTests.record(file, port: UInt16(proxyPort), to: clientLeg)
        _ = try RecordTests.record(file, port: UInt16(redis.port), to: upstreamLeg)
        #expect(RecordTests.perProcess(try HistoryReader.read(path: clientLeg)) == [[
            "invoke write seen 1", "ok write seen 1", "invoke read hidden-key null", "info read hidden-key null",
        ]])
        #expect(RecordTests.perProcess(try HistoryReader.read(path: upstreamLeg)) == [["invoke write seen 1", "ok write seen 1"]])
    }

    @Test func rotationBySizeWritesSeveralFilesEachReadable() async throws {
        _ = try TShark.path()
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let dir = try TempDir()
        defer { dir.remove() }
        let file = dir.file("rot.pcap")
        let (proxyPort, stats) = try await withCapturingProxy(PacketCapture.Options(path: file, rotateBytes: 4096)) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            let port = UInt16(proxy.port)
            try await blocking {
                let client = try RESPClient(port: port)
                for i in 0..<40 { try client.set("key\(i)", value: String(repeating: "x", count: 100)) }
                client.close()
            }
            try await waitForNoConnections(proxy)
            return Int(port)
        }
        #expect(stats.files.count >= 3, "\(stats.files)")
        #expect(stats.files.first == file && stats.files.dropFirst().first == file + ".1")
        var total = 0
        for f in stats.files {
            let size = try #require(try FileManager.default.attributesOfItem(atPath: f)[.size] as? Int)
            #expect(size <= 4096, "\(f) is \(size) bytes")
            let packets = try TShark.fields(f, respPorts: [proxyPort, Int(redis.port)], filter: "frame", ["frame.number"])
            #expect(!packets.isEmpty, "\(f) read by tshark")
            total += packets.count
        }
        #expect(Int64(total) == stats.packetsWritten)
        let sets = try stats.files.map { try TShark.fields($0, respPorts: [proxyPort], filter: "resp && tcp.dstport == \(proxyPort)", ["frame.number"]).count }
        #expect(sets.reduce(0, +) == 40, "every SET from the client, across the files")
    }

    @Test func aFullQueueDropsCaptureRecordsNeverProxiedBytes() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let dir = try TempDir()
        defer { dir.remove() }
        // One record at a time: a burst of traffic overflows it at once.
        let options = PacketCapture.Options(path: dir.file("tiny.pcap"), queueRecords: 1, queueBytes: 64)
        let (replies, stats) = try await withCapturingProxy(options) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            let port = UInt16(proxy.port)
            let replies = try await blocking {
                let client = try RESPClient(port: port)
                let values = try client.pipeline((0..<200).map { ["SET", "k\($0)", String(repeating: "v", count: 200)] })
                client.close()
                return values.count
            }
            try await waitForNoConnections(proxy)
            return replies
        }
        #expect(replies == 200, "every proxied byte arrived")
        #expect(stats.dropped > 0, "records dropped: \(stats)")
        #expect(stats.droppedBytes > 0)
        #expect(stats.packetsWritten + stats.dropped >= 8, "handshakes and data were offered")
    }
}
