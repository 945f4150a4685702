/// An address and port of either IP family, as a capture shows it.
public struct FlowEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: [UInt8]
    public var port: UInt16

    public init(address: [UInt8], port: UInt16) {
        self.address = address
        self.port = port
    }

    public var description: String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") + ":\(port)" }
        var groups: [String] = []
        for i in stride(from: 0, to: address.count, by: 2) {
            groups.append(String(UInt16(address[i]) << 8 | UInt16(address[i + 1]), radix: 16))
        }
        return "[\(groups.joined(separator: ":"))]:\(port)"
    }
}

/// One TCP segment out of a captured frame.
public struct DecodedSegment: Equatable, Sendable {
    public var source: FlowEndpoint
    public var destination: FlowEndpoint
    public var seq: UInt32
    public var ack: UInt32
    public var syn: Bool
    public var fin: Bool
    public var rst: Bool
    public var ackFlag: Bool
    public var payload: ArraySlice<UInt8>
}

/// Link-layer types `rift record` reads, by libpcap's DLT numbers (as `pcap_datalink` gives
/// them on Linux, plus the LINKTYPE numbers a file may carry).
public enum LinkType: Sendable, Equatable {
    /// DLT_NULL (0): a 4-byte address family in the capturing host's byte order (BSD loopback).
    case null
    /// DLT_EN10MB (1): Ethernet, with 802.1Q tags.
    case ethernet
    /// DLT_RAW (12, 14, LINKTYPE_RAW 101), DLT_IPV4 (228), DLT_IPV6 (229): the IP header first.
    case raw
    /// DLT_LOOP (108): like DLT_NULL in network byte order.
    case loop
    /// DLT_LINUX_SLL (113): Linux "cooked" capture, as `-i any` gives.
    case linuxSLL
    /// DLT_LINUX_SLL2 (276).
    case linuxSLL2

    public init?(dlt: Int32) {
        switch dlt {
        case 0: self = .null
        case 1: self = .ethernet
        case 12, 14, 101, 228, 229: self = .raw
        case 108: self = .loop
        case 113: self = .linuxSLL
        case 276: self = .linuxSLL2
        default: return nil
        }
    }
}

/// Decodes captured frames down to TCP segments; anything else (ARP, UDP, IP fragments,
/// truncated frames) is nil. Never traps on any input.
public enum PacketDecoder {
    public static func decode(_ frame: [UInt8], link: LinkType) -> DecodedSegment? {
        var offset: Int
        var etherType: UInt16?
        switch link {
        case .raw:
            offset = 0
        case .null, .loop:
            guard frame.count >= 4 else { return nil }
            offset = 4
        case .ethernet:
            guard frame.count >= 14 else { return nil }
            offset = 12
            var type = be16(frame, offset)
            while type == 0x8100 || type == 0x88A8 {
                offset += 4
                guard frame.count >= offset + 2 else { return nil }
                type = be16(frame, offset)
            }
            etherType = type
            offset += 2
        case .linuxSLL:
            guard frame.count >= 16 else { return nil }
            etherType = be16(frame, 14)
            offset = 16
        case .linuxSLL2:
            guard frame.count >= 20 else { return nil }
            etherType = be16(frame, 0)
            offset = 20
        }
        if let etherType, etherType != 0x0800, etherType != 0x86DD { return nil }
        guard frame.count > offset else { return nil }
        // The IP version nibble decides (also for DLT_NULL, whose family values differ by OS).
        switch frame[offset] >> 4 {
        case 4: return ipv4(frame, offset)
        case 6: return ipv6(frame, offset)
        default: return nil
        }
    }

    private static func ipv4(_ f: [UInt8], _ at: Int) -> DecodedSegment? {
        guard f.count >= at + 20 else { return nil }
        let headerLength = Int(f[at] & 0x0F) * 4
        let total = Int(be16(f, at + 2))
        guard headerLength >= 20, total >= headerLength, f[at + 9] == 6 else { return nil }
        // Fragments (more-fragments set or an offset) are not reassembled.
        guard be16(f, at + 6) & 0x3FFF == 0 else { return nil }
        let end = min(f.count, at + total)  // Ethernet may pad short frames
        let src = Array(f[(at + 12)..<(at + 16)]), dst = Array(f[(at + 16)..<(at + 20)])
        return tcp(f, at + headerLength, end, src, dst)
    }

    private static func ipv6(_ f: [UInt8], _ at: Int) -> DecodedSegment? {
        guard f.count >= at + 40 else { return nil }
        var next = f[at + 6]
        let end = min(f.count, at + 40 + Int(be16(f, at + 4)))
        var offset = at + 40
        // Hop-by-hop, routing and destination options may precede TCP; a fragment header ends it.
        while next == 0 || next == 43 || next == 60 {
            guard end >= offset + 8 else { return nil }
            next = f[offset]
            offset += (Int(f[offset + 1]) + 1) * 8
        }
        guard next == 6 else { return nil }
        return tcp(f, offset, end, Array(f[(at + 8)..<(at + 24)]), Array(f[(at + 24)..<(at + 40)]))
    }

    private static func tcp(_ f: [UInt8], _ at: Int, _ end: Int, _ src: [UInt8], _ dst: [UInt8]) -> DecodedSegment? {
        guard end >= at + 20 else { return nil }
        let dataOffset = Int(f[at + 12] >> 4) * 4
        guard dataOffset >= 20, end >= at + dataOffset else { return nil }
        let flags = f[at + 13]
        return DecodedSegment(
            source: FlowEndpoint(address: src, port: be16(f, at)),
            destination: FlowEndpoint(address: dst, port: be16(f, at + 2)),
            seq: be32(f, at + 4), ack: be32(f, at + 8),
            syn: flags & 0x02 != 0, fin: flags & 0x01 != 0, rst: flags & 0x04 != 0, ackFlag: flags & 0x10 != 0,
            payload: f[(at + dataOffset)..<end])
    }

    private static func be16(_ f: [UInt8], _ at: Int) -> UInt16 { UInt16(f[at]) << 8 | UInt16(f[at + 1]) }
    private static func be32(_ f: [UInt8], _ at: Int) -> UInt32 {
        UInt32(f[at]) << 24 | UInt32(f[at + 1]) << 16 | UInt32(f[at + 2]) << 8 | UInt32(f[at + 3])
    }
}
