import NIOCore
import NIOPosix
import RiftCapture
import RiftCore
import RiftFaults
import Synchronization

/// Many proxies in one process, on one event loop group, with partitions across them.
///
/// ```swift
/// let server = ProxyServer(seed: 42)
/// let redis = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:6379"))
/// try await redis.addFault(Fault(config: LatencyConfig(latencyMs: 100)))
/// // ... talk to 127.0.0.1:\(redis.port) ...
/// await server.shutdown()
/// ```
public final class ProxyServer: Sendable {
    /// The seed every random decision of this server derives from.
    public let seed: UInt64
    let group: MultiThreadedEventLoopGroup
    private let connectTimeout: TimeAmount
    /// Captures every proxy's connections (both legs) when set.
    public let capture: PacketCapture?
    private let state = Mutex(State())
    /// Carry fault-free connections outside SwiftNIO (none: every connection gets a pipeline).
    private let relays: [Relay]

    private struct State {
        var proxies: [String: Proxy] = [:]
        var order: [String] = []
        var partitions: [Partition] = []
        var nextPartitionID = 1
        var shutDown = false
    }

    /// - Parameters:
    ///   - seed: the run seed (toxicity, jitter, loss all derive from it).
    ///   - threads: event loop threads (default: one per core).
    ///   - connectTimeout: how long a dial to an upstream may take before the client is closed.
    ///   - relay: carry connections of proxies with no fault on plain epoll threads (as many
    ///     as `threads`), and move them to SwiftNIO pipelines when a fault comes (the
    ///     default; see `Relay`). False gives every connection a pipeline from the start.
    public init(seed: UInt64 = UInt64.random(in: 0...UInt64.max), threads: Int = System.coreCount, connectTimeout: Duration = .seconds(5), capture: PacketCapture? = nil, relay: Bool = true) {
        self.seed = seed
        // Without epoll (not Linux, or out of descriptors) every connection gets a pipeline.
        self.relays = relay ? (try? Relay.group(count: threads)) ?? [] : []
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        self.connectTimeout = .nanoseconds(connectTimeout.totalNanoseconds)
        self.capture = capture
    }

    /// Creates a proxy and starts listening (unless `enabled` is false). Initial faults are
    /// in place before the first connection is accepted.
    @discardableResult
    public func createProxy(_ config: ProxyConfig, faults: [Fault] = []) async throws -> Proxy {
        let proxy = try Proxy(config: config, group: group, seed: seed, connectTimeout: connectTimeout, capture: capture, relays: relays)
        try state.withLock { (s: inout State) throws in
            guard !s.shutDown else { throw ProxyError.shutDown }
            guard s.proxies[config.name] == nil else { throw ProxyError.proxyExists(config.name) }
            s.proxies[config.name] = proxy
            s.order.append(config.name)
        }
        do {
            for fault in faults { try await proxy.addFaultBeforeStart(fault) }
            await proxy.setPartitionFaults(partitionFaults(for: config))
            try await proxy.start()
        } catch {
            state.withLock {
                $0.proxies[config.name] = nil
                $0.order.removeAll { $0 == config.name }
            }
            await proxy.stop()
            throw error
        }
        return proxy
    }

    /// Starts every proxy of a config file, or none: if one fails to start (a port in use),
    /// the ones already started are stopped again and the error names the proxy.
    public func start(_ file: ProxyConfigFile) async throws {
        var started: [String] = []
        do {
            for entry in file.entries {
                try await createProxy(entry.proxy, faults: entry.faults)
                started.append(entry.proxy.name)
            }
        } catch {
            for name in started { try? await removeProxy(named: name) }
            throw error
        }
    }

