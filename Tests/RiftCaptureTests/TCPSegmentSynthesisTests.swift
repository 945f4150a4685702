import NIOCore
import RiftCapture
import RiftRecord
import Testing

@Suite struct TCPSegmentSynthesisTests {
    let a = CaptureEndpoint(dotted: "10.0.0.1", port: 40000)!
    let b = CaptureEndpoint(dotted: "192.168.1.2", port: 6379)!

    func packet(_ payload: [UInt8], seq: UInt32 = 1000, ack: UInt32 = 2000, flags: TCPFlags = [.psh, .ack]) -> [UInt8] {
        payload.withUnsafeBytes { TCPSegmentSynthesis.packet(from: a, to: b, seq: seq, ack: ack, flags: flags, payload: $0, identification: 7) }
    }

    @Test func ipv4HeaderHasItsFieldsAndAValidChecksum() {
        let p = packet(Array("*1\r\n$4\r\nPING\r\n".utf8))
        #expect(p.count == 40 + 14)
        #expect(p[0] == 0x45)
        #expect(Int(p[2]) << 8 | Int(p[3]) == 54)
        #expect(p[9] == 6)
        #expect(Array(p[12..<20]) == [10, 0, 0, 1, 192, 168, 1, 2])
        // A header summed with its checksum in place complements to zero.
        #expect(TCPSegmentSynthesis.checksum(p[0..<20]) == 0)
        // A known header (Wikipedia's IPv4 checksum example) gives the known checksum.
        let example: [UInt8] = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0, 0, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7]
        #expect(TCPSegmentSynthesis.checksum(example) == 0xB861)
    }

    @Test func tcpChecksumVerifiesOverThePseudoHeader() {
        for payload in [[UInt8](), Array("odd".utf8), Array("even".utf8)] {
            let p = packet(payload)
            let length = UInt32(p.count - 20)
            let pseudo: UInt32 = (a.address >> 16) + (a.address & 0xFFFF) + (b.address >> 16) + (b.address & 0xFFFF) + 6 + length
            #expect(TCPSegmentSynthesis.checksum(p[20...], initial: pseudo) == 0, "payload \(payload)")
        }
    }

    @Test func aSynthesizedPacketDecodesBack() throws {
        let payload = Array("+OK\r\n".utf8)
        let segment = try #require(PacketDecoder.decode(packet(payload, seq: 0xFFFF_FFF0, ack: 5), link: .raw))
        #expect(segment.source == FlowEndpoint(address: [10, 0, 0, 1], port: 40000))
        #expect(segment.destination == FlowEndpoint(address: [192, 168, 1, 2], port: 6379))
        #expect(segment.seq == 0xFFFF_FFF0)
        #expect(segment.ack == 5)
        #expect(segment.ackFlag && !segment.syn && !segment.fin)
        #expect(Array(segment.payload) == payload)
    }

    @Test func conversationNumbersBytesAcrossHandshakeDataAndFin() {
        let t = CaptureTime(seconds: 1, microseconds: 2)
        var c = TCPConversation(local: b, remote: a, localOpens: false, localISN: 500, remoteISN: 0xFFFF_FFFF)
        let hs = c.handshake(at: t)
        // The remote (client) opens: SYN from it, SYN-ACK from local, ACK from it.
        #expect(hs.map(\.flags) == [.syn, [.syn, .ack], .ack])
        #expect(hs[0].source == a && hs[0].seq == 0xFFFF_FFFF)
        #expect(hs[1].source == b && hs[1].seq == 500 && hs[1].ack == 0)  // the SYN took one number (wrapping)
        #expect(hs[2].seq == 0 && hs[2].ack == 501)
        let request = c.data(fromLocal: false, ByteBuffer(string: "hello"), at: t)!
        #expect(request.seq == 0 && request.ack == 501 && request.source == a)
        let reply = c.data(fromLocal: true, ByteBuffer(string: "hi"), at: t)!
        #expect(reply.seq == 501 && reply.ack == 5 && reply.source == b)
        #expect(c.data(fromLocal: true, ByteBuffer(), at: t) == nil)
        let fin = c.fin(fromLocal: true, at: t)!
        #expect(fin.seq == 503 && fin.flags == [.fin, .ack])
        #expect(c.fin(fromLocal: true, at: t) == nil, "one FIN per side")
        #expect(c.fin(fromLocal: false, at: t)!.seq == 5)
        #expect(c.reset(fromLocal: false, at: t) == nil, "nothing to reset after both FINs")
    }

    @Test func aResetEndsTheConversationWithoutFins() {
        let t = CaptureTime(seconds: 1, microseconds: 2)
        var c = TCPConversation(local: a, remote: b, localOpens: true, localISN: 10, remoteISN: 20)
        _ = c.handshake(at: t)
        _ = c.data(fromLocal: true, ByteBuffer(string: "abc"), at: t)
        let rst = c.reset(fromLocal: false, at: t)!
        #expect(rst.flags == [.rst, .ack] && rst.source == b && rst.seq == 21 && rst.ack == 14)
        #expect(c.fin(fromLocal: true, at: t) == nil && c.fin(fromLocal: false, at: t) == nil)
    }
}
