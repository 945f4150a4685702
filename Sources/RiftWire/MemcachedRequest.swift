import NIOCore

/// A memcached text-protocol request. The one memcached request encoder in Rift: the
/// harness's pools and the tests' client write requests through it, and `MemcachedParser`
/// (`role: .request`) reads each back as the same command and key.
public enum MemcachedRequest: Equatable, Sendable {
    /// `get <key>*` (`gets` with `cas: true`: items carry their CAS unique).
    case get(keys: [String], cas: Bool = false)
    /// `set`, `add`, `replace`, `append`, `prepend` with a data block.
    case store(StoreVerb, key: String, flags: UInt32 = 0, exptime: Int = 0, value: [UInt8], noreply: Bool = false)
    /// `cas <key> <flags> <exptime> <bytes> <unique>`: store only if nobody wrote since `unique`.
    case cas(key: String, flags: UInt32 = 0, exptime: Int = 0, value: [UInt8], unique: UInt64, noreply: Bool = false)
    case delete(key: String, noreply: Bool = false)
    case incr(key: String, by: UInt64, noreply: Bool = false)
    case decr(key: String, by: UInt64, noreply: Bool = false)
    case touch(key: String, exptime: Int, noreply: Bool = false)
    case version
    case stats

    public enum StoreVerb: String, Sendable, CaseIterable {
        case set, add, replace, append, prepend
    }

    /// Why a request cannot be written: memcached's text protocol cannot carry the key.
    public struct InvalidKey: Error, Equatable, Sendable, CustomStringConvertible {
        public var key: String
        public init(key: String) { self.key = key }
        public var description: String { "invalid memcached key '\(key.prefix(64))': 1 to 250 bytes, no spaces or control characters" }
    }

    /// Keys are 1 to 250 bytes without spaces or control characters, as memcached requires; a
    /// key that breaks this would split the command line and put the stream out of step.
    public static func validate(_ key: String) throws(InvalidKey) {
        let bytes = key.utf8
        guard !bytes.isEmpty, bytes.count <= 250, bytes.allSatisfy({ $0 > 32 && $0 != 127 }) else { throw InvalidKey(key: key) }
    }

    /// The keys the request names (validated by `encode`).
    public var keys: [String] {
        switch self {
        case .get(let keys, _): return keys
        case .store(_, let key, _, _, _, _), .cas(let key, _, _, _, _, _), .delete(let key, _),
            .incr(let key, _, _), .decr(let key, _, _), .touch(let key, _, _):
            return [key]
        case .version, .stats: return []
        }
    }

    /// Appends the request's bytes; throws before writing anything if a key is invalid.
    public func encode(into buffer: inout ByteBuffer) throws(InvalidKey) {
        for key in keys { try Self.validate(key) }
        func line(_ words: [String], noreply: Bool = false) {
            buffer.writeString(words.joined(separator: " "))
            if noreply { buffer.writeStaticString(" noreply") }
            buffer.writeStaticString("\r\n")
        }
        func data(_ value: [UInt8]) {
            buffer.writeBytes(value)
            buffer.writeStaticString("\r\n")
        }
        switch self {
        case .get(let keys, let cas):
            line([cas ? "gets" : "get"] + keys)
        case .store(let verb, let key, let flags, let exptime, let value, let noreply):
            line([verb.rawValue, key, String(flags), String(exptime), String(value.count)], noreply: noreply)
            data(value)
        case .cas(let key, let flags, let exptime, let value, let unique, let noreply):
            line(["cas", key, String(flags), String(exptime), String(value.count), String(unique)], noreply: noreply)
            data(value)
        case .delete(let key, let noreply):
            line(["delete", key], noreply: noreply)
        case .incr(let key, let by, let noreply):
            line(["incr", key, String(by)], noreply: noreply)
        case .decr(let key, let by, let noreply):
            line(["decr", key, String(by)], noreply: noreply)
        case .touch(let key, let exptime, let noreply):
            line(["touch", key, String(exptime)], noreply: noreply)
        case .version:
            line(["version"])
        case .stats:
            line(["stats"])
        }
    }
}
