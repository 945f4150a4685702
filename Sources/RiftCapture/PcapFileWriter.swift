import CPcap
import Foundation

/// Writes raw IPv4 packets to pcap files through libpcap's dump writer, starting a new file
/// when the current one would grow past `rotateBytes`: `path`, then `path.1`, `path.2`...
/// Keeps at most `maxFiles` files (the oldest is deleted). Used by one thread at a time.
public final class PcapFileWriter {
    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public let path: String
    /// 0: never rotate.
    public let rotateBytes: Int64
    public let maxFiles: Int
    /// Files written so far, oldest first (deleted ones are gone from the list).
    public private(set) var files: [String] = []
    public private(set) var packetsWritten: Int64 = 0
    private let dead: OpaquePointer
    private var dumper: OpaquePointer?
    private var fileBytes: Int64 = 0
    private var fileIndex = 0
    private var packetsInFile = 0
    static let fileHeaderBytes: Int64 = 24
    static let recordHeaderBytes: Int64 = 16

    /// Opens `path` (truncating it) or throws naming the path and libpcap's reason.
    public init(path: String, rotateBytes: Int64 = 0, maxFiles: Int = 100) throws(Failure) {
        self.path = path
        self.rotateBytes = max(0, rotateBytes)
        self.maxFiles = max(1, maxFiles)
        guard let dead = pcap_open_dead(DLT_RAW, 65_535) else {
            throw Failure(path: path, reason: "libpcap could not make a dead handle")
        }
        self.dead = dead
        // Every property is set: on a throw `deinit` runs and closes `dead`.
        try openFile(path)
    }

    deinit {
        close()
        pcap_close(dead)
    }

    private func openFile(_ name: String) throws(Failure) {
        guard let d = pcap_dump_open(dead, name) else {
            throw Failure(path: name, reason: String(cString: pcap_geterr(dead)))
        }
        dumper = d
        fileBytes = Self.fileHeaderBytes
        packetsInFile = 0
        files.append(name)
        while files.count > maxFiles { unlink(files.removeFirst()) }
    }

    /// Appends one packet with its capture time.
    public func write(_ packet: [UInt8], seconds: Int, microseconds: Int) throws(Failure) {
        let size = Self.recordHeaderBytes + Int64(packet.count)
        if rotateBytes > 0, packetsInFile > 0, fileBytes + size > rotateBytes {
            close()
            fileIndex += 1
            try openFile("\(path).\(fileIndex)")
        }
        guard let dumper else { throw Failure(path: path, reason: "the capture file is closed") }
        var header = pcap_pkthdr()
        header.ts.tv_sec = seconds
        header.ts.tv_usec = microseconds
        header.caplen = UInt32(packet.count)
        header.len = UInt32(packet.count)
        packet.withUnsafeBufferPointer { bytes in
            pcap_dump(UnsafeMutablePointer<UInt8>(dumper), &header, bytes.baseAddress)
        }
        fileBytes += size
        packetsInFile += 1
        packetsWritten += 1
    }

    /// Pushes buffered packets to the file, so readers see them.
    public func flush() {
        if let dumper { _ = pcap_dump_flush(dumper) }
    }

    public func close() {
        if let dumper { pcap_dump_close(dumper) }
        dumper = nil
    }
}
