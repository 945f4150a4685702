import CRiftSys
import Foundation
import NIOCore
import RiftFaults

extension Relay {
    /// A non-blocking listening socket on `address` (port 0: a free port), and the address it
    /// got. Errors name the call and the system's reason ("Address already in use").
    static func bindListener(_ address: SocketAddress) throws -> (fd: Int32, address: SocketAddress) {
        guard let host = address.ipAddress else { throw RelayError.notIP(address.description) }
        let family = Int32(address.protocol.rawValue)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RelayError.system("socket", errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 4)
        if address.withSockAddr({ bind(fd, $0, socklen_t($1)) }) != 0 {
            let code = errno
            close(fd)
            throw RelayError.system("bind", code)
        }
        if Glibc.listen(fd, 256) != 0 {
            let code = errno
            close(fd)
            throw RelayError.system("listen", code)
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            let code = errno
            close(fd)
            throw RelayError.system("getsockname", code)
        }
        let port: UInt16 = withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET6 {
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            } else {
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
        }
        do {
            return (fd, try SocketAddress(ipAddress: host, port: Int(port)))
        } catch {
            close(fd)
            throw error
        }
    }
}
