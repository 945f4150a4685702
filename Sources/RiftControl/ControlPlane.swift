import Foundation
import NIOConcurrencyHelpers
import RiftCore
import RiftFaults
import RiftProxy

/// The API's operations on a `ProxyServer`, in Toxiproxy's terms, independent of HTTP: every
/// change is checked, carried out, recorded in the event log, and answered as JSON.
///
/// Timed toxics and partitions (`duration_ms`) are undone by a task that sleeps on the
/// continuous clock; a later change to the same toxic or partition cancels it.
public final class ControlPlane: Sendable {
    public let server: ProxyServer
    public let events: EventLog
    private let timers = NIOLockedValueBox(Timers())

    private struct Timers {
        /// Keyed by `toxic:<proxy>/<toxic>` or `partition:<id>`.
        var tasks: [String: (generation: UInt64, deadlineMs: Int64, task: Task<Void, Never>)] = [:]
        var nextGeneration: UInt64 = 1
    }

    public init(server: ProxyServer, events: EventLog) {
        self.server = server
        self.events = events
    }

    // MARK: - Proxies

    func proxy(_ name: String) throws(APIError) -> Proxy {
        guard let proxy = server.proxy(named: name) else { throw APIError(.notFound, "proxy not found") }
        return proxy
    }

    public func listProxies() -> JSONValue {
        var out: [String: JSONValue] = [:]
        for proxy in server.proxies { out[proxy.name] = proxyJSON(proxy) }
        return .object(out)
    }

    public func showProxy(_ name: String) throws(APIError) -> JSONValue {
        proxyJSON(try proxy(name))
    }

    /// What a create (or populate) body asks for, checked before anything changes.
    public struct ProxyRequest {
        public var config: ProxyConfig

        public init(_ body: JSONValue) throws(APIError) {
            let r = try BodyReader(body)
            let name = try r.requiredString("name")
            let upstream = try r.requiredString("upstream")
            let listen = try r.string("listen").flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1:0"
            config = ProxyConfig(
                name: name, listen: listen, upstream: upstream, enabled: try r.bool("enabled") ?? true,
                from: try r.string("from"), to: try r.string("to"))
            do { try RiftName.validate(name) } catch { throw APIError(.badRequest, error.description) }
            for (field, address) in [("listen", listen), ("upstream", upstream)] {
                do { _ = try AddressParser.split(address) } catch { throw APIError(.badRequest, "\(field): \(error.description)") }
            }
        }
    }

    public func createProxy(_ body: JSONValue) async throws(APIError) -> JSONValue {
        let request = try ProxyRequest(body)
        let proxy: Proxy
        do {
            proxy = try await server.createProxy(request.config)
        } catch {
            throw Self.apiError(error)
        }
        let json = proxyJSON(proxy)
        events.record("proxy.create", proxy: proxy.name, detail: json)
        return json
    }

    /// Partial update: `listen`, `upstream`, `enabled` (and Rift's `from`/`to` are fixed at creation).
    public func updateProxy(_ name: String, _ body: JSONValue) async throws(APIError) -> JSONValue {
        let proxy = try proxy(name)
        let r = try BodyReader(body)
        let listen = try r.string("listen").flatMap { $0.isEmpty ? nil : $0 }
        let upstream = try r.string("upstream").flatMap { $0.isEmpty ? nil : $0 }
        let enabled = try r.bool("enabled")
        do {
            if listen != nil || upstream != nil { try await proxy.update(listen: listen, upstream: upstream) }
            if let enabled, enabled != proxy.config.enabled { try await proxy.setEnabled(enabled) }
        } catch {
            throw Self.apiError(error)
        }
        let json = proxyJSON(proxy)
        events.record("proxy.update", proxy: name, detail: json)
        return json
    }

    public func deleteProxy(_ name: String) async throws(APIError) {
        let proxy = try proxy(name)
        for fault in proxy.faults { cancelTimer(Self.toxicKey(name, fault.name)) }
        do { try await server.removeProxy(named: name) } catch { throw Self.apiError(error) }
        closeAPICapture(of: proxy)
        events.record("proxy.delete", proxy: name)
    }

