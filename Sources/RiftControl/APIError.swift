import Hummingbird

/// An API error as Toxiproxy answers it: `{"error": "...", "status": N}`.
public struct APIError: Error, HTTPResponseError, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// More fields of the answer, beside `error` and `status` (populate's `proxies`).
    public var fields: [String: JSONValue]

    public init(_ status: HTTPResponse.Status, _ message: String, fields: [String: JSONValue] = [:]) {
        self.status = status
        self.message = message
        self.fields = fields
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var o = fields
        o["error"] = .string(message)
        o["status"] = .number(Double(status.code))
        return JSONValue.object(o).response(status: status)
    }
}

extension JSONValue {
    func response(status: HTTPResponse.Status = .ok) -> Response {
        var buffer = ByteBuffer()
        buffer.writeBytes(encoded())
        buffer.writeString("\n")
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}
