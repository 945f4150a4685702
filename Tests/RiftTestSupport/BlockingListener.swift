import Foundation
import Glibc
import Synchronization

/// A blocking TCP listener on 127.0.0.1, for tests that need a hand-driven peer: a fake
/// upstream behind the proxy, or a server that closes or resets on cue.
///
/// Sendable so one task can `accept` while the test holds the port; `close()` from any task
/// wakes a pending `accept`.
public final class BlockingListener: Sendable {
    // `fd` never changes after init; `closed` is set once, so close() runs once.
    private let fd: Int32
    private let closed = Atomic<Bool>(false)
    /// The port the listener is bound to (chosen by the kernel when 0 was asked for).
    public let port: UInt16

    /// Listens on 127.0.0.1:`port` (0 = any free port; no race, the kernel picks it).
    public init(port: UInt16 = 0, backlog: Int32 = 128) throws(SocketError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw SocketError(errno: errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = LoopbackAddress.ipv4(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound != 0 || listen(fd, backlog) != 0 {
            let code = errno
            Glibc.close(fd)
            throw SocketError(errno: code)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close() }

    /// Waits up to `timeout` for one connection; the accepted socket gets the given timeouts.
    public func accept(
        timeout: Duration = .seconds(5),
        readTimeout: Duration = .seconds(5),
        writeTimeout: Duration = .seconds(5)
    ) throws(SocketError) -> BlockingSocket {
        let deadline = ContinuousClock.now + timeout
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            if isClosed { throw .other(EBADF) }
            let ready = poll(&descriptor, 1, (deadline - ContinuousClock.now).pollMilliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw SocketError(errno: errno)
            }
            if ready == 0 {
                if ContinuousClock.now >= deadline { throw .timedOut }
                continue
            }
            if isClosed { throw .other(EBADF) }
            let client = Glibc.accept(fd, nil, nil)
            if client >= 0 {
                // accept4 is not exported by the Glibc module; a spawned server may inherit the
                // descriptor in this window, which only delays its EOF until that server exits.
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                return BlockingSocket(acceptedDescriptor: client, readTimeout: readTimeout, writeTimeout: writeTimeout)
            }
            let code = errno
            if code == EINTR || code == EAGAIN || code == ECONNABORTED { continue }
            throw SocketError(errno: code)
        }
    }

    private var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Stops listening (new connections are refused); idempotent. Already accepted sockets
    /// stay open.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // shutdown wakes a poll/accept blocked in another thread before the fd goes away.
        _ = shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }
}