    /// Toxiproxy's populate: create each proxy, replacing one of the same name only when its
    /// listen or upstream address differs. Every entry is checked before anything changes.
    public func populate(_ body: JSONValue) async throws(APIError) -> JSONValue {
        let entries: [JSONValue]
        switch body {
        case .array(let a): entries = a
        case .object(let o) where o.keys.contains(where: { $0.lowercased() == "proxies" }):
            guard case .array(let a)? = body["proxies"] else { throw APIError(.badRequest, "bad request body: proxies must be an array") }
            entries = a
        default: throw APIError(.badRequest, "bad request body: expected an array of proxies")
        }
        let requests = try entries.map { (entry) throws(APIError) in try ProxyRequest(entry) }
        var out: [JSONValue] = []
        for request in requests {
            let config = request.config
            if let existing = server.proxy(named: config.name) {
                if sameAddresses(existing, config) {
                    out.append(proxyJSON(existing))
                    continue
                }
                try await deleteProxy(config.name)
            }
            out.append(try await createProxy(Self.proxyBody(config)))
        }
        return .object(["proxies": .array(out)])
    }

    private func sameAddresses(_ proxy: Proxy, _ config: ProxyConfig) -> Bool {
        let snapshot = proxy.snapshot
        func normal(_ address: String) -> String {
            guard let (host, port) = try? AddressParser.split(address) else { return address }
            return "\(host):\(port)"
        }
        let listenSame = normal(config.listen) == normal(snapshot.config.listen) || normal(config.listen) == normal(snapshot.listen)
        return listenSame && normal(config.upstream) == normal(snapshot.config.upstream)
    }

