import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Rift
import RiftControl

/// Where the CLI finds a running `rift server`: `--api URL`, else `$RIFT_API`, else loopback.
struct APIOptions: ParsableArguments {
    static let defaultURL = "http://127.0.0.1:8474"

    @Option(name: .customLong("api"), help: "The rift server's API URL (default: $RIFT_API, else \(APIOptions.defaultURL)).")
    var api: String?

    @Option(name: .customLong("token"), help: "A file holding the server's bearer token (default: $RIFT_TOKEN_FILE).")
    var tokenFile: String?

    func client() throws -> APIClient {
        let env = ProcessInfo.processInfo.environment
        var text = api ?? env["RIFT_API"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultURL
        if !text.contains("://") { text = "http://" + text }
        guard let url = URL(string: text), url.host != nil, url.scheme == "http" || url.scheme == "https" else {
            throw CLIFailure.badInput("--api '\(text)' is not a URL; write e.g. http://127.0.0.1:8474")
        }
        var token: String?
        if let path = tokenFile ?? env["RIFT_TOKEN_FILE"] {
            guard let t = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CLIFailure.badInput("--token \(path): cannot read the file")
            }
            token = t.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return APIClient(base: url, token: token)
    }
}

/// A small blocking-style client for the API: one call, one JSON answer or one clear error.
struct APIClient: Sendable {
    let base: URL
    let token: String?

    var baseText: String { base.absoluteString.hasSuffix("/") ? String(base.absoluteString.dropLast()) : base.absoluteString }

    /// Sends a request; a 2xx answers its JSON (or nil when empty), anything else throws a
    /// one-line `CLIFailure` with the server's reason.
    @discardableResult
    func call(_ method: String, _ path: String, body: JSONValue? = nil) async throws -> JSONValue? {
        guard let url = URL(string: baseText + path) else { throw CLIFailure.badInput("bad path \(path)") }
        var request = URLRequest(url: url, timeoutInterval: 30)
        request.httpMethod = method
        request.setValue("rift-cli", forHTTPHeaderField: "User-Agent")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = Data(body.encoded())
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, status) = try await send(request)
        let json = data.isEmpty ? nil : try? JSONDecoder().decode(JSONValue.self, from: data)
        guard (200..<300).contains(status) else {
            var message = "HTTP \(status)"
            if case .string(let reason)? = json?["error"] { message = reason }
            // The server refused what we sent: that is bad input (exit 2), said in the server's words.
            if (400..<500).contains(status) { throw CLIFailure.badInput("\(method) \(path): \(message)") }
            throw CLIFailure.failed("\(method) \(path): \(message)")
        }
        return json
    }

    private func send(_ request: URLRequest) async throws -> (Data, Int) {
        let base = baseText
        return try await withCheckedThrowingContinuation { continuation in
            let task = URLSession.shared.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: CLIFailure.failed(
                        "cannot reach the rift server at \(base): \(error.localizedDescription) (start one with `rift server`, or point --api / RIFT_API at it)"))
                    return
                }
                continuation.resume(returning: (data ?? Data(), (response as? HTTPURLResponse)?.statusCode ?? 0))
            }
            task.resume()
        }
    }
}

/// Percent-escapes a name for a URL path segment.
func pathSegment(_ name: String) -> String {
    name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.:"))) ?? name
}

extension JSONValue {
    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }

    /// A value as a person reads it: strings bare, numbers without `.0`.
    var plain: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .integer(let i): return String(i)
        case .string(let s): return s
        case .array(let a): return a.map(\.plain).joined(separator: ",")
        case .object: return String(decoding: encoded(), as: UTF8.self)
        }
    }

    /// Pretty JSON for `show` commands.
    var pretty: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? plain
    }
}

/// Reads a `--for` duration (`250ms`, `10s`, `2m`) into whole milliseconds.
func milliseconds(_ text: String, option: String) throws -> Int64 {
    do {
        return try DurationParser.nanoseconds(text) / 1_000_000
    } catch {
        throw CLIFailure.badInput("\(option): \(error.description)")
    }
}
