import NIOCore

/// Reads `host:port` the way Toxiproxy users write it: `127.0.0.1:6379`, `localhost:0`,
/// `[::1]:8474`, `:6379` (loopback). `localhost` becomes `127.0.0.1`, so that the address a
/// proxy reports is the one it really listens on.
public enum AddressParser {
    public struct Failure: Error, Equatable, CustomStringConvertible, Sendable {
        public var input: String
        public var reason: String
        public var description: String { "invalid address '\(input)': \(reason) (write host:port, e.g. 127.0.0.1:6379)" }
    }

    public static func split(_ text: String) throws(Failure) -> (host: String, port: Int) {
        let trimmed = text.trimmingCharacters(in: " \t")
        guard let colon = trimmed.lastIndex(of: ":") else { throw Failure(input: text, reason: "missing ':port'") }
        var host = String(trimmed[..<colon])
        let portText = trimmed[trimmed.index(after: colon)...]
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw Failure(input: text, reason: "port '\(portText)' is not a number from 0 to 65535")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty || host == "localhost" { host = "127.0.0.1" }
        return (host, port)
    }

    /// Resolves to a socket address. Literal IPs never touch DNS.
    public static func resolve(_ text: String) throws(Failure) -> SocketAddress {
        let (host, port) = try split(text)
        do {
            return try SocketAddress(ipAddress: host, port: port)
        } catch {
            do {
                return try SocketAddress.makeAddressResolvingHost(host, port: port)
            } catch {
                throw Failure(input: text, reason: "cannot resolve host '\(host)'")
            }
        }
    }

    /// `host:port` for an address, as the API echoes it.
    public static func format(_ address: SocketAddress) -> String {
        let ip = address.ipAddress ?? "?"
        let port = address.port ?? 0
        if case .v6 = address { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
