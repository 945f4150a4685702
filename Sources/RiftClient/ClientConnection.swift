import Glibc
import NIOCore
import RiftCore
import RiftWire

/// One client connection and the bytes received on it but not yet decoded: what every
/// blocking protocol client here is built on, so none of them handles sockets or buffers.
///
/// Two ways to hold a connection:
/// - `reconnecting(port:)`, for a workload: it connects on the first request and again after
///   a failure, and any failure closes it, so a reply left half-read (or arriving late) is
///   never taken for the next request's.
/// - `connected(_:)`, for a test: one connection, kept after a failure (a test may read the
///   late reply), never reopened.
public final class ClientConnection {
    /// The server port.
    public let port: UInt16
    /// Bytes received and not yet consumed by a decoder.
    public var input = ByteBuffer()
    /// Read and write bound for the calls without a deadline of their own.
    public var timeout: Duration
    /// Whether a failure closes the connection and the next call reconnects.
    public let reconnects: Bool
    /// Counts the times unread bytes were dropped (a close): a decoder mid-reply must start
    /// afresh when this changes (`ReplyStream` does).
    public private(set) var generation = 0
    private var socket: BlockingSocket?
    private var output = ByteBuffer()

    private init(port: UInt16, socket: BlockingSocket?, reconnects: Bool, timeout: Duration) {
        self.port = port
        self.socket = socket
        self.reconnects = reconnects
        self.timeout = timeout
    }

    /// Connects on first use and after every failure.
    public static func reconnecting(port: UInt16, timeout: Duration = .seconds(5)) -> ClientConnection {
        ClientConnection(port: port, socket: nil, reconnects: true, timeout: timeout)
    }

    /// Wraps a connected socket; its `readTimeout` bounds the calls without a deadline.
    public static func connected(_ socket: BlockingSocket) -> ClientConnection {
        ClientConnection(port: socket.port, socket: socket, reconnects: false, timeout: socket.readTimeout)
    }

    public var isOpen: Bool { socket?.isOpen ?? false }

    /// Closes the socket and drops unread bytes; a reconnecting connection opens again on the
    /// next call.
    public func close() {
        socket?.close()
        if reconnects { socket = nil }
        input.clear()
        generation += 1
    }

    /// The deadline of a call that has none: `timeout` from now.
    public func defaultDeadline() -> Int64 { BlockingSocket.deadline(after: timeout) }

    /// Runs one exchange; in reconnecting mode, any failure closes the connection first.
    public func exchange<T>(_ body: () throws(ClientError) -> T) throws(ClientError) -> T {
        do {
            return try body()
        } catch {
            if reconnects { close() }
            throw error
        }
    }

    /// Writes what `encode` appends, connecting first when needed; replies arriving during a
    /// long write are kept in `input`.
    public func send(deadlineNs: Int64, _ encode: (inout ByteBuffer) throws(ClientError) -> Void) throws(ClientError) {
        let socket = try open(deadlineNs: deadlineNs)
        output.clear()
        try encode(&output)
        do {
            try socket.send(output, drainingInto: &input, deadlineNs: deadlineNs)
        } catch {
            throw .socket(error)
        }
    }

    /// Receives until `decode` returns a value or the deadline passes. `decode` consumes the
    /// bytes of what it returns from `input` and leaves the rest in place.
    public func read<T>(deadlineNs: Int64, _ decode: (inout ByteBuffer) throws(WireParseError) -> T?) throws(ClientError) -> T {
        while true {
            if let value = try decoded(decode) { return value }
            do { try receive(deadlineNs: deadlineNs) } catch { throw .socket(error) }
        }
    }

    /// What `decode` finds in the bytes already received or waiting in the socket, without
    /// waiting for more: nil when no whole value is there yet.
    public func readIfAvailable<T>(_ decode: (inout ByteBuffer) throws(WireParseError) -> T?) throws(ClientError) -> T? {
        while true {
            if let value = try decoded(decode) { return value }
            // A deadline already past: one recv(2), then `.timedOut` when it found nothing.
            do { try receive(deadlineNs: 0) } catch .timedOut { return nil } catch { throw .socket(error) }
        }
    }

    private func decoded<T>(_ decode: (inout ByteBuffer) throws(WireParseError) -> T?) throws(ClientError) -> T? {
        do {
            return try decode(&input)
        } catch {
            throw .protocolError(error.description)
        }
    }

    private func receive(deadlineNs: Int64) throws(SocketError) {
        guard let socket, socket.isOpen else { throw .other(EBADF) }
        // Keep the buffer from growing with consumed bytes; decoders track offsets from the
        // reader index, so moving the readable bytes down keeps their place.
        if input.readerIndex > 64 * 1024 && input.readerIndex * 2 > input.writerIndex { input.discardReadBytes() }
        try socket.receive(into: &input, deadlineNs: deadlineNs)
    }

