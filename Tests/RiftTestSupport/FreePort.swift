import Glibc

/// Free loopback TCP ports for test servers, so parallel tests never share a fixed port.
public enum FreePort {
    /// A TCP port that was free on 127.0.0.1 a moment ago: binds port 0, reads the port the
    /// kernel chose, and closes the socket.
    ///
    /// There is a small race: between this call and the server's own bind, another process (or
    /// an ephemeral port of an outgoing connection) may take the port. Callers that start servers
    /// must therefore retry on a new port when the bind fails, as `RedisServer` and
    /// `MemcachedServer` do. Closing an unconnected socket leaves no TIME_WAIT, so the port is
    /// reusable immediately.
    public static func allocate() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        precondition(fd >= 0, "socket() failed: errno \(errno)")
        defer { Glibc.close(fd) }
        var address = SocketAddress.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(bound == 0, "bind(127.0.0.1:0) failed: errno \(errno)")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        precondition(named == 0, "getsockname failed: errno \(errno)")
        return UInt16(bigEndian: address.sin_port)
    }
}

/// sockaddr_in construction for 127.0.0.1, shared by the socket helpers.
enum SocketAddress {
    static func loopback(port: UInt16) -> sockaddr_in {
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
    var pollMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }
}
