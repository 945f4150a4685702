import NIOCore
import RiftHistory
import RiftWire

/// What a request means to a register checker: `f` is `read`, `write` or `delete`.
public struct MappedRequest: Equatable, Sendable {
    public var f: String
    public var key: String
    /// The value written; `.null` for reads and deletes.
    public var value: HistoryValue
}

/// How a reply completed a request.
public enum MappedOutcome: Equatable, Sendable {
    /// It happened; for a read, with the value read (`.null`: absent).
    case ok(HistoryValue)
    /// The server refused it: it did not happen.
    case fail
    /// A reply the mapping does not understand: it may or may not have happened.
    case info
}

/// Redis and memcached commands as register operations, the way `RegisterWorkload` records
/// them: GET/get/mg…v are reads, plain SET/set/ms writes, DEL/UNLINK/delete/md deletes.
/// Values that are decimal integers become integers, as the workload writes them. Commands
/// with conditions (SET NX, add, cas) and multi-key commands are not register operations and
/// are left out of the history (their replies are still paired, so the rest stays in step).
public enum OperationMapping {
    public static func request(_ frame: RESPFrame) -> MappedRequest? {
        guard let command = frame.command, frame.elementCount == frame.arguments.count else { return nil }
        let args = frame.arguments.dropFirst().map { String(decoding: $0.readableBytesView, as: UTF8.self) }
        switch command {
        case "GET" where args.count == 1:
            return MappedRequest(f: "read", key: args[0], value: .null)
        case "SET" where args.count >= 2:
            // Expiry options keep it a plain write; NX/XX/GET make it something else.
            var i = 2
            while i < args.count {
                switch args[i].uppercased() {
                case "EX", "PX", "EXAT", "PXAT": i += 2
                case "KEEPTTL": i += 1
                default: return nil
                }
            }
            guard i == args.count else { return nil }
            return MappedRequest(f: "write", key: args[0], value: value(args[1]))
        case "DEL", "UNLINK":
            return args.count == 1 ? MappedRequest(f: "delete", key: args[0], value: .null) : nil
        default:
            return nil
        }
    }

    /// The reply's value comes from RiftWire's reply decoder, the one Rift's clients read
    /// replies with; a frame it cannot build a value of is `info`.
    public static func outcome(_ reply: RESPFrame, for request: MappedRequest) -> MappedOutcome {
        guard let value = try? RESPValue(frame: reply) else { return .info }
        switch (request.f, value.withoutAttributes) {
        case (_, .error): return .fail
        case ("read", .bulkString(nil)), ("read", .array(nil)), ("read", .null): return .ok(.null)
        case ("read", .bulkString(let bytes?)): return .ok(Self.value(bytes))
        case ("read", .verbatimString(_, let text)): return .ok(Self.value(text))
        case ("write", .simpleString): return .ok(request.value)
        case ("delete", .integer): return .ok(.null)
        default: return .info
        }
    }

    public static func request(_ frame: MemcachedFrame) -> MappedRequest? {
        guard let command = frame.command, frame.keys.count == 1 else { return nil }
        let key = String(decoding: frame.keys[0].readableBytesView, as: UTF8.self)
        let words = firstLine(frame.bytes).split(separator: " ")
        switch command {
        case "GET", "GETS":
            return MappedRequest(f: "read", key: key, value: .null)
        case "MG" where words.dropFirst(2).contains("v"):
            return MappedRequest(f: "read", key: key, value: .null)
        case "SET", "MS":
            // `ms` with a mode flag other than set (M<x>) is add/replace/append: not a write.
            if command == "MS", words.dropFirst(3).contains(where: { $0.hasPrefix("M") && $0 != "MS" && $0 != "Ms" }) { return nil }
            guard let data = dataBlock(frame.bytes, length: frame.dataLength) else { return nil }
            return MappedRequest(f: "write", key: key, value: value(data))
        case "DELETE", "MD":
            return MappedRequest(f: "delete", key: key, value: .null)
        default:
            return nil
        }
    }

    /// The reply comes from RiftWire's memcached reply decoder, as Rift's clients read it.
    public static func outcome(_ reply: MemcachedFrame, for request: MappedRequest) -> MappedOutcome {
        guard let decoded = try? MemcachedReply(frame: reply) else { return .info }
        if decoded.isError { return .fail }
        switch (request.f, decoded) {
        case ("read", .values(let items)):
            guard let item = items.first else { return .ok(.null) }  // a lone END
            return .ok(value(item.value))
        case ("read", .meta("VA", _, let data?)): return .ok(value(data))
        case ("read", .meta("EN", _, _)), ("read", .meta("NF", _, _)): return .ok(.null)
        case ("write", .stored), ("write", .meta("HD", _, _)): return .ok(request.value)
        case ("write", .notStored), ("write", .exists), ("write", .notFound),
            ("write", .meta("NS", _, _)), ("write", .meta("EX", _, _)), ("write", .meta("NF", _, _)):
            return .fail
        case ("delete", .deleted), ("delete", .notFound), ("delete", .meta("HD", _, _)), ("delete", .meta("NF", _, _)):
            return .ok(.null)
        default: return .info
        }
    }

    /// Integers as integers (what the register workload writes), anything else as text.
    static func value(_ text: String) -> HistoryValue {
        if let n = Int64(text) { return .int(n) }
        return .string(text)
    }

    static func value(_ bytes: [UInt8]) -> HistoryValue { value(String(decoding: bytes, as: UTF8.self)) }

    private static func firstLine(_ bytes: ByteBuffer) -> String {
        let view = bytes.readableBytesView
        let end = view.firstIndex(of: UInt8(ascii: "\n")) ?? view.endIndex
        var line = view[view.startIndex..<end]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        return String(decoding: line, as: UTF8.self)
    }

    /// The `length` bytes after the first line (a storage request's data block).
    private static func dataBlock(_ bytes: ByteBuffer, length: Int) -> String? {
        let view = bytes.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let start = view.index(after: newline)
        guard length >= 0, length <= view.distance(from: start, to: view.endIndex) else { return nil }
        return String(decoding: view[start..<view.index(start, offsetBy: length)], as: UTF8.self)
    }
}
