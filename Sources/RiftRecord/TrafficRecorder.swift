import RiftHistory

/// Follows every TCP connection to one server port through captured frames and writes their
/// register operations as history events, one process per connection in order of appearance.
///
/// Limits: at most `maxConnections` followed at once (later ones are counted and skipped),
/// `maxPendingBytes` of out-of-order data per direction.
public final class TrafficRecorder {
    public struct Options: Sendable {
        public var port: UInt16
        public var proto: RecordProtocol
        public var maxConnections: Int
        public var maxPendingBytes: Int

        public init(port: UInt16, protocol proto: RecordProtocol, maxConnections: Int = 65_536, maxPendingBytes: Int = 16 << 20) {
            self.port = port
            self.proto = proto
            self.maxConnections = maxConnections
            self.maxPendingBytes = maxPendingBytes
        }
    }

    public struct Summary: Sendable, Equatable {
        public var packets = 0
        /// Frames that were not TCP to or from the port (or could not be decoded).
        public var skippedPackets = 0
        public var connections = 0
        public var skippedConnections = 0
        public var operations = 0
        public var events = 0
        /// Connections that could not be followed to the end, and why.
        public var problems: [String] = []
    }

    private struct Key: Hashable {
        var client: FlowEndpoint
        var server: FlowEndpoint
    }

    private struct Connection {
        /// Index 0: the client's stream, 1: the server's.
        var streams: [StreamReassembler]
        var fins = [false, false]
        var recorder: ConnectionRecorder
        var sawData = false
    }

    public let options: Options
    private let sink: (HistoryEvent) throws -> Void
    private var connections: [Key: Connection] = [:]
    public private(set) var summary = Summary()
    private var lastTime: Int64 = 0

    /// `sink` gets every event in capture order; an error it throws stops the recording.
    public init(options: Options, sink: @escaping (HistoryEvent) throws -> Void) {
        self.options = options
        self.sink = sink
    }

    /// One captured frame with its capture time (nanoseconds since the epoch).
    public func frame(_ bytes: [UInt8], link: LinkType, timeNs: Int64) throws {
        summary.packets += 1
        lastTime = max(lastTime, timeNs)
        guard let segment = PacketDecoder.decode(bytes, link: link) else {
            summary.skippedPackets += 1
            return
        }
        try self.segment(segment, timeNs: timeNs)
    }

    public func segment(_ s: DecodedSegment, timeNs: Int64) throws {
        let fromClient: Bool
        if s.destination.port == options.port {
            fromClient = true
        } else if s.source.port == options.port {
            fromClient = false
        } else {
            summary.skippedPackets += 1
            return
        }
        let key = fromClient ? Key(client: s.source, server: s.destination) : Key(client: s.destination, server: s.source)
        if fromClient, s.syn, !s.ackFlag, let old = connections[key], old.sawData || old.fins[0] {
            try close(key, timeNs: timeNs)  // the port pair is reused by a new connection
        }
        if connections[key] == nil {
            guard connections.count < options.maxConnections else {
                summary.skippedConnections += 1
                return
            }
            let process = ProcessID.client(Int64(summary.connections))
            summary.connections += 1
            connections[key] = Connection(
                streams: Array(repeating: StreamReassembler(maxPendingBytes: options.maxPendingBytes), count: 2),
                recorder: ConnectionRecorder(process: process, node: key.server.description, protocol: options.proto))
        }
        var events: [HistoryEvent] = []
        var c = connections[key]!
        let side = fromClient ? 0 : 1
        if s.syn { c.streams[side].syn(seq: s.seq) }
        let bytes = c.streams[side].segment(seq: s.seq, s.payload)
        if !bytes.isEmpty { c.sawData = true }
        events += fromClient ? c.recorder.clientBytes(bytes, timeNs: timeNs) : c.recorder.serverBytes(bytes, timeNs: timeNs)
        if c.streams[side].overflowed {
            let name = fromClient ? "client" : "server"
            events += c.recorder.streamBroken("\(name) stream: more than \(options.maxPendingBytes) bytes out of order", timeNs: timeNs)
        }
        if s.fin { c.fins[side] = true }
        connections[key] = c
        try emit(events)
        if s.rst || (c.fins[0] && c.fins[1]) { try close(key, timeNs: timeNs) }
    }

    /// The end of the capture: every connection still open completes what it has outstanding
    /// as `info`. Returns the summary.
    @discardableResult
    public func finish() throws -> Summary {
        for key in connections.keys.sorted(by: { $0.client.description < $1.client.description }) {
            try close(key, timeNs: lastTime)
        }
        return summary
    }

    private func close(_ key: Key, timeNs: Int64) throws {
        guard var c = connections.removeValue(forKey: key) else { return }
        let events = c.recorder.finish(timeNs: timeNs)
        summary.operations += c.recorder.operations
        if let problem = c.recorder.problem {
            summary.problems.append("\(key.client) -> \(key.server) (process \(c.recorder.process)): \(problem)")
        }
        try emit(events)
    }

    private func emit(_ events: [HistoryEvent]) throws {
        for event in events { try sink(event) }
        summary.events += events.count
    }
}
