import CPcap

#if canImport(Glibc)
import Glibc
#endif

/// Frames from libpcap: a saved capture file, or a live interface filtered to one TCP port.
public final class PcapSource {
    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable { case badInput, permission }
        public var kind: Kind
        public var description: String
    }

    public enum Next {
        case frame([UInt8], timeNs: Int64)
        /// A live capture's read timeout passed with nothing to read.
        case idle
        case end
    }

    public let link: LinkType
    private let handle: OpaquePointer
    private let nanoseconds: Bool
    /// For a live capture: the descriptor to poll between non-blocking reads.
    private var selectable: Int32 = -1

    /// Opens a pcap (or pcapng) file.
    public init(file path: String) throws(Failure) {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let h = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            let reason = Self.text(errbuf)
            throw Failure(kind: .badInput, description: reason.contains(path) ? reason : "\(path): \(reason)")
        }
        handle = h
        nanoseconds = true
        link = try Self.linkType(h, source: path)
    }

    /// Opens `interface` for live capture of `tcp port <port>`. Needs root or CAP_NET_RAW.
    public init(interface: String, port: UInt16, snapshotLength: Int32 = 262_144) throws(Failure) {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let h = pcap_create(interface, &errbuf) else {
            throw Failure(kind: .badInput, description: "--interface \(interface): \(Self.text(errbuf))")
        }
        _ = pcap_set_snaplen(h, snapshotLength)
        _ = pcap_set_promisc(h, 0)
        _ = pcap_set_timeout(h, 100)
        _ = pcap_set_immediate_mode(h, 1)  // deliver packets as they come, not per buffer
        _ = pcap_set_buffer_size(h, 8 << 20)
        let precise = pcap_set_tstamp_precision(h, Int32(PCAP_TSTAMP_PRECISION_NANO)) == 0
        let status = pcap_activate(h)
        if status < 0 {
            let detail = String(cString: pcap_geterr(h))
            pcap_close(h)
            switch status {
            case PCAP_ERROR_PERM_DENIED:
                throw Failure(kind: .permission, description: "capturing on \(interface) needs root or CAP_NET_RAW (e.g. sudo setcap cap_net_raw+ep $(which rift)): \(detail)")
            case PCAP_ERROR_NO_SUCH_DEVICE:
                throw Failure(kind: .badInput, description: "--interface \(interface): no such interface")
            default:
                throw Failure(kind: .badInput, description: "--interface \(interface): \(detail)")
            }
        }
        handle = h
        nanoseconds = precise
        link = try Self.linkType(h, source: "--interface \(interface)")
        var program = bpf_program()
        let filter = "tcp port \(port)"
        // From here on `deinit` closes the handle.
        guard pcap_compile(h, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            let detail = String(cString: pcap_geterr(h))
            throw Failure(kind: .badInput, description: "filter '\(filter)': \(detail)")
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(h, &program) == 0 else {
            let detail = String(cString: pcap_geterr(h))
            throw Failure(kind: .badInput, description: "filter '\(filter)': \(detail)")
        }
        // In immediate mode a blocking read ignores the timeout; read without blocking and
        // wait in poll(2) instead, so that --duration and SIGINT are noticed.
        var errbuf2 = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard pcap_setnonblock(h, 1, &errbuf2) == 0 else {
            throw Failure(kind: .badInput, description: "--interface \(interface): \(Self.text(errbuf2))")
        }
        selectable = pcap_get_selectable_fd(h)
    }

    deinit { pcap_close(handle) }

    /// libpcap's NUL-terminated error buffer as text.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The handle's link type, or the handle closed and an error naming `source`.
    private static func linkType(_ h: OpaquePointer, source: String) throws(Failure) -> LinkType {
        let dlt = pcap_datalink(h)
        guard let link = LinkType(dlt: dlt) else {
            pcap_close(h)
            throw Failure(kind: .badInput, description: "\(source): link type \(dlt) is not supported (Ethernet, loopback, Linux cooked and raw IP are)")
        }
        return link
    }

    /// The next frame, `idle` after a live read timeout, `end` at the end of a file.
    public func next() throws(Failure) -> Next {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        switch pcap_next_ex(handle, &header, &data) {
        case 1:
            guard let header, let data else { return .idle }
            let h = header.pointee
            let frame = Array(UnsafeBufferPointer(start: data, count: Int(h.caplen)))
            let fraction = Int64(h.ts.tv_usec) * (nanoseconds ? 1 : 1000)
            return .frame(frame, timeNs: Int64(h.ts.tv_sec) * 1_000_000_000 + fraction)
        case 0:
            if selectable >= 0 {
                var fd = pollfd(fd: selectable, events: Int16(POLLIN), revents: 0)
                _ = poll(&fd, 1, 100)
            }
            return .idle
        case PCAP_ERROR_BREAK:
            return .end
        default:
            throw Failure(kind: .badInput, description: String(cString: pcap_geterr(handle)))
        }
    }

    /// Frames dropped by the kernel or the interface during a live capture.
    public var droppedByKernel: UInt32 {
        var stats = pcap_stat()
        guard pcap_stats(handle, &stats) == 0 else { return 0 }
        return stats.ps_drop &+ stats.ps_ifdrop
    }
}
