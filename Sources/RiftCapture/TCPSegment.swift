/// One end of a synthesized TCP connection: an IPv4 address (host byte order) and a port.
public struct CaptureEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: UInt32
    public var port: UInt16

    public init(address: UInt32, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `a.b.c.d` and a port; nil when `dotted` is not an IPv4 address.
    public init?(dotted: String, port: UInt16) {
        let parts = dotted.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var address: UInt32 = 0
        for part in parts {
            guard let octet = UInt8(part) else { return nil }
            address = address << 8 | UInt32(octet)
        }
        self.init(address: address, port: port)
    }

    public var description: String {
        "\(address >> 24).\(address >> 16 & 0xFF).\(address >> 8 & 0xFF).\(address & 0xFF):\(port)"
    }
}

/// TCP flag bits as they sit in the header's 13th byte.
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
}

/// Builds IPv4+TCP packets (LINKTYPE_RAW: the packet starts at the IP header) for segments
/// the proxy never saw as packets: it reads and writes byte streams, so the capture writer
/// invents the headers, with real addresses and ports and sequence numbers that count bytes.
public enum TCPSegmentSynthesis {
    public static let ipv4HeaderLength = 20
    public static let tcpHeaderLength = 20
    /// The largest payload one synthesized packet carries (IPv4's total length is 16 bits).
    public static let maxPayload = 65_535 - ipv4HeaderLength - tcpHeaderLength

    /// The packet for one segment. `payload.count` must be at most `maxPayload`.
    /// `identification` fills the IPv4 id field (any value; Wireshark shows it).
    public static func packet(
        from source: CaptureEndpoint, to destination: CaptureEndpoint, seq: UInt32, ack: UInt32,
        flags: TCPFlags, payload: UnsafeRawBufferPointer, identification: UInt16 = 0
    ) -> [UInt8] {
        precondition(payload.count <= maxPayload, "segment payload too large")
        let total = ipv4HeaderLength + tcpHeaderLength + payload.count
        var p = [UInt8](repeating: 0, count: total)
        // IPv4 header.
        p[0] = 0x45  // version 4, 5 words
        put16(&p, 2, UInt16(total))
        put16(&p, 4, identification)
        put16(&p, 6, 0x4000)  // don't fragment
        p[8] = 64  // TTL
        p[9] = 6  // TCP
        put32(&p, 12, source.address)
        put32(&p, 16, destination.address)
        put16(&p, 10, checksum(p[0..<ipv4HeaderLength]))
        // TCP header.
        let t = ipv4HeaderLength
        put16(&p, t, source.port)
        put16(&p, t + 2, destination.port)
        put32(&p, t + 4, seq)
        put32(&p, t + 8, flags.contains(.ack) ? ack : 0)
        p[t + 12] = 0x50  // 5 words, no options
        p[t + 13] = flags.rawValue
        put16(&p, t + 14, 65_535)  // window
        if let base = payload.baseAddress, payload.count > 0 {
            p.withUnsafeMutableBytes { out in
                (out.baseAddress! + t + tcpHeaderLength).copyMemory(from: base, byteCount: payload.count)
            }
        }
        put16(&p, t + 16, tcpChecksum(p, source: source.address, destination: destination.address))
        return p
    }

    /// RFC 1071's ones' complement sum, complemented: the IPv4 header checksum. Summing a
    /// header that holds its checksum gives 0.
    public static func checksum<C: Collection>(_ bytes: C, initial: UInt32 = 0) -> UInt16 where C.Element == UInt8 {
        var sum = initial
        var high = true
        var word: UInt32 = 0
        for b in bytes {
            if high { word = UInt32(b) << 8 } else { sum &+= word | UInt32(b) }
            high.toggle()
        }
        if !high { sum &+= word }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// The TCP checksum over the pseudo header and the segment (which holds 0 in its
    /// checksum field while this runs).
    static func tcpChecksum(_ packet: [UInt8], source: UInt32, destination: UInt32) -> UInt16 {
        let length = UInt32(packet.count - ipv4HeaderLength)
        let pseudo = (source >> 16) + (source & 0xFFFF) + (destination >> 16) + (destination & 0xFFFF) + 6 + length
        return checksum(packet[ipv4HeaderLength...], initial: pseudo)
    }

    private static func put16(_ p: inout [UInt8], _ at: Int, _ v: UInt16) {
        p[at] = UInt8(v >> 8)
        p[at + 1] = UInt8(v & 0xFF)
    }

    private static func put32(_ p: inout [UInt8], _ at: Int, _ v: UInt32) {
        p[at] = UInt8(v >> 24)
        p[at + 1] = UInt8(v >> 16 & 0xFF)
        p[at + 2] = UInt8(v >> 8 & 0xFF)
        p[at + 3] = UInt8(v & 0xFF)
    }
}
