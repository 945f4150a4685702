import Foundation
import Hummingbird
import HummingbirdTesting
import RiftControl
import RiftProxy

/// One in-process API over a fresh proxy server, called through the router (no sockets for HTTP).
struct APIHarness {
    let client: any TestClientProtocol
    let plane: ControlPlane

    struct Reply {
        var status: HTTPResponse.Status
        var json: JSONValue?
        var text: String
        var error: String? { if case .string(let s)? = json?["error"] { return s } else { return nil } }
    }

    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, headers: HTTPFields = [:]) async throws -> Reply {
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        let text = String(buffer: response.body)
        let json = text.isEmpty ? nil : try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        return Reply(status: response.status, json: json, text: text)
    }

    /// - Parameter relay: as `ProxyServer(relay:)`: fault-free connections on the relay, or
    ///   every connection on a pipeline.
    static func run(token: String? = nil, eventsPath: String? = nil, relay: Bool = true, threads: Int = 1, _ body: @Sendable (APIHarness) async throws -> Void) async throws {
        let server = ProxyServer(seed: 1, threads: threads, relay: relay)
        let plane = ControlPlane(server: server, events: try EventLog(path: eventsPath))
        let app = Application(router: ControlAPI.router(plane, token: token))
        do {
            try await app.test(.router) { client in try await body(APIHarness(client: client, plane: plane)) }
        } catch {
            plane.cancelAllTimers()
            await server.shutdown()
            throw error
        }
        plane.cancelAllTimers()
        await server.shutdown()
    }
}

extension JSONValue {
    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    var number: Double? { if case .number(let d) = self { return d } else { return nil } }
    var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
}

/// Polls until `condition` holds or `timeout` passes; for effects on a timer owned by the server.
func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}
