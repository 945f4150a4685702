import Foundation
import RiftCore
import Synchronization

/// One change to the fault state: a proxy, toxic or partition made, changed or removed.
///
/// Both clocks are recorded: `wallNs` for humans and reports, `monotonicNs` to line the fault
/// windows up with client histories taken on the same machine.
public struct ControlEvent: Sendable, Equatable {
    public var seq: Int64
    public var wallNs: Int64
    public var monotonicNs: Int64
    /// `proxy.create`, `proxy.update`, `proxy.delete`, `toxic.add`, `toxic.update`,
    /// `toxic.remove`, `toxic.expire`, `partition.create`, `partition.heal`, `reset`, and
    /// `proxy.disable` when a proxy's listener could not open again (detail `reason`).
    public var kind: String
    public var proxy: String?
    public var toxic: String?
    public var partition: String?
    /// The object as the API shows it after the change (absent for removals).
    public var detail: JSONValue?

    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "seq": .integer(seq), "wall_ns": .integer(wallNs),
            "monotonic_ns": .integer(monotonicNs), "kind": .string(kind),
            "time": .string(Self.iso8601(wallNs)),
        ]
        if let proxy { o["proxy"] = .string(proxy) }
        if let toxic { o["toxic"] = .string(toxic) }
        if let partition { o["partition"] = .string(partition) }
        if let detail { o["detail"] = detail }
        return .object(o)
    }

    static func iso8601(_ wallNs: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(wallNs) / 1e9))
    }
}

/// The fault state's change log: the last `capacity` events in memory, and every event as one
/// JSON line in a file when a path is given (written whole and flushed before the API answers).
public final class EventLog: Sendable {
    public static let defaultCapacity = 10_000
    private let capacity: Int
    private let state = Mutex(State())
    private let file: FileHandle?

    private struct State {
        var events: [ControlEvent] = []
        var nextSeq: Int64 = 1
    }

    /// - Parameter path: a JSONL file to append to (created if missing).
    public init(path: String? = nil, capacity: Int = EventLog.defaultCapacity) throws {
        self.capacity = max(1, capacity)
        if let path {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
                }
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            self.file = handle
        } else {
            self.file = nil
        }
    }

    @discardableResult
    public func record(_ kind: String, proxy: String? = nil, toxic: String? = nil, partition: String? = nil, detail: JSONValue? = nil) -> ControlEvent {
        // The lock covers the file write too, so lines keep seq order and never interleave.
        state.withLock { s in
            let event = ControlEvent(
                seq: s.nextSeq, wallNs: RiftClock.wallNanoseconds(), monotonicNs: RiftClock.monotonicNanoseconds(),
                kind: kind, proxy: proxy, toxic: toxic, partition: partition, detail: detail)
            s.nextSeq += 1
            s.events.append(event)
            if s.events.count > capacity { s.events.removeFirst(s.events.count - capacity) }
            if let file {
                try? file.write(contentsOf: Data(event.json.encoded() + [UInt8(ascii: "\n")]))
            }
            return event
        }
    }

    /// Events with `seq` greater than `after`, oldest first.
    public func events(after: Int64 = 0) -> [ControlEvent] {
        state.withLock { $0.events.filter { $0.seq > after } }
    }
}
