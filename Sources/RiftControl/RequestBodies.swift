import RiftFaults
import RiftProxy

// What the API's add-toxic and partition bodies ask for, checked before anything changes.
// Public, with `ControlPlane.ProxyRequest`, so that the `api-body` fuzz target (Fuzzers/) reads
// bodies exactly as the endpoints do, without a server.
extension ControlPlane {
    /// POST /proxies/{proxy}/toxics: the fault to add and how long it stays.
    public struct ToxicRequest {
        public var fault: Fault
        public var durationMs: Int64?

        public init(_ body: JSONValue) throws(APIError) {
            let r = try BodyReader(body)
            guard let typeName = try r.string("type"), let type = FaultRegistry.type(named: typeName) else {
                throw APIError(.badRequest, "invalid toxic type")
            }
            let stream = try ControlPlane.stream(r) ?? .downstream
            let toxicity = try r.number("toxicity") ?? 1
            durationMs = try r.milliseconds("duration_ms")
            let config = try ControlPlane.makeConfig(type.type, try r.attributes("attributes"))
            let name = try r.string("name").flatMap { $0.isEmpty ? nil : $0 } ?? "\(type.type)_\(stream.rawValue)"
            fault = Fault(name: name, stream: stream, toxicity: toxicity, config: config)
        }
    }

    /// POST /rift/partitions: the groups to cut apart, how, and for how long.
    public struct PartitionRequest {
        public var groups: [[String]]
        public var mode: PartitionMode
        public var oneWay: Bool
        public var durationMs: Int64?

        public init(_ body: JSONValue) throws(APIError) {
            let r = try BodyReader(body)
            guard case .array(let rawGroups)? = body["groups"] else { throw APIError(.badRequest, "missing required field: groups") }
            groups = []
            for raw in rawGroups {
                guard case .array(let names) = raw else { throw APIError(.badRequest, "bad request body: groups must be an array of arrays of node names") }
                groups.append(try names.map { (n) throws(APIError) -> String in
                    guard case .string(let s) = n else { throw APIError(.badRequest, "bad request body: node names must be strings") }
                    return s
                })
            }
            let modeText = try r.string("mode") ?? "blackhole"
            guard let mode = PartitionMode(rawValue: modeText.lowercased()) else {
                throw APIError(.badRequest, "bad request body: mode must be one of \(PartitionMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.mode = mode
            oneWay = try r.bool("one_way") ?? false
            durationMs = try r.milliseconds("duration_ms")
        }
    }
}
