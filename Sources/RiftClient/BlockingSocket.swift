import Glibc
import NIOCore
import RiftCore

/// A blocking TCP client connection to 127.0.0.1 (or, for the harness's agent client, another
/// IPv4 address) for code that wants every byte and every failure synchronously, without an
/// event loop: the harness's workload clients and the tests.
///
/// The descriptor is non-blocking underneath; every call waits with poll(2) against a deadline
/// on `RiftClock`'s monotonic clock, so no call can hang: the `deadlineNs:` calls give up at
/// that instant, the others after `readTimeout` or `writeTimeout` (measured per call). Writes
/// use MSG_NOSIGNAL, so a write to a dead peer throws `.connectionReset` instead of killing the
/// process with SIGPIPE. TCP_NODELAY is on: requests are small and latency is measured, and
/// Nagle would add delays no fault injected.
///
/// Owned by one thread at a time (it may be handed to another, not shared).
public final class BlockingSocket {
    private var fd: Int32
    /// The server port this socket connected to (0 for an accepted connection).
    public let port: UInt16
    public var readTimeout: Duration
    public var writeTimeout: Duration

    /// Connects to 127.0.0.1:`port`, failing with `.connectionRefused` or `.timedOut`.
    public convenience init(
        port: UInt16,
        connectTimeout: Duration = .seconds(2),
        readTimeout: Duration = .seconds(5),
        writeTimeout: Duration = .seconds(5)
    ) throws(SocketError) {
        try self.init(port: port, deadlineNs: Self.deadline(after: connectTimeout), readTimeout: readTimeout, writeTimeout: writeTimeout)
    }

    /// Connects to 127.0.0.1:`port` before the monotonic instant `deadlineNs`.
    public convenience init(port: UInt16, deadlineNs: Int64, readTimeout: Duration = .seconds(5), writeTimeout: Duration = .seconds(5)) throws(SocketError) {
        try self.init(address: LoopbackAddress.ipv4(port: port), deadlineNs: deadlineNs, readTimeout: readTimeout, writeTimeout: writeTimeout)
    }