    /// One CRLF-terminated line, without its CRLF (for line protocols such as the harness's
    /// origin), at most `maxLength` bytes.
    public func line(deadlineNs: Int64, maxLength: Int = 64 * 1024) throws(ClientError) -> String {
        try read(deadlineNs: deadlineNs) { (buffer: inout ByteBuffer) throws(WireParseError) -> String? in
            let view = buffer.readableBytesView
            guard let cr = view.firstIndex(of: UInt8(ascii: "\r")), cr + 1 < view.endIndex else {
                if view.count > maxLength { throw .lineTooLong(limit: maxLength) }
                return nil
            }
            guard view[cr + 1] == UInt8(ascii: "\n") else { throw .expectedLineFeed(found: view[cr + 1]) }
            let text = String(decoding: view[view.startIndex..<cr], as: UTF8.self)
            buffer.moveReaderIndex(forwardBy: cr + 2 - view.startIndex)
            return text
        }
    }

    /// `count` bytes followed by CRLF, as text.
    public func exact(_ count: Int, deadlineNs: Int64) throws(ClientError) -> String {
        try read(deadlineNs: deadlineNs) { (buffer: inout ByteBuffer) throws(WireParseError) -> String? in
            guard buffer.readableBytes >= count + 2 else { return nil }
            let text = buffer.readString(length: count) ?? ""
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw .missingPayloadTerminator }
            return text
        }
    }

    private func open(deadlineNs: Int64) throws(ClientError) -> BlockingSocket {
        if let socket, socket.isOpen || !reconnects { return socket }
        do {
            let socket = try BlockingSocket(port: port, deadlineNs: deadlineNs, readTimeout: timeout, writeTimeout: timeout)
            self.socket = socket
            return socket
        } catch {
            throw .socket(error)
        }
    }
}

@available(*, unavailable)
extension ClientConnection: Sendable {}

/// A reply decoder over a connection's input: it starts afresh whenever the connection dropped
/// its unread bytes, so a reconnected client never resumes a reply from the old connection.
struct ReplyStream<Decoder: WireReplyDecoder> {
    private var decoder = Decoder(limits: .default)
    private var generation = 0

    private mutating func sync(_ connection: ClientConnection) {
        if generation != connection.generation {
            decoder = Decoder(limits: .default)
            generation = connection.generation
        }
    }

    mutating func read(_ connection: ClientConnection, deadlineNs: Int64) throws(ClientError) -> Decoder.Reply {
        sync(connection)
        return try connection.read(deadlineNs: deadlineNs) { (buffer: inout ByteBuffer) throws(WireParseError) in try decoder.next(&buffer) }
    }

    mutating func readIfAvailable(_ connection: ClientConnection) throws(ClientError) -> Decoder.Reply? {
        sync(connection)
        return try connection.readIfAvailable { (buffer: inout ByteBuffer) throws(WireParseError) in try decoder.next(&buffer) }
    }
}

/// What the RESP and memcached clients share: how they are made and their connection's
/// settings. A cache-client protocol per topology can take any `BlockingClient` per node.
public protocol BlockingClient: AnyObject {
    var connection: ClientConnection { get }
    init(connection: ClientConnection)
}

extension BlockingClient {
    /// A client for a workload: connects on first use, and again after a failure (which closes
    /// the connection, so a late reply is never taken for the next request's).
    public init(reconnectingTo port: UInt16, timeout: Duration = .seconds(5)) {
        self.init(connection: .reconnecting(port: port, timeout: timeout))
    }

    /// Wraps a connected socket; a failure leaves the connection as it is.
    public init(socket: BlockingSocket) {
        self.init(connection: .connected(socket))
    }

    /// Connects to 127.0.0.1:`port` (a server, or a proxy in front of one) now.
    public init(port: UInt16, connectTimeout: Duration = .seconds(2), readTimeout: Duration = .seconds(5)) throws(ClientError) {
        let socket: BlockingSocket
        do {
            socket = try BlockingSocket(port: port, connectTimeout: connectTimeout, readTimeout: readTimeout)
        } catch {
            throw .socket(error)
        }
        self.init(socket: socket)
    }

    public var port: UInt16 { connection.port }
    public var isOpen: Bool { connection.isOpen }
    /// Bounds each call without a deadline of its own.
    public var readTimeout: Duration {
        get { connection.timeout }
        set { connection.timeout = newValue }
    }

    /// Closes the connection (a reconnecting client opens a new one on its next request).
    public func close() { connection.close() }
}
