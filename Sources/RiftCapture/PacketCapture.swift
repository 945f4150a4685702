import Foundation
import RiftCore
import Synchronization

/// The proxy's packet capture: taps hand it records from the data path (`submit` never
/// waits), one writer thread turns them into packets in pcap files.
///
/// Limits: the queue holds at most `queueRecords` records and `queueBytes` payload bytes;
/// beyond that records are dropped and counted in `stats` (proxied bytes are never touched).
public final class PacketCapture: Sendable {
    public struct Options: Sendable, Equatable {
        public var path: String
        /// Start a new file when the current one would pass this size; 0: one file.
        public var rotateBytes: Int64
        public var maxFiles: Int
        public var queueRecords: Int
        public var queueBytes: Int

        public init(path: String, rotateBytes: Int64 = 0, maxFiles: Int = 100, queueRecords: Int = 65_536, queueBytes: Int = 64 << 20) {
            self.path = path
            self.rotateBytes = rotateBytes
            self.maxFiles = maxFiles
            self.queueRecords = queueRecords
            self.queueBytes = queueBytes
        }
    }

    public struct Stats: Sendable, Equatable {
        /// Records the data path handed over and the queue took.
        public var queued: Int64
        /// Records dropped because the queue was full (or the capture closed).
        public var dropped: Int64
        public var droppedBytes: Int64
        /// Packets in the files.
        public var packetsWritten: Int64
        /// The files written, oldest first.
        public var files: [String]
        /// Why writing stopped, if it did (a full disk, say).
        public var writeError: String?
    }

    public let options: Options
    let queue: CaptureQueue<CaptureRecord>
    private let state: Mutex<WriterState>
    private let finished = DispatchSemaphore(value: 0)

    private struct WriterState: Sendable {
        var packetsWritten: Int64 = 0
        var files: [String] = []
        var writeError: String?
    }

    /// Opens the first file (so a bad path fails here, naming it) and starts the writer thread.
    public init(_ options: Options) throws(PcapFileWriter.Failure) {
        self.options = options
        let writer = try PcapFileWriter(path: options.path, rotateBytes: options.rotateBytes, maxFiles: options.maxFiles)
        queue = CaptureQueue(maxRecords: options.queueRecords, maxBytes: options.queueBytes)
        state = Mutex(WriterState(files: writer.files))
        let box = UncheckedBox(writer)
        let thread = Thread { [self] in
            self.run(box.value)
            self.finished.signal()
        }
        thread.name = "rift-pcap-writer"
        thread.start()
    }

    /// Hands a record to the writer, or drops and counts it when the queue is full.
    public func submit(_ record: CaptureRecord) {
        queue.offer(record, size: record.size)
    }

    public var stats: Stats {
        let counts = queue.counts
        return state.withLock {
            Stats(queued: counts.enqueued, dropped: counts.dropped, droppedBytes: counts.droppedBytes,
                  packetsWritten: $0.packetsWritten, files: $0.files, writeError: $0.writeError)
        }
    }

    /// Stops taking records, writes what is queued, closes the file. Idempotent.
    public func close() {
        guard !queue.isClosed else { return }
        queue.close()
        finished.wait()
    }

    private func run(_ writer: PcapFileWriter) {
        var identification: UInt16 = 0
        while true {
            let batch = queue.takeAll(timeout: .milliseconds(200))
            if batch.isEmpty {
                if queue.isClosed { break }
                continue
            }
            do {
                for record in batch {
                    try write(record, to: writer, identification: &identification)
                }
                writer.flush()
            } catch {
                state.withLock { $0.writeError = "\(error)" }
                queue.close()
            }
            let (written, files) = (writer.packetsWritten, writer.files)
            state.withLock {
                $0.packetsWritten = written
                $0.files = files
            }
        }
        writer.close()
    }

    /// One record as one packet, or several when its payload is larger than a packet holds.
    private func write(_ record: CaptureRecord, to writer: PcapFileWriter, identification: inout UInt16) throws(PcapFileWriter.Failure) {
        var seq = record.seq
        var offset = 0
        let payload = record.payload
        let total = payload?.readableBytes ?? 0
        repeat {
            let n = min(total - offset, TCPSegmentSynthesis.maxPayload)
            let packet: [UInt8] = payload.map { buffer in
                buffer.withUnsafeReadableBytes { raw in
                    TCPSegmentSynthesis.packet(
                        from: record.source, to: record.destination, seq: seq, ack: record.ack, flags: record.flags,
                        payload: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + n]), identification: identification)
                }
            } ?? TCPSegmentSynthesis.packet(
                from: record.source, to: record.destination, seq: seq, ack: record.ack, flags: record.flags,
                payload: UnsafeRawBufferPointer(start: nil, count: 0), identification: identification)
            identification &+= 1
            try writer.write(packet, seconds: record.seconds, microseconds: record.microseconds)
            seq &+= UInt32(n)
            offset += n
        } while offset < total
    }
}

/// Moves a non-Sendable value into the one thread that will own it.
// @unchecked: the creator never touches the value again; only the thread it was handed to uses it.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
