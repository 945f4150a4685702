/// What a proxy is: where it listens, where it forwards, and the link it stands on.
public struct ProxyConfig: Sendable, Equatable {
    public var name: String
    /// `host:port`; port 0 picks a free port, which the proxy then reports.
    public var listen: String
    /// `host:port` of the server each accepted connection is forwarded to.
    public var upstream: String
    public var enabled: Bool
    /// The node on the client side of this link (`client`, or `n2` for a replication link n2 -> n1).
    public var from: String?
    /// The node on the server side of this link.
    public var to: String?

    public init(name: String, listen: String = "127.0.0.1:0", upstream: String, enabled: Bool = true, from: String? = nil, to: String? = nil) {
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = enabled
        self.from = from
        self.to = to
    }
}

/// Errors from the proxy layer, each naming the thing it is about. Words follow Toxiproxy's
/// API messages where it has one.
public enum ProxyError: Error, Equatable, CustomStringConvertible, Sendable {
    case proxyExists(String)
    case proxyNotFound(String)
    case faultExists(proxy: String, fault: String)
    case faultNotFound(proxy: String, fault: String)
    case invalidName(String)
    case invalidAddress(field: String, message: String)
    case listenFailed(proxy: String, address: String, reason: String)
    case invalidFault(proxy: String, fault: String, message: String)
    case partitionNotFound(String)
    case invalidPartition(String)
    case shutDown

    public var description: String {
        switch self {
        case .proxyExists(let name): return "proxy already exists: \(name)"
        case .proxyNotFound(let name): return "proxy not found: \(name)"
        case .faultExists(let proxy, let fault): return "toxic already exists: \(fault) on proxy \(proxy)"
        case .faultNotFound(let proxy, let fault): return "toxic not found: \(fault) on proxy \(proxy)"
        case .invalidName(let message): return message
        case .invalidAddress(let field, let message): return "\(field): \(message)"
        case .listenFailed(let proxy, let address, let reason): return "proxy \(proxy): cannot listen on \(address): \(reason)"
        case .invalidFault(let proxy, let fault, let message): return "proxy \(proxy), toxic \(fault): \(message)"
        case .partitionNotFound(let id): return "partition not found: \(id)"
        case .invalidPartition(let message): return "invalid partition: \(message)"
        case .shutDown: return "the proxy server is shut down"
        }
    }
}
