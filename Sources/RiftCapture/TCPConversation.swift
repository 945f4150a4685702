import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One synthesized packet waiting for the writer thread: headers as values, the payload as
/// the proxied buffer itself (a reference, not a copy).
public struct CaptureRecord: Sendable {
    public var source: CaptureEndpoint
    public var destination: CaptureEndpoint
    public var seq: UInt32
    public var ack: UInt32
    public var flags: TCPFlags
    public var payload: ByteBuffer?
    public var seconds: Int
    public var microseconds: Int

    public init(
        source: CaptureEndpoint, destination: CaptureEndpoint, seq: UInt32, ack: UInt32, flags: TCPFlags,
        payload: ByteBuffer?, seconds: Int, microseconds: Int
    ) {
        self.source = source
        self.destination = destination
        self.seq = seq
        self.ack = ack
        self.flags = flags
        self.payload = payload
        self.seconds = seconds
        self.microseconds = microseconds
    }

    /// Bytes the record stands for in the queue's byte limit.
    public var size: Int { 40 + (payload?.readableBytes ?? 0) }
}

/// The TCP state of one leg of a proxied connection, as a capture shows it: who opened it,
/// the next sequence number of each side, and whether each side has sent its FIN. Pure: the
/// tap handler asks it for records and hands them to the capture.
public struct TCPConversation: Sendable {
    public let local: CaptureEndpoint
    public let remote: CaptureEndpoint
    /// True for the upstream leg (the proxy dials), false for the client leg.
    public let localOpens: Bool
    public private(set) var localNext: UInt32
    public private(set) var remoteNext: UInt32
    public private(set) var localFinished = false
    public private(set) var remoteFinished = false

    public init(local: CaptureEndpoint, remote: CaptureEndpoint, localOpens: Bool, localISN: UInt32, remoteISN: UInt32) {
        self.local = local
        self.remote = remote
        self.localOpens = localOpens
        localNext = localISN
        remoteNext = remoteISN
    }

    /// SYN, SYN-ACK, ACK from whichever side opened. Each SYN takes one sequence number.
    public mutating func handshake(at time: CaptureTime) -> [CaptureRecord] {
        let (openerIsLocal, a, b) = (localOpens, localOpens ? local : remote, localOpens ? remote : local)
        var openerSeq = openerIsLocal ? localNext : remoteNext
        var acceptorSeq = openerIsLocal ? remoteNext : localNext
        var out = [record(a, b, openerSeq, 0, .syn, nil, time)]
        openerSeq &+= 1
        out.append(record(b, a, acceptorSeq, openerSeq, [.syn, .ack], nil, time))
        acceptorSeq &+= 1
        out.append(record(a, b, openerSeq, acceptorSeq, .ack, nil, time))
        if openerIsLocal { (localNext, remoteNext) = (openerSeq, acceptorSeq) } else { (remoteNext, localNext) = (openerSeq, acceptorSeq) }
        return out
    }

    /// Data one side sent; nil for an empty buffer.
    public mutating func data(fromLocal: Bool, _ payload: ByteBuffer, at time: CaptureTime) -> CaptureRecord? {
        let n = payload.readableBytes
        guard n > 0 else { return nil }
        if fromLocal {
            defer { localNext &+= UInt32(truncatingIfNeeded: n) }
            return record(local, remote, localNext, remoteNext, [.psh, .ack], payload, time)
        } else {
            defer { remoteNext &+= UInt32(truncatingIfNeeded: n) }
            return record(remote, local, remoteNext, localNext, [.psh, .ack], payload, time)
        }
    }

    /// A side's FIN, once; nil when it already sent one.
    public mutating func fin(fromLocal: Bool, at time: CaptureTime) -> CaptureRecord? {
        if fromLocal {
            guard !localFinished else { return nil }
            localFinished = true
            defer { localNext &+= 1 }
            return record(local, remote, localNext, remoteNext, [.fin, .ack], nil, time)
        } else {
            guard !remoteFinished else { return nil }
            remoteFinished = true
            defer { remoteNext &+= 1 }
            return record(remote, local, remoteNext, localNext, [.fin, .ack], nil, time)
        }
    }

    /// A RST from one side, once, ending the conversation (no FINs follow it).
    public mutating func reset(fromLocal: Bool, at time: CaptureTime) -> CaptureRecord? {
        guard !(localFinished && remoteFinished) else { return nil }
        localFinished = true
        remoteFinished = true
        return fromLocal
            ? record(local, remote, localNext, remoteNext, [.rst, .ack], nil, time)
            : record(remote, local, remoteNext, localNext, [.rst, .ack], nil, time)
    }

    private func record(
        _ s: CaptureEndpoint, _ d: CaptureEndpoint, _ seq: UInt32, _ ack: UInt32, _ flags: TCPFlags,
        _ payload: ByteBuffer?, _ time: CaptureTime
    ) -> CaptureRecord {
        CaptureRecord(source: s, destination: d, seq: seq, ack: ack, flags: flags, payload: payload,
                      seconds: time.seconds, microseconds: time.microseconds)
    }
}

/// Wall-clock time of a captured event, as pcap stores it.
public struct CaptureTime: Sendable, Equatable {
    public var seconds: Int
    public var microseconds: Int

    public init(seconds: Int, microseconds: Int) {
        self.seconds = seconds
        self.microseconds = microseconds
    }

    public static func now() -> CaptureTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return CaptureTime(seconds: Int(ts.tv_sec), microseconds: Int(ts.tv_nsec) / 1000)
    }
}

extension CaptureEndpoint {
    /// The IPv4 address and port of a socket address. Captures are IPv4 only: an IPv6 or
    /// Unix address becomes 127.0.0.1 with its port (0 for Unix sockets).
    public init(_ address: SocketAddress?) {
        if case .v4(let v4)? = address {
            self.init(address: UInt32(bigEndian: v4.address.sin_addr.s_addr), port: UInt16(clamping: address?.port ?? 0))
        } else {
            self.init(address: 0x7F00_0001, port: UInt16(clamping: address?.port ?? 0))
        }
    }
}
