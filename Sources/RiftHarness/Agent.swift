import Foundation
import RiftClient
import RiftCore
import RiftFaults
#if canImport(Glibc)
import Glibc
#endif

/// A bearer token read from a file. Its description never shows it, so no error, log line or
/// `dump` of a topology prints it.
public struct AgentToken: Equatable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The file it came from, which messages may name.
    public let file: String
    let value: String

    public init(file: String, value: String) {
        self.file = file
        self.value = value
    }

    public var description: String { "(token from \(file))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["file": file]) }
}

/// One host's agent: a `rift server` with `--api` and `--token`, named in a topology's `hosts:`.
/// Its API is Toxiproxy's, so the harness creates link proxies and adds faults on it as it
/// does on its own `ProxyServer`.
public struct AgentHost: Equatable, Sendable {
    public var name: String
    /// As written: `http://10.0.0.1:8474`.
    public var api: String
    /// The host part of `api`: where the agent's link proxies listen, and so the address a
    /// replica on this host is pointed at.
    public var host: String
    public var port: UInt16
    public var token: AgentToken

    /// How the agent is named in messages: `h2 (http://10.0.0.2:8474)`.
    public var label: String { "\(name) (\(api))" }

    /// Reads `http://HOST:PORT` (no path; plain HTTP, as `rift server --api` serves).
    public static func parseAPI(_ text: String) -> (host: String, port: UInt16)? {
        guard text.hasPrefix("http://") else { return nil }
        var rest = text.dropFirst("http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), !rest[..<colon].isEmpty, !rest.contains("/"),
              let port = UInt16(rest[rest.index(after: colon)...]), port > 0 else { return nil }
        return (String(rest[..<colon]), port)
    }
}

/// An agent did not answer, or answered with an error: the message names the agent, the
/// request and what happened (never the token).
public struct AgentError: Error, CustomStringConvertible, Sendable {
    public var agent: String
    public var message: String
    /// No answer at all (refused, timed out, reset): the agent is taken as gone.
    public var unreachable: Bool
    public var description: String { "agent \(agent): \(message)" }
}

/// A small blocking HTTP/1.1 client of one agent's API: one connection per request
/// (`Connection: close`), JSON bodies, the bearer token on every request, a deadline on each.
/// The CLI's client uses URLSession; the harness keeps to its own sockets, as its other clients do.
struct AgentClient: Sendable {
    let agent: AgentHost
    let timeout: Duration

    init(_ agent: AgentHost, timeout: Duration = .seconds(3)) {
        self.agent = agent
        self.timeout = timeout
    }

    /// The answer's status and JSON body (nil when empty).
    func request(_ method: String, _ path: String, body: [String: Any]? = nil) throws(AgentError) -> (status: Int, json: Any?) {
        let what = "\(method) \(path)"
        func gone(_ why: String) -> AgentError { AgentError(agent: agent.label, message: "\(what): \(why)", unreachable: true) }
        guard let address = Self.resolve(agent.host, port: agent.port) else { throw gone("cannot resolve \(agent.host)") }
        let payload = body.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) } ?? Data()
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(agent.host):\(agent.port)\r\nAuthorization: Bearer \(agent.token.value)\r\n"
        head += "Content-Type: application/json\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n"
        let raw: [UInt8]
        do {
            let socket = try BlockingSocket(address: address, deadlineNs: BlockingSocket.deadline(after: timeout), readTimeout: timeout, writeTimeout: timeout)
            defer { socket.close() }
            try socket.send(Array(head.utf8) + Array(payload))
            raw = try socket.receiveUntilClosed(limit: 4 * 1024 * 1024)
        } catch {
            throw gone("\(error)")
        }
        let text = String(decoding: raw, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n"), let status = Int(text.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") else {
            throw gone("not an HTTP answer (\(raw.count) bytes)")
        }
        let bodyText = String(text[split.upperBound...])
        let json = bodyText.isEmpty ? nil : try? JSONSerialization.jsonObject(with: Data(bodyText.utf8), options: [.fragmentsAllowed])
        if status >= 300 {
            let detail = (json as? [String: Any])?["error"].map { "\($0)" } ?? bodyText
            throw AgentError(agent: agent.label, message: "\(what): HTTP \(status): \(detail)", unreachable: false)
        }
        return (status, json)
    }

    /// `GET /version`: the agent answers and takes the token.
    func version() throws(AgentError) {
        _ = try request("GET", "/version")
    }

    /// Creates a proxy listening on the agent's host (a free port) and returns that port.
    func createProxy(name: String, upstream: String) throws(AgentError) -> UInt16 {
        let answer = try request("POST", "/proxies", body: ["name": name, "listen": "\(agent.host):0", "upstream": upstream, "enabled": true])
        guard let listen = (answer.json as? [String: Any])?["listen"] as? String, let colon = listen.lastIndex(of: ":"),
              let port = UInt16(listen[listen.index(after: colon)...]), port > 0 else {
            throw AgentError(agent: agent.label, message: "POST /proxies \(name): no listen address in the answer", unreachable: false)
        }
        return port
    }

    func deleteProxy(_ name: String) throws(AgentError) {
        _ = try request("DELETE", "/proxies/\(name)")
    }

    /// Adds `fault` as a toxic: its type's wire name and its attributes, as the API takes them.
    func addFault(_ fault: Fault, proxy: String) throws(AgentError) {
        var attributes: [String: Any] = [:]
        for (key, value) in fault.config.attributes {
            switch value {
            case .int(let v): attributes[key] = v
            case .double(let v): attributes[key] = v
            case .string(let v): attributes[key] = v
            case .bool(let v): attributes[key] = v
            }
        }
        let body: [String: Any] = [
            "name": fault.name, "type": type(of: fault.config).type, "stream": fault.stream.rawValue,
            "toxicity": fault.toxicity, "attributes": attributes,
        ]
        _ = try request("POST", "/proxies/\(proxy)/toxics", body: body)
    }

    func removeFault(_ name: String, proxy: String) throws(AgentError) {
        _ = try request("DELETE", "/proxies/\(proxy)/toxics/\(name)")
    }

    /// The first IPv4 address of `host` (a name or a dotted quad).
    static func resolve(_ host: String, port: UInt16) -> sockaddr_in? {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(list) }
        guard let raw = first.pointee.ai_addr else { return nil }
        var address = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
        address.sin_port = port.bigEndian
        return address
    }
}
