// Clients speak in RiftWire's values (`RESPValue`, `MemcachedReply`): whoever uses one needs them.
@_exported import RiftWire

/// Why a client call did not get the answer it wanted: the transport, the stream, or the
/// server's answer. A workload records `refused` as a failed operation (it never ran) and any
/// other transport failure as indeterminate (`info`: it may have run).
public enum ClientError: Error, Equatable, Sendable, CustomStringConvertible {
    case socket(SocketError)
    /// The bytes are not the protocol (a `WireParseError`, or a reply of the wrong shape for
    /// the command): the stream cannot be followed any more.
    case protocolError(String)
    /// The server refused the request: `ERROR`, `CLIENT_ERROR …`, `SERVER_ERROR …` (memcached),
    /// or an error reply where a convenience method expected success (Redis).
    case serverError(String)
    /// A reply of the wrong shape for a convenience method.
    case unexpectedReply(String)
    /// A key the protocol cannot carry (memcached: empty, over 250 bytes, spaces or control bytes).
    case invalidKey(String)

    /// Nothing listened: the request never reached a server.
    public static let refused = ClientError.socket(.connectionRefused)
    /// The deadline passed before the reply was complete.
    public static let timeout = ClientError.socket(.timedOut)

    public var description: String {
        switch self {
        case .socket(let error): "\(error)"
        case .protocolError(let s): "protocol error: \(s)"
        case .serverError(let s): "server error: \(s)"
        case .unexpectedReply(let s): "unexpected reply: \(s)"
        case .invalidKey(let key): "invalid key '\(key.prefix(64))'"
        }
    }
}
