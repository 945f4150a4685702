import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Free loopback ports held bound (not listening, without SO_REUSEADDR) until `release()`, so
/// that nothing binding port 0 in the meantime, such as the fleet's own proxies and routers,
/// is handed one of them before the server that owns it starts.
final class PortReservation {
    private var fds: [Int32] = []

    /// A free port on 127.0.0.1, or 0 if none could be bound.
    func reserve() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return 0 }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else {
            _ = Glibc.close(fd)
            return 0
        }
        fds.append(fd)
        return UInt16(bigEndian: addr.sin_port)
    }

    /// Frees every port for its server to bind.
    func release() {
        for fd in fds { _ = Glibc.close(fd) }
        fds.removeAll()
    }

    deinit { release() }
}
