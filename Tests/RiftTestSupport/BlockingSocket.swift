import Glibc

/// A blocking TCP client connection to 127.0.0.1, for tests that want to see every byte and
/// every failure synchronously, without an event loop.
///
/// The descriptor is non-blocking underneath; every call waits with poll(2) against a deadline,
/// so no call can hang a test: reads give up after `readTimeout`, writes after `writeTimeout`
/// (both measured per call). Writes use MSG_NOSIGNAL, so a write to a dead peer throws
/// `.connectionReset` instead of killing the test process with SIGPIPE.
///
/// Owned by one task at a time (it may be handed to another task, not shared).
public final class BlockingSocket {
    private var fd: Int32
    public var readTimeout: Duration
    public var writeTimeout: Duration

    /// Connects to 127.0.0.1:`port`, failing with `.connectionRefused` or `.timedOut`.
    public init(
        port: UInt16,
        connectTimeout: Duration = .seconds(2),
        readTimeout: Duration = .seconds(5),
        writeTimeout: Duration = .seconds(5)
    ) throws(SocketError) {
        self.readTimeout = readTimeout
        self.writeTimeout = writeTimeout
        fd = try Self.makeSocket()
        do {
            try connect(port: port, timeout: connectTimeout)
        } catch {
            Glibc.close(fd)
            fd = -1
            throw error
        }
    }

    /// Wraps an accepted descriptor (see `BlockingListener`).
    init(acceptedDescriptor: Int32, readTimeout: Duration, writeTimeout: Duration) {
        fd = acceptedDescriptor
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

    // MARK: Writing

    /// Writes all of `bytes`, or throws. Partial progress before an error is not reported.
    public func send(_ bytes: [UInt8]) throws(SocketError) {
        var discard: [UInt8] = []
        try send(bytes, drainingInto: &discard, drain: false)
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
        try send(bytes, drainingInto: &received, drain: true)
    }

    private func send(_ bytes: [UInt8], drainingInto received: inout [UInt8], drain: Bool) throws(SocketError) {
        try checkOpen()
        var offset = 0
        var deadline = ContinuousClock.now + writeTimeout
        while offset < bytes.count {
            let events = try waitFor(Int16(POLLOUT) | (drain ? Int16(POLLIN) : 0), until: deadline)
            if drain && events & Int16(POLLIN | POLLHUP | POLLERR) != 0 && events & Int16(POLLOUT) == 0 {
                // Only readable (or failed): pull replies out so the peer can make progress.
                let chunk = try receiveAvailable(max: 64 * 1024)
                received.append(contentsOf: chunk)
                deadline = ContinuousClock.now + writeTimeout
                continue
            }
            let written = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                let code = errno
                if code == EINTR || code == EAGAIN { continue }
                throw SocketError(errno: code)
            }
            offset += written
            deadline = ContinuousClock.now + writeTimeout
        }
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
        try checkOpen()
        let deadline = ContinuousClock.now + readTimeout
        while true {
            _ = try waitFor(Int16(POLLIN), until: deadline)
            let chunk = try receiveAvailable(max: max)
            if !chunk.isEmpty { return chunk }
        }
    }

    /// Reads exactly `count` bytes within one `readTimeout`. On EOF or timeout the bytes read
    /// so far are lost; tests that care about partial data should use `receive`.
    public func receiveExactly(_ count: Int) throws(SocketError) -> [UInt8] {
        try checkOpen()
        var result: [UInt8] = []
        result.reserveCapacity(count)
        let deadline = ContinuousClock.now + readTimeout
        while result.count < count {
            _ = try waitFor(Int16(POLLIN), until: deadline)
            result.append(contentsOf: try receiveAvailable(max: count - result.count))
        }
        return result
    }

    /// Reads until the peer closes, within one `readTimeout`; throws `.timedOut` if the peer
    /// keeps the connection open, or if more than `limit` bytes arrive (a runaway peer).
    public func receiveUntilClosed(limit: Int = 64 * 1024 * 1024) throws(SocketError) -> [UInt8] {
        try checkOpen()
        var result: [UInt8] = []
        let deadline = ContinuousClock.now + readTimeout
        while true {
            _ = try waitFor(Int16(POLLIN), until: deadline)
            do {
                result.append(contentsOf: try receiveAvailable(max: 64 * 1024))
            } catch .closedByPeer {
                return result
            }
            if result.count > limit { throw .other(EMSGSIZE) }
        }
    }

    /// One recv(2) without waiting: empty if nothing is buffered right now.
    private func receiveAvailable(max: Int) throws(SocketError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, max, 0) }
            if n > 0 { return Array(buffer[0..<n]) }
            if n == 0 { throw .closedByPeer }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN { return [] }
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

    /// Polls for `events` until `deadline`; returns the revents, throws `.timedOut`.
    private func waitFor(_ events: Int16, until deadline: ContinuousClock.Instant) throws(SocketError) -> Int16 {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let remaining = deadline - ContinuousClock.now
            let ready = poll(&descriptor, 1, remaining.pollMilliseconds)
            if ready > 0 { return descriptor.revents }
            if ready == 0 {
                if ContinuousClock.now >= deadline { throw .timedOut }
                continue
            }
            let code = errno
            if code != EINTR { throw SocketError(errno: code) }
        }
    }

    private static func makeSocket() throws(SocketError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw SocketError(errno: errno) }
        configure(fd)
        return fd
    }

    /// Non-blocking (every wait is a poll with a deadline) and TCP_NODELAY (tests send small
    /// requests and measure latency; Nagle would add delays the proxy did not inject).
    static func configure(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private func connect(port: UInt16, timeout: Duration) throws(SocketError) {
        var address = SocketAddress.loopback(port: port)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc == 0 { return }
        let code = errno
        guard code == EINPROGRESS || code == EINTR else { throw SocketError(errno: code) }
        _ = try waitFor(Int16(POLLOUT), until: ContinuousClock.now + timeout)
        var pending: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &length) != 0 { throw SocketError(errno: errno) }
        if pending != 0 { throw SocketError(errno: pending) }
    }
}

@available(*, unavailable)
extension BlockingSocket: Sendable {}