    /// Replaces a proxy with a new one of the same name (Toxiproxy's populate does this when
    /// the addresses differ): the old one's faults and connections go with it. The old
    /// listener makes way first (the new one often takes its address); when the new one
    /// cannot listen, the old proxy is left as it was, listening again, and the error is
    /// thrown. Without a proxy of that name it creates one.
    @discardableResult
    public func replaceProxy(_ config: ProxyConfig, faults: [Fault] = []) async throws -> Proxy {
        guard let old = proxy(named: config.name) else { return try await createProxy(config, faults: faults) }
        let new = try Proxy(config: config, group: group, seed: seed, connectTimeout: connectTimeout, capture: capture, relays: relays)
        await old.suspendListener()
        do {
            for fault in faults { try await new.addFaultBeforeStart(fault) }
            await new.setPartitionFaults(partitionFaults(for: config))
            try await new.start()
        } catch {
            await new.stop()
            // Back as it was (or disabled, if its address was taken meanwhile).
            try? await old.start()
            throw error
        }
        let replaced = state.withLock { (s: inout State) -> Bool in
            guard !s.shutDown else { return false }
            if s.proxies.updateValue(new, forKey: config.name) == nil { s.order.append(config.name) }
            return true
        }
        await old.stop()
        guard replaced else {
            await new.stop()
            throw ProxyError.shutDown
        }
        return new
    }

    public func proxy(named name: String) -> Proxy? { state.withLock { $0.proxies[name] } }

    /// Proxies in creation order.
    public var proxies: [Proxy] { state.withLock { s in s.order.compactMap { s.proxies[$0] } } }

    /// Stops a proxy and forgets it.
    public func removeProxy(named name: String) async throws {
        let proxy = state.withLock { (s: inout State) -> Proxy? in
            s.order.removeAll { $0 == name }
            return s.proxies.removeValue(forKey: name)
        }
        guard let proxy else { throw ProxyError.proxyNotFound(name) }
        await proxy.stop()
    }

    // MARK: - Partitions

    /// Cuts every proxy whose `from`/`to` nodes fall in different groups. A node named in no
    /// group is a group of its own. Returns the partition (its `id` heals it alone).
    @discardableResult
    public func partition(groups: [[String]], mode: PartitionMode = .blackhole, oneWay: Bool = false) async throws -> Partition {
        let named = groups.flatMap { $0 }
        guard !groups.isEmpty, groups.allSatisfy({ !$0.isEmpty }) else {
            throw ProxyError.invalidPartition("every group needs at least one node")
        }
        guard Set(named).count == named.count else { throw ProxyError.invalidPartition("a node is named in more than one group") }
        let partition = state.withLock { (s: inout State) -> Partition in
            let p = Partition(id: "p\(s.nextPartitionID)", groups: groups, mode: mode, oneWay: oneWay)
            s.nextPartitionID += 1
            s.partitions.append(p)
            return p
        }
        await applyPartitions()
        return partition
    }

    /// Heals one partition, or all when `id` is nil.
    public func heal(id: String? = nil) async throws {
        try state.withLock { (s: inout State) throws in
            if let id {
                guard s.partitions.contains(where: { $0.id == id }) else { throw ProxyError.partitionNotFound(id) }
                s.partitions.removeAll { $0.id == id }
            } else {
                s.partitions.removeAll()
            }
        }
        await applyPartitions()
    }

    public var partitions: [Partition] { state.withLock { $0.partitions } }

    private func partitionFaults(for config: ProxyConfig) -> [Fault] {
        guard let from = config.from, let to = config.to else { return [] }
        return state.withLock { $0.partitions }.flatMap { $0.faults(from: from, to: to) }
    }

    private func applyPartitions() async {
        for proxy in proxies {
            await proxy.setPartitionFaults(partitionFaults(for: proxy.config))
        }
    }

    // MARK: - Shutdown

    /// Closes every listener and connection and stops the event loops.
    public func shutdown() async {
        let all = state.withLock { (s: inout State) -> [Proxy] in
            s.shutDown = true
            return Array(s.proxies.values)
        }
        for proxy in all { await proxy.stop() }
        for relay in relays { await relay.stop() }
        try? await group.shutdownGracefully()
    }
}

extension Proxy {
    /// Initial faults from a config file: added before the listener opens.
    func addFaultBeforeStart(_ fault: Fault) async throws {
        try await addFault(fault)
    }
}
