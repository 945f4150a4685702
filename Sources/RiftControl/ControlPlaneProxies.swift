import Foundation
import RiftCore
import RiftFaults
import RiftProxy

extension ControlPlane {
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
                do { _ = try AddressParser.resolve(address) } catch { throw APIError(.badRequest, "\(field): \(error.description)") }
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

    /// Partial update: `listen`, `upstream`, `enabled` (and Rift's `from`/`to` are fixed at
    /// creation), all or nothing: when the listener cannot open at the new address (or on
    /// enabling), the proxy is left as it was and the answer is the error.
    public func updateProxy(_ name: String, _ body: JSONValue) async throws(APIError) -> JSONValue {
        let proxy = try proxy(name)
        let r = try BodyReader(body)
        let listen = try r.string("listen").flatMap { $0.isEmpty ? nil : $0 }
        let upstream = try r.string("upstream").flatMap { $0.isEmpty ? nil : $0 }
        let enabled = try r.bool("enabled")
        // A proxy the body itself disables is not logged as one whose listener could not open.
        try await recordingDisables(enabled == false ? [] : [proxy]) {
            try await proxy.update(listen: listen, upstream: upstream, enabled: enabled)
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
    /// listen or upstream address differs. Every entry is checked before anything changes;
    /// then they are applied in order, each all or nothing. At the first that fails (its
    /// listener cannot open) the answer is its error, with `proxies` listing the entries
    /// applied before it, as Toxiproxy answers; that entry and the ones after it are left as
    /// they were.
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
        var names: Set<String> = []
        for request in requests where !names.insert(request.config.name).inserted {
            throw APIError(.badRequest, "bad request body: proxy \(request.config.name) is named twice")
        }
        var out: [JSONValue] = []
        for request in requests {
            let config = request.config
            let existingBefore = server.proxy(named: config.name)
            let wereEnabled = enabledNames(existingBefore.map { [$0] } ?? [])
            do {
                if let existing = server.proxy(named: config.name) {
                    if sameAddresses(existing, config) {
                        out.append(proxyJSON(existing))
                        continue
                    }
                    let replaced = try await server.replaceProxy(config)
                    for fault in existing.faults { cancelTimer(Self.toxicKey(config.name, fault.name)) }
                    closeAPICapture(of: existing)
                    events.record("proxy.delete", proxy: config.name)
                    out.append(proxyJSON(replaced))
                } else {
                    out.append(proxyJSON(try await server.createProxy(config)))
                }
                events.record("proxy.create", proxy: config.name, detail: out[out.count - 1])
            } catch {
                var failure = Self.apiError(error)
                failure.message = "proxy \(config.name): \(failure.message) (populate stopped there: \(out.count) of \(requests.count) applied, listed in proxies; that one and the rest are unchanged)"
                failure.fields = ["proxies": .array(out)]
                if let existingBefore { recordIfDisabled([existingBefore], wereEnabled: wereEnabled) }
                throw failure
            }
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

    /// Toxiproxy's reset: every proxy enabled, every toxic removed. Partitions stay (heal them).
    /// A proxy whose listener cannot open (its port was taken while it was closed) stays
    /// disabled; the others are reset all the same, and the answer names the ones that failed.
    public func reset() async throws(APIError) {
        var failures: [String] = []
        let proxies = server.proxies
        let wereEnabled = enabledNames(proxies)
        for proxy in proxies {
            for fault in proxy.faults { cancelTimer(Self.toxicKey(proxy.name, fault.name)) }
            await proxy.removeAllFaults()
            do { try await proxy.setEnabled(true) } catch { failures.append(Self.apiError(error).message) }
        }
        events.record("reset")
        recordIfDisabled(proxies, wereEnabled: wereEnabled)
        if !failures.isEmpty {
            throw APIError(.internalServerError, "reset: every toxic removed, but \(failures.joined(separator: "; ")); those proxies stay disabled")
        }
    }

    func enabledNames(_ proxies: [Proxy]) -> Set<String> {
        Set(proxies.filter(\.config.enabled).map(\.name))
    }

    /// Carries out a change, then logs `proxy.disable` for each of `proxies` it left disabled
    /// (whether it succeeded or not); errors become the API's.
    @discardableResult
    func recordingDisables<T>(_ proxies: @autoclosure () -> [Proxy], _ change: () async throws -> T) async throws(APIError) -> T {
        let wereEnabled = enabledNames(proxies())
        do {
            let result = try await change()
            recordIfDisabled(proxies(), wereEnabled: wereEnabled)
            return result
        } catch {
            recordIfDisabled(proxies(), wereEnabled: wereEnabled)
            throw Self.apiError(error)
        }
    }

    /// Logs `proxy.disable` for each proxy that was enabled before a change and is not now:
    /// its listener could not open again (`snapshot.listenError` says why).
    func recordIfDisabled(_ proxies: [Proxy], wereEnabled: Set<String>) {
        for proxy in proxies where wereEnabled.contains(proxy.name) {
            let snapshot = proxy.snapshot
            guard !snapshot.config.enabled else { continue }
            var detail = proxyJSON(proxy)
            if case .object(var o) = detail, let reason = snapshot.listenError {
                o["reason"] = .string(reason)
                detail = .object(o)
            }
            events.record("proxy.disable", proxy: proxy.name, detail: detail)
        }
    }
}