    /// Connects to an IPv4 address before the monotonic instant `deadlineNs`: the harness's
    /// client of agents on other hosts (the workload's connections stay on loopback).
    public init(address: sockaddr_in, deadlineNs: Int64, readTimeout: Duration = .seconds(5), writeTimeout: Duration = .seconds(5)) throws(SocketError) {
        self.port = UInt16(bigEndian: address.sin_port)
        self.readTimeout = readTimeout
        self.writeTimeout = writeTimeout
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw SocketError(errno: errno) }
        Self.configure(fd)
        do {
            try connect(address, deadlineNs: deadlineNs)
        } catch {
            Glibc.close(fd)
            fd = -1
            throw error
        }
    }

    /// Wraps an accepted descriptor (the tests' `BlockingListener`).
    package init(acceptedDescriptor: Int32, readTimeout: Duration, writeTimeout: Duration) {
        fd = acceptedDescriptor
        port = 0
        self.readTimeout = readTimeout
        self.writeTimeout = writeTimeout
        Self.configure(fd)
    }

    deinit { close() }

    public var isOpen: Bool { fd >= 0 }

    /// The local port of this connection: how a proxy's logs or a server's CLIENT LIST name it.
    public var localPort: UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return rc == 0 ? UInt16(bigEndian: address.sin_port) : 0
    }

    /// The monotonic instant `timeout` from now.
    public static func deadline(after timeout: Duration) -> Int64 {
        let (seconds, attoseconds) = timeout.components
        return RiftClock.monotonicNanoseconds() &+ seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }

    // MARK: Writing

    /// Writes all of `bytes`, or throws. Partial progress before an error is not reported.
    public func send(_ bytes: [UInt8]) throws(SocketError) {
        var discard = ByteBuffer()
        try bytes.withUnsafeBytes { send($0, drainingInto: &discard, drain: false, deadlineNs: nil) }.get()
    }

    public func send(_ string: String) throws(SocketError) {
        try send(Array(string.utf8))
    }

    /// Writes all of `bytes` while appending whatever the peer sends meanwhile to `received`.
    ///
    /// Pipelining clients need this: a server that cannot write its replies stops reading
    /// requests (memcached does), so "send everything, then read" deadlocks once both socket
    /// buffers fill. Draining replies while sending keeps both sides moving.
    public func send(_ bytes: [UInt8], drainingInto received: inout [UInt8]) throws(SocketError) {
        var buffer = ByteBuffer()
        defer { received.append(contentsOf: buffer.readableBytesView) }
        try bytes.withUnsafeBytes { send($0, drainingInto: &buffer, drain: true, deadlineNs: nil) }.get()
    }

    /// Writes all of `bytes` before `deadlineNs` (or, when nil, with `writeTimeout` per
    /// progress), appending what the peer sends meanwhile to `received` (see above).
    public func send(_ bytes: ByteBuffer, drainingInto received: inout ByteBuffer, deadlineNs: Int64?) throws(SocketError) {
        try bytes.withUnsafeReadableBytes { send($0, drainingInto: &received, drain: true, deadlineNs: deadlineNs) }.get()
    }

    private func send(_ raw: UnsafeRawBufferPointer, drainingInto received: inout ByteBuffer, drain: Bool, deadlineNs fixed: Int64?) -> Result<Void, SocketError> {
        guard fd >= 0 else { return .failure(.other(EBADF)) }
        var deadline = fixed ?? Self.deadline(after: writeTimeout)
        var offset = 0
        while offset < raw.count {
            // Try first: the kernel takes a small request at once, without a poll.
            let written = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            if written > 0 {
                offset += written
                if fixed == nil { deadline = Self.deadline(after: writeTimeout) }
                continue
            }
            let code = written < 0 ? errno : EAGAIN
            if code == EINTR { continue }
            guard code == EAGAIN else { return .failure(SocketError(errno: code)) }
            let events: Int16
            do { events = try waitFor(Int16(POLLOUT) | (drain ? Int16(POLLIN) : 0), until: deadline) } catch { return .failure(error) }
            if drain && events & Int16(POLLIN | POLLHUP | POLLERR) != 0 && events & Int16(POLLOUT) == 0 {
                // Only readable (or failed): pull replies out so the peer can make progress.
                do { _ = try receiveAvailable(into: &received) } catch { return .failure(error) }
                if fixed == nil { deadline = Self.deadline(after: writeTimeout) }
            }
        }
        return .success(())
    }

    /// Half-close: the peer reads EOF, and we can still read its replies.
    public func shutdownWrite() throws(SocketError) {
        try checkOpen()
        if shutdown(fd, Int32(SHUT_WR)) != 0 { throw SocketError(errno: errno) }
    }

    // MARK: Reading

    /// Waits up to `readTimeout` for data and returns 1...`max` bytes.
    /// Throws `.closedByPeer` at EOF, `.timedOut` if nothing arrives in time.
    public func receive(max: Int = 64 * 1024) throws(SocketError) -> [UInt8] {
        precondition(max > 0, "receive(max:) needs room for at least one byte")
        var buffer = ByteBuffer()
        try receive(into: &buffer, deadlineNs: Self.deadline(after: readTimeout), max: max)
        return Array(buffer.readableBytesView)
    }

    /// Waits until `deadlineNs` for data and appends what is there (at least one byte, at most
    /// `max`) to `buffer`, without an intermediate copy. Throws `.closedByPeer` at EOF,
    /// `.timedOut` when the deadline passes first.
    public func receive(into buffer: inout ByteBuffer, deadlineNs: Int64, max: Int = 64 * 1024) throws(SocketError) {
        try checkOpen()
        while true {
            if try receiveAvailable(into: &buffer, max: max) > 0 { return }
            _ = try waitFor(Int16(POLLIN), until: deadlineNs)
        }
    }

    /// Reads exactly `count` bytes within one `readTimeout`. On EOF or timeout the bytes read
    /// so far are lost; tests that care about partial data should use `receive`.
    public func receiveExactly(_ count: Int) throws(SocketError) -> [UInt8] {
        var buffer = ByteBuffer()
        let deadline = Self.deadline(after: readTimeout)
        while buffer.readableBytes < count {
            try receive(into: &buffer, deadlineNs: deadline, max: count - buffer.readableBytes)
        }
        return Array(buffer.readableBytesView)
    }

    /// Reads until the peer closes, within one `readTimeout`; throws `.timedOut` if the peer
    /// keeps the connection open, or if more than `limit` bytes arrive (a runaway peer).
    public func receiveUntilClosed(limit: Int = 64 * 1024 * 1024) throws(SocketError) -> [UInt8] {
        var buffer = ByteBuffer()
        let deadline = Self.deadline(after: readTimeout)
        while true {
            do {
                try receive(into: &buffer, deadlineNs: deadline)
            } catch .closedByPeer {
                return Array(buffer.readableBytesView)
            }
            if buffer.readableBytes > limit { throw .other(EMSGSIZE) }
        }
    }

    /// One recv(2) without waiting, straight into `buffer`: 0 if nothing is there right now.
    private func receiveAvailable(into buffer: inout ByteBuffer, max: Int = 64 * 1024) throws(SocketError) -> Int {
        while true {
            var code: Int32 = 0
            let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: min(max, 16 * 1024)) { raw in
                let n = recv(fd, raw.baseAddress, Swift.min(raw.count, max), 0)
                if n < 0 { code = errno }
                return Swift.max(n, 0)
            }
            if n > 0 { return n }
            if code == 0 { throw .closedByPeer }
            if code == EINTR { continue }
            if code == EAGAIN { return 0 }
            throw SocketError(errno: code)
        }
    }

    // MARK: Closing

    /// Closes the descriptor; idempotent.
    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Closes with SO_LINGER 0, so the peer sees a TCP RST (`.connectionReset`) instead of EOF.
    public func abort() {
        guard fd >= 0 else { return }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close()
    }

    // MARK: Plumbing

    private func checkOpen() throws(SocketError) {
        if fd < 0 { throw .other(EBADF) }
    }

    /// Polls for `events` until `deadlineNs`; returns the revents, throws `.timedOut`.
    private func waitFor(_ events: Int16, until deadlineNs: Int64) throws(SocketError) -> Int16 {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let left = deadlineNs - RiftClock.monotonicNanoseconds()
            if left <= 0 { throw .timedOut }
            // Rounded up, so a tiny positive wait never becomes "don't wait".
            let ready = poll(&descriptor, 1, Int32(min((left + 999_999) / 1_000_000, 60_000)))
            if ready > 0 { return descriptor.revents }
            if ready < 0 {
                let code = errno
                if code != EINTR { throw SocketError(errno: code) }
            }
        }
    }

    /// Non-blocking (every wait is a poll with a deadline) and TCP_NODELAY.
    static func configure(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private func connect(_ address: sockaddr_in, deadlineNs: Int64) throws(SocketError) {
        var address = address
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc == 0 { return }
        let code = errno
        guard code == EINPROGRESS || code == EINTR else { throw SocketError(errno: code) }
        _ = try waitFor(Int16(POLLOUT), until: deadlineNs)
        var pending: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &length) != 0 { throw SocketError(errno: errno) }
        if pending != 0 { throw SocketError(errno: pending) }
    }
}

@available(*, unavailable)
extension BlockingSocket: Sendable {}
