import NIOCore
import RiftHistory
import RiftWire

/// The wire protocol `rift record` parses.
public enum RecordProtocol: String, Sendable, CaseIterable {
    case resp, memcached
}

/// One TCP connection's two byte streams turned into history events: requests parsed from
/// the client's stream are paired in order with replies from the server's (pipelining keeps
/// order), register operations become an invocation and a completion with the capture times
/// of the packets that completed their frames.
///
/// Limits: at most `maxOutstanding` requests awaiting replies; frames up to the parsers'
/// limits. A stream that breaks them, cannot be parsed, or has a hole stops being read, and
/// what was outstanding is completed as `info` (it may or may not have happened).
public struct ConnectionRecorder: Sendable {
    public let process: ProcessID
    public let node: String
    public let maxOutstanding: Int
    /// Why this connection stopped being followed, if it did.
    public private(set) var problem: String?
    public private(set) var operations = 0

    private let proto: RecordProtocol
    private var respRequests: RESPParser
    private var respReplies: RESPParser
    private var mcRequests: MemcachedParser
    private var mcReplies: MemcachedParser
    private var requestBytes = ByteBufferAllocator().buffer(capacity: 0)
    private var replyBytes = ByteBufferAllocator().buffer(capacity: 0)
    /// Requests in order, each nil when it is no register operation but still takes a reply.
    private var outstanding: [MappedRequest?] = []
    private var outstandingHead = 0
    /// Memcached `noreply` operations: their outcome is never seen.
    private var unconfirmed: [MappedRequest] = []
    private var lastTime: Int64 = 0

    static let limits = WireLimits(maxBulkLength: 64 << 20, maxFrameBytes: 64 << 20)

    public init(process: ProcessID, node: String, protocol proto: RecordProtocol, maxOutstanding: Int = 100_000) {
        self.process = process
        self.node = node
        self.proto = proto
        self.maxOutstanding = maxOutstanding
        respRequests = RESPParser(role: .request, limits: Self.limits)
        respReplies = RESPParser(role: .reply, limits: Self.limits)
        mcRequests = MemcachedParser(role: .request, limits: Self.limits)
        mcReplies = MemcachedParser(role: .reply, limits: Self.limits)
    }

    /// Bytes the client sent, in order, at capture time `timeNs`.
    public mutating func clientBytes(_ bytes: [UInt8], timeNs: Int64) -> [HistoryEvent] {
        guard problem == nil, !bytes.isEmpty else { return [] }
        lastTime = max(lastTime, timeNs)
        requestBytes.writeBytes(bytes)
        var events: [HistoryEvent] = []
        do {
            while let mapped = try nextRequest() {
                guard outstanding.count - outstandingHead < maxOutstanding else {
                    stop("more than \(maxOutstanding) requests without replies", into: &events)
                    return events
                }
                if let op = mapped.op {
                    events.append(HistoryEvent(type: .invoke, process: process, f: op.f, key: op.key, value: op.value, time: timeNs, node: node))
                    operations += 1
                }
                if mapped.noreply {
                    if let op = mapped.op { unconfirmed.append(op) }
                } else {
                    outstanding.append(mapped.op)
                }
            }
        } catch {
            stop("client stream: \(error)", into: &events)
        }
        requestBytes.discardReadBytes()
        return events
    }

    /// Bytes the server sent, in order, at capture time `timeNs`.
    public mutating func serverBytes(_ bytes: [UInt8], timeNs: Int64) -> [HistoryEvent] {
        guard problem == nil, !bytes.isEmpty else { return [] }
        lastTime = max(lastTime, timeNs)
        replyBytes.writeBytes(bytes)
        var events: [HistoryEvent] = []
        do {
            while let outcome = try nextReply() {
                if outcome.isPush { continue }
                guard outstandingHead < outstanding.count else {
                    stop("a reply with no request waiting for it", into: &events)
                    return events
                }
                let request = outstanding[outstandingHead]
                outstandingHead += 1
                if outstandingHead > 1024 && outstandingHead * 2 > outstanding.count {
                    outstanding.removeFirst(outstandingHead)
                    outstandingHead = 0
                }
                guard let request else { continue }
                events.append(completion(request, outcome.outcome(request), timeNs))
            }
        } catch {
            stop("server stream: \(error)", into: &events)
        }
        replyBytes.discardReadBytes()
        return events
    }

    /// The connection ended (or the capture did): what is still open completes as `info`.
    public mutating func finish(timeNs: Int64, reason: String? = nil) -> [HistoryEvent] {
        var events: [HistoryEvent] = []
        if let reason, problem == nil { problem = reason }
        let t = max(lastTime, timeNs)
        for case let request? in outstanding[outstandingHead...] { events.append(completion(request, .info, t)) }
        for request in unconfirmed { events.append(completion(request, .info, t)) }
        outstanding = []
        outstandingHead = 0
        unconfirmed = []
        return events
    }

    /// A hole in a stream (a lost segment the reassembler could not wait for).
    public mutating func streamBroken(_ reason: String, timeNs: Int64) -> [HistoryEvent] {
        guard problem == nil else { return [] }
        var events: [HistoryEvent] = []
        lastTime = max(lastTime, timeNs)
        stop(reason, into: &events)
        return events
    }

    private mutating func stop(_ reason: String, into events: inout [HistoryEvent]) {
        problem = reason
        events += finish(timeNs: lastTime)
    }

    private func completion(_ request: MappedRequest, _ outcome: MappedOutcome, _ time: Int64) -> HistoryEvent {
        let (type, value): (EventType, HistoryValue)
        switch outcome {
        case .ok(let v): (type, value) = (.ok, request.f == "read" ? v : request.value)
        case .fail: (type, value) = (.fail, request.value)
        case .info: (type, value) = (.info, request.value)
        }
        return HistoryEvent(type: type, process: process, f: request.f, key: request.key, value: value, time: time, node: node)
    }

    private struct ParsedRequest {
        var op: MappedRequest?
        var noreply: Bool
    }

    private struct ParsedReply {
        var isPush: Bool
        var outcome: (MappedRequest) -> MappedOutcome
    }

    private mutating func nextRequest() throws -> ParsedRequest? {
        switch proto {
        case .resp:
            guard let frame = try respRequests.next(&requestBytes) else { return nil }
            return ParsedRequest(op: OperationMapping.request(frame), noreply: false)
        case .memcached:
            guard let frame = try mcRequests.next(&requestBytes) else { return nil }
            // An empty line gets no reply; a quiet meta command (q flag) answers only some
            // outcomes, so pairing by order cannot follow it.
            if frame.command == nil { return ParsedRequest(op: nil, noreply: true) }
            if frame.noreply, frame.command?.count == 2 {
                throw Unpairable(description: "a quiet meta command (q flag): replies cannot be paired by order")
            }
            return ParsedRequest(op: OperationMapping.request(frame), noreply: frame.noreply)
        }
    }

    private mutating func nextReply() throws -> ParsedReply? {
        switch proto {
        case .resp:
            guard let frame = try respReplies.next(&replyBytes) else { return nil }
            return ParsedReply(isPush: frame.kind == .push) { OperationMapping.outcome(frame, for: $0) }
        case .memcached:
            guard let frame = try mcReplies.next(&replyBytes) else { return nil }
            return ParsedReply(isPush: false) { OperationMapping.outcome(frame, for: $0) }
        }
    }
}

/// A stream `ConnectionRecorder` cannot follow although it parses.
struct Unpairable: Error, CustomStringConvertible {
    var description: String
}
