import Foundation
import Hummingbird
import NIOCore
import RiftProxy

/// The HTTP API: Toxiproxy 2.x's endpoints, wire-compatible so its clients work unchanged,
/// plus Rift's partitions and event log under `/rift/`.
public enum ControlAPI {
    /// The version `/version` reports: Toxiproxy's API level Rift speaks.
    public static let toxiproxyVersion = "2.12.0"
    /// Request bodies above this get 413.
    public static let maxBodyBytes = 1 << 20

    /// - Parameter token: when set, every request must carry `Authorization: Bearer <token>`.
    public static func router(_ plane: ControlPlane, token: String? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(JSONErrorMiddleware())
        router.middlewares.add(BrowserRefusalMiddleware())
        if let token { router.middlewares.add(BearerTokenMiddleware(token: token)) }

        router.get("/version") { _, _ in
            JSONValue.object(["version": .string(toxiproxyVersion)]).response()
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: MetricsRenderer.render(plane.server))))
        }
        router.post("/reset") { _, _ in
            try await plane.reset()
            return Response(status: .noContent)
        }
        router.post("/populate") { request, context in
            try await plane.populate(try await body(request)).response(status: .created)
        }

        router.get("/proxies") { _, _ in plane.listProxies().response() }
        router.post("/proxies") { request, _ in
            try await plane.createProxy(try await body(request)).response(status: .created)
        }
        router.get("/proxies/{proxy}") { _, context in
            try plane.showProxy(try context.parameters.require("proxy")).response()
        }
        for method in [HTTPRequest.Method.post, .patch] {
            router.on("/proxies/{proxy}", method: method) { request, context in
                try await plane.updateProxy(try context.parameters.require("proxy"), try await body(request)).response()
            }
        }
        router.delete("/proxies/{proxy}") { _, context in
            try await plane.deleteProxy(try context.parameters.require("proxy"))
            return Response(status: .noContent)
        }

        router.get("/proxies/{proxy}/toxics") { _, context in
            try plane.listToxics(try context.parameters.require("proxy")).response()
        }
        router.post("/proxies/{proxy}/toxics") { request, context in
            // Toxiproxy answers a created toxic with 200, and its clients expect that.
            try await plane.addToxic(try context.parameters.require("proxy"), try await body(request)).response()
        }
        router.get("/proxies/{proxy}/toxics/{toxic}") { _, context in
            try plane.showToxic(try context.parameters.require("proxy"), try context.parameters.require("toxic")).response()
        }
        for method in [HTTPRequest.Method.post, .patch] {
            router.on("/proxies/{proxy}/toxics/{toxic}", method: method) { request, context in
                try await plane.updateToxic(
                    try context.parameters.require("proxy"), try context.parameters.require("toxic"),
                    try await body(request)
                ).response()
            }
        }
        router.delete("/proxies/{proxy}/toxics/{toxic}") { _, context in
            try await plane.removeToxic(try context.parameters.require("proxy"), try context.parameters.require("toxic"))
            return Response(status: .noContent)
        }

        router.post("/rift/proxies/{proxy}/pcap") { request, context in
            try plane.startCapture(try context.parameters.require("proxy"), try await body(request)).response(status: .created)
        }
        router.get("/rift/proxies/{proxy}/pcap") { _, context in try plane.showCapture(try context.parameters.require("proxy")).response() }
        router.delete("/rift/proxies/{proxy}/pcap") { _, context in try plane.stopCapture(try context.parameters.require("proxy")).response() }

        router.get("/rift/partitions") { _, _ in plane.listPartitions().response() }
        router.post("/rift/partitions") { request, _ in
            try await plane.createPartition(try await body(request)).response(status: .created)
        }
        router.delete("/rift/partitions") { _, _ in
            try await plane.heal(nil)
            return Response(status: .noContent)
        }
        router.delete("/rift/partitions/{id}") { _, context in
            try await plane.heal(try context.parameters.require("id"))
            return Response(status: .noContent)
        }
        router.get("/rift/events") { request, _ in
            let after = request.uri.queryParameters.get("after").flatMap { Int64($0) } ?? 0
            return JSONValue.array(plane.events.events(after: after).map(\.json)).response()
        }
        return router
    }

    /// Reads a JSON body of at most `maxBodyBytes`.
    static func body(_ request: Request) async throws(APIError) -> JSONValue {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes {
            throw APIError(.contentTooLarge, "request body is larger than \(maxBodyBytes) bytes")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "request body is larger than \(maxBodyBytes) bytes")
        } catch {
            throw APIError(.badRequest, "bad request body: \(error)")
        }
        let bytes = Array(buffer.readableBytesView)
        guard !bytes.isEmpty else { throw APIError(.badRequest, "bad request body: empty (send a JSON object)") }
        return try JSONValue.parse(bytes)
    }
}

/// Every error leaves as Toxiproxy's JSON `{"error","status"}`, whatever threw it (an unknown
/// route, a body too large), and nothing a request does escapes as a crash of the server.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPResponseError {
            let message: String
            switch error.status {
            case .notFound: message = "not found: \(request.method) \(request.uri.path)"
            case .methodNotAllowed: message = "method not allowed: \(request.method) \(request.uri.path)"
            case .contentTooLarge: message = "request body is larger than \(ControlAPI.maxBodyBytes) bytes"
            default: message = error.status.reasonPhrase
            }
            throw APIError(error.status, message)
        } catch {
            throw APIError(.internalServerError, "\(error)")
        }
    }
}

/// Refuses requests from web browsers (a `Mozilla/` user agent), as Toxiproxy does: a page the
/// user visits must not be able to drive the proxies on their machine.
struct BrowserRefusalMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let agent = request.headers[.userAgent], agent.contains("Mozilla/") {
            throw APIError(.forbidden, "User agent not allowed")
        }
        return try await next(request, context)
    }
}

/// Requires `Authorization: Bearer <token>`, compared in constant time.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    init(token: String) { self.token = Array(token.utf8) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        let given = header.hasPrefix(prefix) ? Array(header.utf8.dropFirst(prefix.utf8.count)) : []
        guard Self.constantTimeEqual(given, token) else {
            throw APIError(.unauthorized, "missing or wrong bearer token (send Authorization: Bearer <token>)")
        }
        return try await next(request, context)
    }

    /// Takes the same time for every `given` of a length, whatever its content.
    static func constantTimeEqual(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for i in 0..<expected.count {
            difference |= expected[i] ^ (i < given.count ? given[i] : 0)
        }
        return difference == 0
    }
}
