import Foundation
import RiftCore
import RiftFaults
import RiftProxy

extension ControlPlane {
    // MARK: - Toxics

    public func listToxics(_ proxyName: String) throws(APIError) -> JSONValue {
        let proxy = try proxy(proxyName)
        return .array(Self.ordered(proxy.faults).map { toxicJSON(proxyName, $0) })
    }

    public func showToxic(_ proxyName: String, _ toxicName: String) throws(APIError) -> JSONValue {
        toxicJSON(proxyName, try toxic(try proxy(proxyName), toxicName))
    }

    private func toxic(_ proxy: Proxy, _ name: String) throws(APIError) -> Fault {
        guard let fault = proxy.faults.first(where: { $0.name == name }) else { throw APIError(.notFound, "toxic not found") }
        return fault
    }

    public func addToxic(_ proxyName: String, _ body: JSONValue) async throws(APIError) -> JSONValue {
        let proxy = try proxy(proxyName)
        let request = try ToxicRequest(body)
        let fault = request.fault, name = fault.name
        if proxy.faults.contains(where: { $0.name == name }) { throw APIError(.conflict, "toxic already exists") }
        try await recordingDisables([proxy]) { try await proxy.addFault(fault) }
        if let duration = request.durationMs { scheduleToxicExpiry(proxyName, name, afterMs: duration) }
        let json = toxicJSON(proxyName, fault)
        events.record("toxic.add", proxy: proxyName, toxic: name, detail: json)
        return json
    }

    /// Merges the body into the toxic: attributes key by key, then toxicity, stream and
    /// `duration_ms` (which restarts the timer) when given.
    public func updateToxic(_ proxyName: String, _ toxicName: String, _ body: JSONValue) async throws(APIError) -> JSONValue {
        let proxy = try proxy(proxyName)
        var fault = try toxic(proxy, toxicName)
        let r = try BodyReader(body)
        if let typeName = try r.string("type"), typeName.lowercased() != fault.type {
            throw APIError(.badRequest, "bad request body: a toxic's type cannot change (remove it and add a new one)")
        }
        var attributes = fault.config.attributes
        attributes.merge(try r.attributes("attributes")) { _, new in new }
        fault.config = try Self.makeConfig(fault.type, attributes)
        if let toxicity = try r.number("toxicity") { fault.toxicity = toxicity }
        if let stream = try Self.stream(r) { fault.stream = stream }
        let duration = try r.milliseconds("duration_ms")
        try await recordingDisables([proxy]) { try await proxy.updateFault(fault) }
        if let duration { scheduleToxicExpiry(proxyName, toxicName, afterMs: duration) }
        let json = toxicJSON(proxyName, fault)
        events.record("toxic.update", proxy: proxyName, toxic: toxicName, detail: json)
        return json
    }

    public func removeToxic(_ proxyName: String, _ toxicName: String) async throws(APIError) {
        let proxy = try proxy(proxyName)
        cancelTimer(Self.toxicKey(proxyName, toxicName))
        try await recordingDisables([proxy]) { try await proxy.removeFault(named: toxicName) }
        events.record("toxic.remove", proxy: proxyName, toxic: toxicName)
    }

    static func makeConfig(_ type: String, _ attributes: FaultAttributes) throws(APIError) -> any FaultStageConfig {
        do { return try FaultRegistry.makeConfig(type: type, attributes: attributes, strict: false) }
        catch { throw APIError(.badRequest, "invalid toxic attributes: \(error.description)") }
    }

    static func stream(_ r: BodyReader) throws(APIError) -> StreamDirection? {
        guard let text = try r.string("stream"), !text.isEmpty else { return nil }
        guard let stream = StreamDirection(lenient: text) else {
            throw APIError(.badRequest, "stream was invalid, can be either upstream or downstream")
        }
        return stream
    }

    /// Upstream chain first, each in chain order, as Toxiproxy lists them.
    static func ordered(_ faults: [Fault]) -> [Fault] {
        faults.filter { $0.stream == .upstream } + faults.filter { $0.stream == .downstream }
    }
}
