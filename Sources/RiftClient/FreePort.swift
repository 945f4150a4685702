import Glibc

/// Free loopback ports held bound (not listening, without SO_REUSEADDR) until `release()`, so
/// that nothing binding port 0 in the meantime, such as a fleet's own proxies and routers, is
/// handed one of them before the server that owns it starts.
public final class PortReservation {
    private var fds: [Int32] = []

    public init() {}

    /// A free port on 127.0.0.1, held until `release()`; 0 if none could be bound.
    public func reserve() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return 0 }
        var address = LoopbackAddress.ipv4(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else {
            Glibc.close(fd)
            return 0
        }
        fds.append(fd)
        return UInt16(bigEndian: address.sin_port)
    }

    /// Frees every port for its server to bind.
    public func release() {
        for fd in fds { Glibc.close(fd) }
        fds.removeAll()
    }

    deinit { release() }
}

@available(*, unavailable)
extension PortReservation: Sendable {}

/// Free loopback TCP ports for servers started on the fly, so parallel runs never share a
/// fixed port.
public enum FreePort {
    /// A TCP port that was free on 127.0.0.1 a moment ago (0 if none could be bound): binds
    /// port 0, reads the port the kernel chose, and closes the socket.
    ///
    /// There is a small race: between this call and the server's own bind, another process (or
    /// an ephemeral port of an outgoing connection) may take the port. Callers that start servers
    /// must therefore retry on a new port when the bind fails, as the tests' `RedisServer` does,
    /// or hold the ports with a `PortReservation` until the servers start, as a fleet does.
    /// Closing an unconnected socket leaves no TIME_WAIT, so the port is reusable immediately.
    public static func allocate() -> UInt16 {
        let reservation = PortReservation()
        defer { reservation.release() }
        return reservation.reserve()
    }
}

/// sockaddr_in for 127.0.0.1, shared by the socket helpers (and the tests' listener).
package enum LoopbackAddress {
    package static func ipv4(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        return address
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so a tiny positive timeout never becomes "don't wait";
    /// clamped to what poll(2) accepts.
    package var pollMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }
}
