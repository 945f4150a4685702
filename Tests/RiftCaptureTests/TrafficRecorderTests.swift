import NIOCore
import RiftCapture
import RiftHistory
import RiftRecord
import Testing

/// Whole connections as frames: the writer's synthesized packets, shuffled and repeated, go
/// through the recorder as a capture would deliver them.
@Suite struct TrafficRecorderTests {
    let client = CaptureEndpoint(dotted: "10.1.1.1", port: 50000)!
    let server = CaptureEndpoint(dotted: "10.1.1.2", port: 6379)!

    /// Frames for: handshake, the requests split into `chunk`-byte segments, the replies, FINs.
    func frames(requests: String, replies: String, chunk: Int) -> [[UInt8]] {
        var c = TCPConversation(local: server, remote: client, localOpens: false, localISN: 0xFFFF_FF00, remoteISN: 77)
        let t = CaptureTime(seconds: 100, microseconds: 0)
        var records = c.handshake(at: t)
        let bytes = Array(requests.utf8)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            records.append(c.data(fromLocal: false, ByteBuffer(bytes: bytes[start..<min(start + chunk, bytes.count)]), at: t)!)
        }
        records.append(c.data(fromLocal: true, ByteBuffer(string: replies), at: t)!)
        records.append(c.fin(fromLocal: false, at: t)!)
        records.append(c.fin(fromLocal: true, at: t)!)
        return records.map { r in
            let payload = r.payload.map { Array($0.readableBytesView) } ?? []
            return payload.withUnsafeBytes {
                TCPSegmentSynthesis.packet(from: r.source, to: r.destination, seq: r.seq, ack: r.ack, flags: r.flags, payload: $0)
            }
        }
    }

    func record(_ frames: [[UInt8]]) throws -> (events: [String], summary: TrafficRecorder.Summary) {
        var events: [String] = []
        let recorder = TrafficRecorder(options: TrafficRecorder.Options(port: 6379, protocol: .resp)) { e in
            events.append("\(e.process) \(e.type.rawValue) \(e.f) \(e.key ?? "-") \(e.value)")
        }
        for (i, f) in frames.enumerated() { try recorder.frame(f, link: .raw, timeNs: Int64(i)) }
        return (events, try recorder.finish())
    }

    let requests = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n10\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"
    let replies = "+OK\r\n$2\r\n10\r\n:1\r\n"
    let expected = [
        "0 invoke write k 10", "0 invoke read k null", "0 invoke delete k null",
        "0 ok write k 10", "0 ok read k 10", "0 ok delete k null",
    ]

    @Test func inOrderPipelinedConnection() throws {
        let (events, summary) = try record(frames(requests: requests, replies: replies, chunk: 7))
        #expect(events == expected)
        #expect(summary.connections == 1 && summary.problems.isEmpty)
    }

    @Test func reversedAndRetransmittedRequestSegmentsGiveTheSameHistory() throws {
        let all = frames(requests: requests, replies: replies, chunk: 7)
        // Handshake first, then the request segments backwards with every one sent twice,
        // then the reply and the FINs.
        let handshake = Array(all[0..<3]), data = Array(all[3..<(all.count - 3)]), tail = Array(all.suffix(3))
        let shuffled = handshake + data.reversed().flatMap { [$0, $0] } + tail
        let (events, summary) = try record(shuffled)
        #expect(events == expected)
        #expect(summary.problems.isEmpty)
    }

    @Test func otherPortsAreSkippedAndAReusedPortPairIsANewProcess() throws {
        let once = frames(requests: requests, replies: replies, chunk: 1000)
        let (events, summary) = try record(once + once)
        #expect(summary.connections == 2)
        #expect(events.filter { $0.hasPrefix("1 ") }.count == 6, "\(events)")
        let elsewhere = TrafficRecorder(options: TrafficRecorder.Options(port: 11211, protocol: .memcached)) { _ in }
        for f in once { try elsewhere.frame(f, link: .raw, timeNs: 0) }
        #expect(elsewhere.summary.skippedPackets == once.count)
    }
}
