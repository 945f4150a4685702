import Glibc

/// Why a socket operation failed, reduced to the outcomes tests tell apart: a fault proxy that
/// refuses, resets, stalls or closes a connection must be observable as exactly that.
public enum SocketError: Error, Equatable, Sendable {
    /// Nothing listens on the port (ECONNREFUSED).
    case connectionRefused
    /// The peer reset the connection (ECONNRESET), or we wrote after it went away (EPIPE).
    case connectionReset
    /// A connect, read or write deadline passed (also ETIMEDOUT from the kernel).
    case timedOut
    /// The peer closed its write side: a read returned end of file.
    case closedByPeer
    /// Any other errno, kept raw so an unexpected failure is still diagnosable.
    case other(Int32)

    /// Maps an errno from connect/send/recv/getsockopt(SO_ERROR).
    public init(errno code: Int32) {
        switch code {
        case ECONNREFUSED: self = .connectionRefused
        case ECONNRESET, EPIPE: self = .connectionReset
        case ETIMEDOUT, EAGAIN: self = .timedOut  // EWOULDBLOCK == EAGAIN on Linux
        default: self = .other(code)
        }
    }
}

extension SocketError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .connectionRefused: "connection refused"
        case .connectionReset: "connection reset by peer"
        case .timedOut: "timed out"
        case .closedByPeer: "closed by peer (EOF)"
        case .other(let code): "socket error \(code) (\(String(cString: strerror(code))))"
        }
    }
}
