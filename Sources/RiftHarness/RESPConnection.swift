import Foundation
import RiftCore
#if canImport(Glibc)
import Glibc
#endif

/// A reply, as far as the harness needs: simple strings, errors, integers, bulk strings, arrays.
public enum RESPReply: Sendable, Equatable {
    case simple(String)
    case error(String)
    case integer(Int64)
    case bulk(String?)
    case array([RESPReply]?)
}

/// Why a request did not get a reply. A timeout or a broken connection leaves the request's
/// effect unknown (`info` in the history); a refused connection means it never ran (`fail`).
public enum RESPFailure: Error, Equatable, Sendable, CustomStringConvertible {
    case refused
    case timeout
    case closed
    case protocolError(String)

    public var description: String {
        switch self {
        case .refused: "connection refused"
        case .timeout: "timed out"
        case .closed: "connection closed"
        case .protocolError(let s): "protocol error: \(s)"
        }
    }
}

/// A blocking RESP client on one loopback socket, with a deadline on every request so that a
/// blackholed link yields a timeout, never a hang. One request in flight; not thread-safe.
public final class RESPConnection {
    private let socket: DeadlineSocket
    public var port: UInt16 { socket.port }

    public init(port: UInt16) { socket = DeadlineSocket(port: port) }

    public var isOpen: Bool { socket.isOpen }
    public func close() { socket.close() }

    /// Sends one command and reads one reply before `deadlineNs` (monotonic); the connection is
    /// closed on any failure so the next request starts clean.
    public func request(_ args: [String], deadlineNs: Int64) throws(RESPFailure) -> RESPReply {
        do {
            if !socket.isOpen { try socket.connect(deadlineNs: deadlineNs) }
            var out = "*\(args.count)\r\n"
            for a in args { out += "$\(a.utf8.count)\r\n\(a)\r\n" }
            try socket.send(Array(out.utf8), deadlineNs: deadlineNs)
            return try readReply(deadlineNs: deadlineNs)
        } catch {
            socket.close()
            throw error
        }
    }

    private func readReply(deadlineNs: Int64) throws(RESPFailure) -> RESPReply {
        let l = try socket.line(deadlineNs: deadlineNs)
        guard let kind = l.first else { throw .protocolError("empty line") }
        let rest = String(l.dropFirst())
        switch kind {
        case "+": return .simple(rest)
        case "-": return .error(rest)
        case ":":
            guard let v = Int64(rest) else { throw .protocolError("bad integer") }
            return .integer(v)
        case "$":
            guard let n = Int(rest), n >= -1, n < 64 << 20 else { throw .protocolError("bad bulk length") }
            if n == -1 { return .bulk(nil) }
            return .bulk(try socket.exact(n, deadlineNs: deadlineNs))
        case "*":
            guard let n = Int(rest), n >= -1, n < 1 << 20 else { throw .protocolError("bad array length") }
            if n == -1 { return .array(nil) }
            var items: [RESPReply] = []
            for _ in 0..<n { items.append(try readReply(deadlineNs: deadlineNs)) }
            return .array(items)
        default:
            throw .protocolError("unexpected reply type '\(kind)'")
        }
    }
}

/// A nonblocking loopback TCP socket driven with poll(2) against a monotonic deadline, read as
/// CRLF lines and counted bytes. Shared by the RESP and memcached clients.
final class DeadlineSocket {
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var position = 0
    let port: UInt16

    init(port: UInt16) { self.port = port }
    deinit { close() }

    var isOpen: Bool { fd >= 0 }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
        buffer.removeAll(keepingCapacity: true)
        position = 0
    }

    func connect(deadlineNs: Int64) throws(RESPFailure) {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard s >= 0 else { throw .closed }
        var one: Int32 = 1
        setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 && errno != EINPROGRESS {
            let e = errno
            _ = Glibc.close(s)
            throw e == ECONNREFUSED ? .refused : .closed
        }
        fd = s
        if r != 0 {
            try wait(events: Int16(POLLOUT), deadlineNs: deadlineNs)
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len)
            if err != 0 {
                close()
                throw err == ECONNREFUSED ? .refused : .closed
            }
        }
    }

    private func wait(events: Int16, deadlineNs: Int64) throws(RESPFailure) {
        while true {
            let left = deadlineNs - monotonicNs()
            if left <= 0 { throw .timeout }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&p, 1, Int32(min(left / 1_000_000 + 1, 60_000)))
            if n > 0 { return }
            if n < 0 && errno != EINTR { throw .closed }
        }
    }

    func send(_ bytes: [UInt8], deadlineNs: Int64) throws(RESPFailure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { try wait(events: Int16(POLLOUT), deadlineNs: deadlineNs); continue }
            if n < 0 && errno == EINTR { continue }
            throw .closed
        }
    }

    private func fill(deadlineNs: Int64) throws(RESPFailure) {
        if position > 0 && position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        }
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 { buffer.append(contentsOf: chunk[0..<n]); return }
            if n == 0 { throw .closed }
            if errno == EAGAIN || errno == EWOULDBLOCK { try wait(events: Int16(POLLIN), deadlineNs: deadlineNs); continue }
            if errno == EINTR { continue }
            throw .closed
        }
    }

    /// One line without its CRLF.
    func line(deadlineNs: Int64) throws(RESPFailure) -> String {
        while true {
            if let cr = buffer[position...].firstIndex(of: 0x0D), cr + 1 < buffer.count {
                guard buffer[cr + 1] == 0x0A else { throw .protocolError("CR without LF") }
                let s = String(decoding: buffer[position..<cr], as: UTF8.self)
                position = cr + 2
                return s
            }
            if buffer.count - position > 1 << 20 { throw .protocolError("line too long") }
            try fill(deadlineNs: deadlineNs)
        }
    }

    /// `n` bytes followed by CRLF.
    func exact(_ n: Int, deadlineNs: Int64) throws(RESPFailure) -> String {
        while buffer.count - position < n + 2 { try fill(deadlineNs: deadlineNs) }
        let s = String(decoding: buffer[position..<(position + n)], as: UTF8.self)
        position += n + 2
        return s
    }
}

func monotonicNs() -> Int64 { RiftClock.monotonicNanoseconds() }

extension DeadlineSocket {
    /// One line-protocol request: connects if needed, sends `command`, then `read`s the reply.
    /// Any failure closes the socket, so the next request starts on a fresh connection (a reply
    /// left half-read must not be taken for the next one's).
    func exchange<T>(_ command: String, deadlineNs: Int64, _ read: () throws(RESPFailure) -> T) throws(RESPFailure) -> T {
        do {
            if !isOpen { try connect(deadlineNs: deadlineNs) }
            try send(Array(command.utf8), deadlineNs: deadlineNs)
            return try read()
        } catch {
            close()
            throw error
        }
    }
}
