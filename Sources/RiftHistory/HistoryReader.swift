import Foundation

/// The history formats Rift reads.
public enum HistoryFormat: String, Sendable, CaseIterable {
    /// Detect from the first non-blank line.
    case auto
    /// Rift's JSON Lines.
    case jsonl
    /// Jepsen or Knossos EDN (one map per line, or one vector of maps).
    case edn
    /// Porcupine's kv test histories (EDN maps with `:key`; get/put/append on strings).
    case porcupineKV = "porcupine-kv"
    /// Porcupine's Jepsen etcd logs (`INFO jepsen.util - ...`).
    case porcupineEtcd = "porcupine-etcd"
}

/// Reads histories from files or bytes in any supported format.
public enum HistoryReader {
    /// Reads and parses `path`. Errors carry the file name and the line.
    public static func read(path: String, format: HistoryFormat = .auto) throws(HistoryError) -> History {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
            throw HistoryError(file: path, line: 0, reason: exists ? (isDir.boolValue ? "is a directory" : "cannot be read") : "no such file")
        }
        do throws(HistoryError) {
            return try parse(data, format: format)
        } catch {
            var e = error
            e.file = path
            throw e
        }
    }

    public static func parse(_ text: String, format: HistoryFormat = .auto) throws(HistoryError) -> History {
        try parse(Data(text.utf8), format: format)
    }

    public static func parse(_ data: Data, format: HistoryFormat = .auto) throws(HistoryError) -> History {
        let result: Result<History, HistoryError> = data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            do throws(HistoryError) {
                return .success(try parse(bytes: bytes, format: format))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    static func parse(bytes: UnsafeBufferPointer<UInt8>, format: HistoryFormat) throws(HistoryError) -> History {
        let resolved = format == .auto ? detect(bytes) : format
        switch resolved {
        case .auto, .jsonl: return try JSONLReader.parse(bytes)
        case .edn, .porcupineKV: return try EDNReader.parse(bytes)
        case .porcupineEtcd: return try PorcupineEtcdReader.parse(bytes)
        }
    }

    /// JSON Lines start with `{"`, EDN with `{:`, `[` or `(`, Porcupine's etcd logs with `INFO`.
    public static func detect(_ bytes: UnsafeBufferPointer<UInt8>) -> HistoryFormat {
        var i = 0
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        guard i < bytes.count else { return .jsonl }
        let c = bytes[i]
        if c == UInt8(ascii: "I") { return .porcupineEtcd }
        if c == UInt8(ascii: "[") || c == UInt8(ascii: "(") || c == UInt8(ascii: ";") { return .edn }
        if c == UInt8(ascii: "{") {
            var j = i + 1
            while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
            if j < bytes.count, bytes[j] == UInt8(ascii: ":") { return .edn }
        }
        return .jsonl
    }
}
