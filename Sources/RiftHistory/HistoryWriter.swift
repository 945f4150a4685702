import Foundation
import RiftCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension HistoryEvent {
    /// The event as one JSON Lines line, without the newline. Fields in a fixed order.
    public func jsonLine() -> String {
        var out = "{\"type\":\"\(type.rawValue)\",\"process\":"
        switch process {
        case .client(let n): out += String(n)
        case .named(let s): JSONText.appendQuoted(s, to: &out)
        }
        out += ",\"f\":"
        JSONText.appendQuoted(f, to: &out)
        if let key {
            out += ",\"key\":"
            JSONText.appendQuoted(key, to: &out)
        }
        out += ",\"value\":"
        value.appendJSON(to: &out)
        out += ",\"time\":\(time)"
        if let node {
            out += ",\"node\":"
            JSONText.appendQuoted(node, to: &out)
        }
        if let session {
            out += ",\"session\":"
            JSONText.appendQuoted(session, to: &out)
        }
        out += "}"
        return out
    }
}

/// The metadata first line: `{"rift_history":1, ...}`.
public func historyHeaderLine(_ metadata: [String: HistoryValue]) -> String {
    var m = metadata
    m["rift_history"] = .int(1)
    return HistoryValue.object(m).description
}

/// Appends a history to a file so that a crash loses at most the unflushed tail, and never
/// leaves half a line except possibly the very last one (which readers tolerate).
///
/// Events are encoded whole into a bounded buffer; the buffer is written with `write(2)` on the
/// flush policy, when it would exceed `bufferLimitBytes`, and on `close()`. Safe to call from
/// several threads; each event is one whole line.
public final class HistoryWriter: Sendable {
    public enum FlushPolicy: Sendable, Equatable {
        /// Write every event as it comes (slowest, loses nothing that returned).
        case everyEvent
        /// Write when `bufferLimitBytes` would be exceeded, and on close.
        case whenFull
        /// Write when the oldest buffered event is older than this many nanoseconds, or when full.
        case intervalNanoseconds(Int64)
    }

    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var path: String
        public var errno: Int32
        public var description: String { "\(path): \(String(cString: strerror(errno)))" }
    }

    public let path: String
    public let bufferLimitBytes: Int
    public let policy: FlushPolicy
    private let output: Mutex<Output>
    private let fsyncOnClose: Bool

    /// The descriptor and what is buffered for it; one lock holder at a time.
    private struct Output {
        var fd: Int32
        var buffer: [UInt8] = []
        var oldestBufferedNs: Int64?

        /// Writes everything buffered to `fd`.
        mutating func flush(path: String) throws(Failure) {
            guard !buffer.isEmpty else { return }
            guard fd >= 0 else { throw Failure(path: path, errno: EBADF) }
            let fd = self.fd
            var offset = 0
            let result: Int32? = buffer.withUnsafeBytes { raw in
                while offset < raw.count {
                    let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return errno
                    }
                    offset += n
                }
                return nil
            }
            buffer.removeAll(keepingCapacity: true)
            oldestBufferedNs = nil
            if let e = result { throw Failure(path: path, errno: e) }
        }
    }

    /// Creates (truncating) `path` and writes the metadata line when `metadata` is given.
    public init(
        path: String, metadata: [String: HistoryValue]? = nil, policy: FlushPolicy = .intervalNanoseconds(100_000_000),
        bufferLimitBytes: Int = 1 << 20, fsyncOnClose: Bool = true
    ) throws(Failure) {
        self.path = path
        self.policy = policy
        self.bufferLimitBytes = max(256, bufferLimitBytes)
        self.fsyncOnClose = fsyncOnClose
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
        guard fd >= 0 else { throw Failure(path: path, errno: errno) }
        var output = Output(fd: fd)
        output.buffer.reserveCapacity(self.bufferLimitBytes)
        self.output = Mutex(output)
        if let metadata {
            try appendLine(historyHeaderLine(metadata))
            try flush()
        }
    }

    deinit {
        output.withLock { output in
            if output.fd >= 0 {
                try? output.flush(path: path)
                Glibc_close(output.fd)
            }
        }
    }

    public func append(_ event: HistoryEvent) throws(Failure) {
        try appendLine(event.jsonLine())
    }

    private func appendLine(_ line: String) throws(Failure) {
        try output.withLock { (output: inout Output) throws(Failure) in
            let bytes = Array(line.utf8) + [0x0A]
            if output.buffer.count + bytes.count > bufferLimitBytes { try output.flush(path: path) }
            output.buffer.append(contentsOf: bytes)
            let now = RiftHistoryClock.now()
            if output.oldestBufferedNs == nil { output.oldestBufferedNs = now }
            switch policy {
            case .everyEvent: try output.flush(path: path)
            case .whenFull: break
            case .intervalNanoseconds(let ns):
                if let oldest = output.oldestBufferedNs, now - oldest >= ns { try output.flush(path: path) }
            }
        }
    }

    /// Writes everything buffered.
    public func flush() throws(Failure) {
        try output.withLock { (output: inout Output) throws(Failure) in try output.flush(path: path) }
    }

    /// Flushes, optionally fsyncs, and closes. Further appends fail with EBADF.
    public func close() throws(Failure) {
        try output.withLock { (output: inout Output) throws(Failure) in
            guard output.fd >= 0 else { return }
            try output.flush(path: path)
            if fsyncOnClose { _ = fsync(output.fd) }
            Glibc_close(output.fd)
            output.fd = -1
        }
    }
}

private func Glibc_close(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #elseif canImport(Darwin)
    _ = Darwin.close(fd)
    #endif
}

enum RiftHistoryClock {
    static func now() -> Int64 { RiftClock.monotonicNanoseconds() }
}
