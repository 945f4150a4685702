import RiftCapture
import RiftRecord
import Testing

@Suite struct PacketDecoderTests {
    let ip: [UInt8] = {
        let a = CaptureEndpoint(dotted: "127.0.0.1", port: 51000)!, b = CaptureEndpoint(dotted: "127.0.0.1", port: 6379)!
        return Array("+OK\r\n".utf8).withUnsafeBytes {
            TCPSegmentSynthesis.packet(from: a, to: b, seq: 42, ack: 7, flags: [.ack, .psh], payload: $0)
        }
    }()

    func expectOK(_ frame: [UInt8], _ link: LinkType, sourceLocation: SourceLocation = #_sourceLocation) {
        let s = PacketDecoder.decode(frame, link: link)
        #expect(s?.seq == 42 && s?.destination.port == 6379 && s.map { Array($0.payload) } == Array("+OK\r\n".utf8),
                "\(link)", sourceLocation: sourceLocation)
    }

    @Test func everySupportedLinkTypeReachesTheTCPPayload() {
        expectOK(ip, .raw)
        expectOK([2, 0, 0, 0] + ip, .null)  // AF_INET, little-endian host order
        expectOK([0, 0, 0, 2] + ip, .loop)
        let macs = [UInt8](repeating: 0, count: 12)
        expectOK(macs + [0x08, 0x00] + ip, .ethernet)
        expectOK(macs + [0x81, 0x00, 0x00, 0x05, 0x08, 0x00] + ip, .ethernet)  // one 802.1Q tag
        expectOK(macs + [0x08, 0x00] + ip + [0, 0, 0, 0], .ethernet)  // trailing padding is not payload
        expectOK([0, 0, 0, 1, 0, 6] + [UInt8](repeating: 0, count: 8) + [0x08, 0x00] + ip, .linuxSLL)
        expectOK([0x08, 0x00, 0, 0] + [UInt8](repeating: 0, count: 16) + ip, .linuxSLL2)
        #expect(LinkType(dlt: 1) == .ethernet && LinkType(dlt: 113) == .linuxSLL && LinkType(dlt: 147) == nil)
    }

    @Test func ipv6SegmentsDecode() throws {
        var v6: [UInt8] = [0x60, 0, 0, 0]
        let tcp = Array(ip[20...])
        v6 += [UInt8(tcp.count >> 8), UInt8(tcp.count & 0xFF), 6, 64]
        v6 += [UInt8](repeating: 0, count: 15) + [1] + [UInt8](repeating: 0, count: 15) + [1]
        let s = try #require(PacketDecoder.decode(v6 + tcp, link: .raw))
        #expect(s.source.description == "[0:0:0:0:0:0:0:1]:51000")
        #expect(Array(s.payload) == Array("+OK\r\n".utf8))
    }

    @Test func truncatedFragmentedAndForeignFramesAreSkippedNeverTrapped() {
        for n in 0..<ip.count { _ = PacketDecoder.decode(Array(ip.prefix(n)), link: .raw) }
        #expect(PacketDecoder.decode(Array(ip.prefix(30)), link: .raw) == nil)
        var fragment = ip
        fragment[6] = 0x20  // more fragments
        #expect(PacketDecoder.decode(fragment, link: .raw) == nil)
        var udp = ip
        udp[9] = 17
        #expect(PacketDecoder.decode(udp, link: .raw) == nil)
        #expect(PacketDecoder.decode([UInt8](repeating: 0, count: 12) + [0x08, 0x06] + ip, link: .ethernet) == nil, "ARP")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let junk = (0..<Int.random(in: 0..<80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for link in [LinkType.raw, .null, .ethernet, .linuxSLL, .linuxSLL2] { _ = PacketDecoder.decode(junk, link: link) }
        }
    }
}
