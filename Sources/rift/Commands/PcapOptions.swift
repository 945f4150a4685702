import ArgumentParser
import Foundation
import RiftCapture
import RiftControl

/// `--pcap FILE` and its rotation: every proxied connection, both legs, in pcap files.
struct PcapOptions: ParsableArguments {
    @Option(name: .customLong("pcap"), help: "Write every proxied connection (both legs) to this pcap file.")
    var path: String?

    @Option(name: .customLong("pcap-rotate-bytes"), help: "Start FILE.1, FILE.2... when a file would pass this size (e.g. 100MB; 0: never).")
    var rotateBytes: String = "0"

    @Option(name: .customLong("pcap-max-files"), help: "Keep at most this many capture files; the oldest is deleted.")
    var maxFiles: Int = 100

    /// The capture, or nil without --pcap; bad values and unwritable files exit 2.
    func open() throws -> PacketCapture? {
        guard let path else { return nil }
        guard let bytes = ByteSize.parse(rotateBytes) else {
            throw CLIFailure.badInput("--pcap-rotate-bytes '\(rotateBytes)': expected a size such as 1048576, 512KB, 100MB or 2GB")
        }
        guard (1...100_000).contains(maxFiles) else {
            throw CLIFailure.badInput("--pcap-max-files \(maxFiles) is out of range 1...100000")
        }
        do {
            return try PacketCapture(PacketCapture.Options(path: path, rotateBytes: bytes, maxFiles: maxFiles))
        } catch {
            throw CLIFailure.badInput("--pcap \(error)")
        }
    }

    /// Closes the capture and says what it wrote and dropped (also in the event log).
    func finish(_ capture: PacketCapture, log: EventLog) {
        capture.close()
        let s = capture.stats
        var detail: [String: JSONValue] = [
            "packets": .integer(s.packetsWritten), "dropped_records": .integer(s.dropped),
            "dropped_bytes": .integer(s.droppedBytes), "files": .array(s.files.map { .string($0) }),
        ]
        if let e = s.writeError { detail["error"] = .string(e) }
        log.record("pcap.close", detail: .object(detail))
        say("rift server: pcap: \(s.packetsWritten) packets in \(s.files.count) file(s), \(s.dropped) records dropped (queue full)"
            + (s.writeError.map { ", writing stopped: \($0)" } ?? ""))
    }
}

/// Byte sizes on the command line: a whole number with an optional KB, MB or GB (powers of 1024).
enum ByteSize {
    static func parse(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        for (suffix, scale) in [("KB", Int64(1) << 10), ("MB", Int64(1) << 20), ("GB", Int64(1) << 30), ("B", Int64(1))] where t.hasSuffix(suffix) {
            guard let n = Int64(t.dropLast(suffix.count)), n >= 0, n <= Int64.max / scale else { return nil }
            return n * scale
        }
        guard let n = Int64(t), n >= 0 else { return nil }
        return n
    }
}