    private static func proxyBody(_ config: ProxyConfig) -> JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(config.name), "listen": .string(config.listen),
            "upstream": .string(config.upstream), "enabled": .bool(config.enabled),
        ]
        if let from = config.from { o["from"] = .string(from) }
        if let to = config.to { o["to"] = .string(to) }
        return .object(o)
    }

    /// Toxiproxy's reset: every proxy enabled, every toxic removed. Partitions stay (heal them).
    public func reset() async throws(APIError) {
        for proxy in server.proxies {
            for fault in proxy.faults { cancelTimer(Self.toxicKey(proxy.name, fault.name)) }
            await proxy.removeAllFaults()
            if !proxy.config.enabled {
                do { try await proxy.setEnabled(true) } catch { throw Self.apiError(error) }
            }
        }
        events.record("reset")
    }

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
        do { try await proxy.addFault(fault) } catch { throw Self.apiError(error) }
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
        do { try await proxy.updateFault(fault) } catch { throw Self.apiError(error) }
        if let duration { scheduleToxicExpiry(proxyName, toxicName, afterMs: duration) }
        let json = toxicJSON(proxyName, fault)
        events.record("toxic.update", proxy: proxyName, toxic: toxicName, detail: json)
        return json
    }

    public func removeToxic(_ proxyName: String, _ toxicName: String) async throws(APIError) {
        let proxy = try proxy(proxyName)
        cancelTimer(Self.toxicKey(proxyName, toxicName))
        do { try await proxy.removeFault(named: toxicName) } catch { throw Self.apiError(error) }
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

    // MARK: - Partitions

    public func listPartitions() -> JSONValue {
        .array(server.partitions.map(partitionJSON))
    }

    public func createPartition(_ body: JSONValue) async throws(APIError) -> JSONValue {
        let request = try PartitionRequest(body)
        let partition: Partition
        do {
            partition = try await server.partition(groups: request.groups, mode: request.mode, oneWay: request.oneWay)
        } catch {
            throw Self.apiError(error)
        }
        if let duration = request.durationMs { schedulePartitionHeal(partition.id, afterMs: duration) }
        let json = partitionJSON(partition)
        events.record("partition.create", partition: partition.id, detail: json)
        return json
    }

    /// Heals one partition, or all of them when `id` is nil.
    public func heal(_ id: String?) async throws(APIError) {
        let ids = id.map { [$0] } ?? server.partitions.map(\.id)
        do { try await server.heal(id: id) } catch { throw Self.apiError(error) }
        for healed in ids {
            cancelTimer("partition:" + healed)
            events.record("partition.heal", partition: healed)
        }
    }

    // MARK: - Timers

    static func toxicKey(_ proxy: String, _ toxic: String) -> String { "toxic:\(proxy)/\(toxic)" }

    private func scheduleToxicExpiry(_ proxyName: String, _ toxicName: String, afterMs: Int64) {
        schedule(Self.toxicKey(proxyName, toxicName), afterMs: afterMs) { [self] in
            guard let proxy = server.proxy(named: proxyName) else { return }
            if (try? await proxy.removeFault(named: toxicName)) != nil {
                events.record("toxic.expire", proxy: proxyName, toxic: toxicName)
            }
        }
    }

    private func schedulePartitionHeal(_ id: String, afterMs: Int64) {
        schedule("partition:" + id, afterMs: afterMs) { [self] in
            if (try? await server.heal(id: id)) != nil {
                events.record("partition.heal", partition: id, detail: .object(["expired": .bool(true)]))
            }
        }
    }

    private func schedule(_ key: String, afterMs: Int64, _ action: @escaping @Sendable () async -> Void) {
        let deadlineMs = RiftClock.wallNanoseconds() / 1_000_000 + afterMs
        timers.withLockedValue { t in
            t.tasks[key]?.task.cancel()
            let generation = t.nextGeneration
            t.nextGeneration += 1
            let task = Task { [self] in
                try? await Task.sleep(for: .milliseconds(afterMs))
                // Only the timer still registered under the key acts; a newer one replaced it.
                let mine = timers.withLockedValue { t -> Bool in
                    guard !Task.isCancelled, t.tasks[key]?.generation == generation else { return false }
                    t.tasks[key] = nil
                    return true
                }
                if mine { await action() }
            }
            t.tasks[key] = (generation, deadlineMs, task)
        }
    }

    private func cancelTimer(_ key: String) {
        timers.withLockedValue { $0.tasks.removeValue(forKey: key)?.task.cancel() }
    }

    private func expiry(_ key: String) -> Int64? {
        timers.withLockedValue { $0.tasks[key]?.deadlineMs }
    }

    /// Cancels every pending timer (at shutdown).
    public func cancelAllTimers() {
        let tasks = timers.withLockedValue { t in
            defer { t.tasks.removeAll() }
            return t.tasks.values.map(\.task)
        }
        for task in tasks { task.cancel() }
    }

    // MARK: - JSON

    public func proxyJSON(_ proxy: Proxy) -> JSONValue {
        let s = proxy.snapshot
        var o: [String: JSONValue] = [
            "name": .string(s.config.name), "listen": .string(s.listen), "upstream": .string(s.config.upstream),
            "enabled": .bool(s.config.enabled),
            "toxics": .array(Self.ordered(s.faults).map { toxicJSON(s.config.name, $0) }),
        ]
        if let from = s.config.from { o["from"] = .string(from) }
        if let to = s.config.to { o["to"] = .string(to) }
        return .object(o)
    }

    func toxicJSON(_ proxyName: String, _ fault: Fault) -> JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(fault.name), "type": .string(fault.type), "stream": .string(fault.stream.rawValue),
            "toxicity": .number(fault.toxicity),
            "attributes": .object(fault.config.attributes.mapValues(\.json)),
        ]
        if let deadline = expiry(Self.toxicKey(proxyName, fault.name)) {
            o["expires_at_ms"] = .number(Double(deadline))
        }
        return .object(o)
    }

    func partitionJSON(_ p: Partition) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(p.id), "groups": .array(p.groups.map { .array($0.map(JSONValue.string)) }),
            "mode": .string(p.mode.rawValue), "one_way": .bool(p.oneWay),
        ]
        if let deadline = expiry("partition:" + p.id) { o["expires_at_ms"] = .number(Double(deadline)) }
        return .object(o)
    }

    // MARK: - Errors

    /// Maps proxy-layer errors to Toxiproxy's statuses and words.
    static func apiError(_ error: Error) -> APIError {
        if let api = error as? APIError { return api }
        guard let p = error as? ProxyError else { return APIError(.internalServerError, "\(error)") }
        switch p {
        case .proxyExists: return APIError(.conflict, "proxy already exists")
        case .proxyNotFound: return APIError(.notFound, "proxy not found")
        case .faultExists: return APIError(.conflict, "toxic already exists")
        case .faultNotFound: return APIError(.notFound, "toxic not found")
        case .partitionNotFound: return APIError(.notFound, "partition not found")
        case .invalidName, .invalidAddress, .invalidFault, .invalidPartition: return APIError(.badRequest, p.description)
        case .listenFailed: return APIError(.internalServerError, p.description)
        case .shutDown: return APIError(.serviceUnavailable, p.description)
        }
    }
}
