import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RiftCapture
import RiftCore
import RiftFaults
import Synchronization

/// One listening address forwarding to one upstream, with its live fault chain.
///
/// Mutations (faults, enable, partitions) change the proxy's state at once and have every live
/// connection reconcile its stages on its own event loop. They return once every connection
/// has the change, but never wait on a connection's I/O, however slow the peer: reconciling
/// only edits pipelines. Listener changes (enable, disable, `down`) are awaited too.
///
/// While the proxy has no fault its listener and connections are on the server's relay
/// (`Relay`); the first fault moves the live ones onto pipelines before the mutation returns.
public final class Proxy: Sendable {
    public let name: String
    let counters = ByteCounters()
    private let group: EventLoopGroup
    private let seed: UInt64
    private let connectTimeout: TimeAmount
    private let state: NIOLockedValueBox<State>
    private let listener = ListenerController()
    /// What fault stages share across this proxy's connections (`reorder`'s overtaking).
    private let sharedFaultState = ProxyFaultState()
    private let listenerSpread = Atomic<Int>(0)
    /// Where the listener and fault-free connections live, when the server has them.
    private let relays: [Relay]

    struct State {
        var config: ProxyConfig
        var upstreamAddress: SocketAddress
        /// The address asked for, replaced by the bound one (so port 0 keeps its real port).
        var listenAddress: SocketAddress
        var bound: Bool = false
        var faults: [InstalledFaultEntry] = []
        var partitionFaults: [InstalledFaultEntry] = []
        var connections: [UInt64: ProxyConnection] = [:]
        /// Connections the relay carries (no pipeline until a fault hands them over).
        var relayed: Set<UInt64> = []
        var nextConnectionID: UInt64 = 1
        var nextEntryID: UInt64 = 1
        var stopped = false
        /// The listener is held closed: the proxy is not started yet (its initial faults go in
        /// first), or it made way for its replacement (`ProxyServer.replaceProxy`).
        var suspended = true
        /// Why the listener last failed to open (the proxy was left disabled then).
        var listenError: String?
        /// Where new connections' traffic is captured, if anywhere.
        var capture: PacketCapture?

        mutating func entry(_ fault: Fault) -> InstalledFaultEntry {
            defer { nextEntryID += 1 }
            return InstalledFaultEntry(id: nextEntryID, fault: fault)
        }

        var allFaults: [InstalledFaultEntry] { faults + partitionFaults }

        /// A fault (`down`) or a partition (`refuse`) keeps the listener closed on purpose.
        var refusesNew: Bool { allFaults.contains { $0.fault.config.listenerEffect == .refuseNew } }

        var wantsListening: Bool { config.enabled && !stopped && !suspended && !refusesNew }
    }

    init(config: ProxyConfig, group: EventLoopGroup, seed: UInt64, connectTimeout: TimeAmount, capture: PacketCapture? = nil, relays: [Relay] = []) throws {
        do { try RiftName.validate(config.name) } catch { throw ProxyError.invalidName(error.description) }
        let upstream: SocketAddress, listen: SocketAddress
        do { upstream = try AddressParser.resolve(config.upstream) } catch {
            throw ProxyError.invalidAddress(field: "upstream", message: error.description)
        }
        do { listen = try AddressParser.resolve(config.listen) } catch {
            throw ProxyError.invalidAddress(field: "listen", message: error.description)
        }
        self.name = config.name
        self.group = group
        self.seed = seed
        self.connectTimeout = connectTimeout
        self.state = NIOLockedValueBox(State(config: config, upstreamAddress: upstream, listenAddress: listen, capture: capture))
        self.relays = relays
    }

    // MARK: - Reading

    /// A consistent picture of the proxy for status, the API and tests.
    public struct Snapshot: Sendable {
        public var config: ProxyConfig
        /// The address it listens on, resolved (`127.0.0.1:41234`), also while disabled.
        public var listen: String
        public var listening: Bool
        public var faults: [Fault]
        public var partitionFaults: [Fault]
        public var openConnections: Int
        /// Of those, the ones the relay carries (fault-free, no pipeline yet).
        public var relayedConnections: Int
        public var connectionsTotal: Int64
        /// Bytes passed on, after the fault stages.
        public var upstreamBytes: Int64
        public var downstreamBytes: Int64
        /// Bytes read from the sockets, before the fault stages.
        public var upstreamReceivedBytes: Int64
        public var downstreamReceivedBytes: Int64
        /// Why the listener last failed to open, which left the proxy disabled (a port taken
        /// while `down` held it closed, say); nil once it opens again.
        public var listenError: String?
    }

    public var snapshot: Snapshot {
        let counts = counters.snapshot
        return state.withLockedValue {
            Snapshot(
                config: $0.config, listen: AddressParser.format($0.listenAddress), listening: $0.bound,
                faults: $0.faults.map(\.fault), partitionFaults: $0.partitionFaults.map(\.fault),
                openConnections: $0.connections.count + $0.relayed.count, relayedConnections: $0.relayed.count,
                connectionsTotal: counts.connectionsTotal,
                upstreamBytes: counts.upstreamBytes, downstreamBytes: counts.downstreamBytes,
                upstreamReceivedBytes: counts.upstreamReceivedBytes, downstreamReceivedBytes: counts.downstreamReceivedBytes,
                listenError: $0.listenError)
        }
    }

    public var config: ProxyConfig { state.withLockedValue { $0.config } }
    /// The capture new connections are written to (connections keep the one they started with).
    public var capture: PacketCapture? { state.withLockedValue { $0.capture } }

    /// Sets the capture for new connections; returns the one it replaces (the caller closes it).
    @discardableResult
    public func replaceCapture(_ capture: PacketCapture?) -> PacketCapture? {
        state.withLockedValue { s in
            defer { s.capture = capture }
            return s.capture
        }
    }
    public var faults: [Fault] { state.withLockedValue { $0.faults.map(\.fault) } }
    /// The port it listens on (the real one when configured with port 0).
    public var port: Int { state.withLockedValue { $0.listenAddress.port ?? 0 } }
    public var listenAddress: SocketAddress { state.withLockedValue { $0.listenAddress } }

    /// What live connections really carry, for tests that hold the API to the truth: the
    /// fault chain of every joined pipeline connection (stage names by direction, in order),
    /// and how many connections the relay carries (they have no stage at all).
    func liveFaultChains() async -> (pipelines: [[StreamDirection: [String]]], relayed: Int) {
        let (connections, relayed) = state.withLockedValue { (Array($0.connections.values), $0.relayed.count) }
        var chains: [[StreamDirection: [String]]] = []
        for connection in connections {
            let names = try? await connection.eventLoop.submit { connection.installedFaultNames }.get()
            if let names = names ?? nil { chains.append(names) }
        }
        return (chains, relayed)
    }

    // MARK: - Faults

    /// Adds a fault at the end of its direction's chain; live connections get it at once.
    public func addFault(_ fault: Fault) async throws {
        try validate(fault)
        try state.withLockedValue { (s: inout State) throws in
            if s.faults.contains(where: { $0.fault.name == fault.name }) {
                throw ProxyError.faultExists(proxy: name, fault: fault.name)
            }
            s.faults.append(s.entry(fault))
        }
        await applied()
    }

    /// Replaces the fault with the same name, in place in the chain. What the old stage held
    /// flows on through the new one.
    public func updateFault(_ fault: Fault) async throws {
        try validate(fault)
        try state.withLockedValue { (s: inout State) throws in
            guard let index = s.faults.firstIndex(where: { $0.fault.name == fault.name }) else {
                throw ProxyError.faultNotFound(proxy: name, fault: fault.name)
            }
            if s.faults[index].fault.stream != fault.stream {
                s.faults.remove(at: index)
                s.faults.append(s.entry(fault))
            } else {
                s.faults[index] = s.entry(fault)
            }
        }
        await applied()
    }

    /// Removes a fault; what its stages held is passed on at once.
    public func removeFault(named faultName: String) async throws {
        try state.withLockedValue { (s: inout State) throws in
            guard let index = s.faults.firstIndex(where: { $0.fault.name == faultName }) else {
                throw ProxyError.faultNotFound(proxy: name, fault: faultName)
            }
            s.faults.remove(at: index)
        }
        await applied()
    }

    /// Removes every fault (Toxiproxy's reset does this and enables the proxy).
    public func removeAllFaults() async {
        state.withLockedValue { $0.faults.removeAll() }
        await applied()
    }

    func setPartitionFaults(_ faults: [Fault]) async {
        let changed = state.withLockedValue { (s: inout State) -> Bool in
            let current = s.partitionFaults.map(\.fault)
            if current.count == faults.count && zip(current, faults).allSatisfy({ $0.isSame(as: $1) }) { return false }
            s.partitionFaults = faults.map { f in
                s.partitionFaults.first(where: { $0.fault.isSame(as: f) }) ?? s.entry(f)
            }
            return true
        }
        if changed { await applied() }
    }

    private func validate(_ fault: Fault) throws {
        do { try RiftName.validate(fault.name) } catch { throw ProxyError.invalidName(error.description) }
        guard fault.toxicity >= 0, fault.toxicity <= 1, fault.toxicity.isFinite else {
            throw ProxyError.invalidFault(proxy: name, fault: fault.name, message: "toxicity \(fault.toxicity) is out of range 0...1")
        }
    }

    // MARK: - Enable, disable, update

    /// Enables (listens again on its address) or disables (closes the listener and every
    /// connection) the proxy. When the listener cannot open, the proxy stays disabled and the
    /// error says why.
    public func setEnabled(_ enabled: Bool) async throws {
        try await update(enabled: enabled)
    }

    /// Changes the listen address, the upstream and whether the proxy is enabled, all or
    /// nothing. A new upstream applies to connections made from now on; a new listen address
    /// moves the listener (live connections stay). When the listener cannot open where it
    /// should, nothing changes: the old listener serves on (or the proxy stays disabled) and
    /// the error names the address and the reason. So the state never says enabled while
    /// nothing listens.
    public func update(listen: String? = nil, upstream: String? = nil, enabled: Bool? = nil) async throws {
        var newListen: SocketAddress?, newUpstream: SocketAddress?
        if let listen {
            do { newListen = try AddressParser.resolve(listen) } catch { throw ProxyError.invalidAddress(field: "listen", message: error.description) }
        }
        if let upstream {
            do { newUpstream = try AddressParser.resolve(upstream) } catch { throw ProxyError.invalidAddress(field: "upstream", message: error.description) }
        }
        try await listener.serialized {
            let (wasEnabled, oldAddress) = state.withLockedValue { ($0.config.enabled, $0.listenAddress) }
            let wantEnabled = enabled ?? wasEnabled
            let moved = newListen.map { AddressParser.format($0) != AddressParser.format(oldAddress) } ?? false
            let commit = { (s: inout State, bound: SocketAddress?) in
                if let newUpstream, let upstream { s.upstreamAddress = newUpstream; s.config.upstream = upstream }
                if moved, let newListen, let listen { s.listenAddress = newListen; s.config.listen = listen }
                if let bound { s.listenAddress = bound }
                s.config.enabled = wantEnabled
            }
            if !wantEnabled {
                state.withLockedValue { commit(&$0, nil) }
                if wasEnabled { await closeConnections() }
                try await reconcileListenerSerialized()
                return
            }
            if wasEnabled && !moved {
                state.withLockedValue { commit(&$0, nil) }
                return
            }
            // Enabling, or moving an enabled proxy: the listener opens at the target first,
            // and only then does the state change.
            let wasOpen = listener.isOpen
            if wasOpen {
                await listener.close()
                state.withLockedValue { $0.bound = false }
            }
            let target = moved ? newListen ?? oldAddress : oldAddress
            let opens = state.withLockedValue { (s: inout State) -> Bool in
                // Connections accepted while the call is under way belong to the enabled proxy.
                s.config.enabled = true
                return !s.stopped && !s.suspended && !s.refusesNew
            }
            var bound: SocketAddress?
            if opens {
                do {
                    bound = try await openListener(at: target)
                } catch {
                    state.withLockedValue { $0.config.enabled = wasEnabled }
                    if wasOpen {
                        do {
                            let back = try await openListener(at: oldAddress)
                            state.withLockedValue { $0.listenAddress = back }
                        } catch let again {
                            await disableAfterListenFailure(again)
                            throw ProxyError.listenFailed(
                                proxy: name, address: AddressParser.format(target),
                                reason: "\(Self.reason(error)); the old address \(AddressParser.format(oldAddress)) could not be listened on again (\(Self.reason(again))), so the proxy is disabled")
                        }
                    }
                    throw error
                }
            }
            state.withLockedValue { commit(&$0, bound) }
        }
    }

    /// Closes the listener and every connection for good.
    public func stop() async {
        state.withLockedValue { $0.stopped = true }
        await closeConnections()
        await listener.serialized {
            await listener.close()
            state.withLockedValue { $0.bound = false }
        }
    }

    /// Closes every connection, on the pipelines and on the relay.
    private func closeConnections() async {
        let connections = state.withLockedValue { Array($0.connections.values) }
        for connection in connections { connection.eventLoop.execute { connection.close() } }
        for relay in relays { await relay.closeAll(self) }
    }

    /// Closes the listener while a replacement of this proxy opens its own (often on the same
    /// address); `start` opens it again if the replacement could not.
    func suspendListener() async {
        await listener.serialized {
            state.withLockedValue { $0.suspended = true }
            try? await reconcileListenerSerialized()
        }
    }

    /// Opens the listener of a proxy that was not started or made way for a replacement
    /// that could not open; it throws (leaving the proxy disabled) when it cannot listen.
    func start() async throws {
        state.withLockedValue { $0.suspended = false }
        try await reconcileListener()
    }

    // MARK: - Applying changes

    /// After a change of faults: every connection reconciles on its event loop, then the
    /// listener follows. Reconciling only edits pipelines (it never waits on a socket), so
    /// awaiting it costs one event loop turn, and when a mutation returns every live
    /// connection has the change.
    private func applied() async {
        await handOverRelayed()
        let connections = state.withLockedValue { Array($0.connections.values) }
        let done = connections.map { connection in
            connection.eventLoop.submit { [self] in
                connection.reconcile(state.withLockedValue { $0.allFaults })
            }
        }
        for future in done { try? await future.get() }
        // A listener that cannot open again once `down` is lifted (its port was taken while
        // it was closed) leaves the proxy disabled, and the snapshot says why.
        try? await reconcileListener()
    }

    /// Opens or closes the listener to match the state. A listener that cannot open leaves
    /// the proxy disabled, as Toxiproxy leaves a proxy whose listener cannot start.
    func reconcileListener() async throws {
        try await listener.serialized { try await reconcileListenerSerialized() }
    }

    /// `reconcileListener` for a caller already inside `listener.serialized`.
    private func reconcileListenerSerialized() async throws {
        let (wanted, address) = state.withLockedValue { ($0.wantsListening, $0.listenAddress) }
        if wanted && !listener.isOpen {
            do {
                let bound = try await openListener(at: address)
                state.withLockedValue { $0.listenAddress = bound }
            } catch {
                await disableAfterListenFailure(error)
                throw error
            }
        } else if !wanted && listener.isOpen {
            await listener.close()
            state.withLockedValue { $0.bound = false }
        }
    }

    /// Binds and starts accepting; returns the bound address (port 0 becomes the real one).
    /// Inside `listener.serialized`.
    private func openListener(at address: SocketAddress) async throws -> SocketAddress {
        let opened = try await bind(address)
        listener.opened(opened)
        state.withLockedValue {
            $0.bound = true
            $0.listenError = nil
        }
        return opened.localAddress ?? address
    }

    /// What a proxy whose listener cannot open becomes: disabled, with no connection, as
    /// a disable through the API leaves it.
    private func disableAfterListenFailure(_ error: Error) async {
        state.withLockedValue {
            $0.config.enabled = false
            $0.bound = false
            $0.listenError = Self.reason(error)
        }
        await closeConnections()
    }

    private static func reason(_ error: Error) -> String {
        if case .listenFailed(_, _, let reason)? = error as? ProxyError { return reason }
        return "\(error)"
    }

    private func bind(_ address: SocketAddress) async throws -> OpenListener {
        if !relays.isEmpty {
            // Listeners are spread over the relays; each deals its connections out to all.
            let relay = relays[Int(listenerSpread.add(1, ordering: .relaxed).oldValue % relays.count)]
            do {
                let (fd, bound) = try Relay.bindListener(address)
                relay.listen(fd, owner: self)
                return .relay(fd: fd, relay: relay, address: bound)
            } catch {
                throw ProxyError.listenFailed(proxy: name, address: AddressParser.format(address), reason: "\(error)")
            }
        }
        let bootstrap = ServerBootstrap.proxyListener(group: group)
            .childChannelInitializer { [self] channel in
                // Dial once the accepted channel is active: the initializer runs before it is
                // registered, and a loopback connect may complete at once.
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(OnActiveHandler { [self] in accept(channel) })
                }
            }
        do {
            return .channel(try await bootstrap.bind(to: address).get())
        } catch {
            throw ProxyError.listenFailed(proxy: name, address: AddressParser.format(address), reason: "\(error)")
        }
    }

    // MARK: - Connections

    /// A new client connection on the SwiftNIO path; `relayedID` when it comes from the relay
    /// before its dial finished (already counted, and keeping its id).
    private func accept(_ client: Channel, relayedID: UInt64? = nil) {
        guard let (connection, upstream) = register(client, relayedID: relayedID) else {
            client.close(promise: nil)
            return
        }
        dial(upstream, for: connection)
    }

    /// Records a client channel as one of the proxy's connections (unless the proxy is
    /// disabled or stopped: nil) and forgets it when it closes. Returns the upstream to dial.
    private func register(_ client: Channel, relayedID: UInt64?) -> (ProxyConnection, SocketAddress)? {
        let registered = state.withLockedValue { (s: inout State) -> (ProxyConnection, SocketAddress)? in
            if let relayedID { s.relayed.remove(relayedID) }
            guard s.config.enabled, !s.stopped else { return nil }
            let id = relayedID ?? s.nextConnectionID
            if relayedID == nil { s.nextConnectionID += 1 }
            let connection = ProxyConnection(id: id, client: client, proxyName: name, seed: seed, sharedFaultState: sharedFaultState)
            s.connections[connection.id] = connection
            return (connection, s.upstreamAddress)
        }
        guard let (connection, _) = registered else { return nil }
        if relayedID == nil { counters.connectionOpened() }
        client.closeFuture.whenComplete { [self] _ in
            _ = state.withLockedValue { $0.connections.removeValue(forKey: connection.id) }
            connection.server?.close(promise: nil)
        }
        return registered
    }

    /// Glues a connected server channel to a registered connection, on its event loop: either
    /// side closing closes the other, and the proxy's faults go in. `beforeReading` runs once
    /// both are live, before either side is read.
    private func join(_ connection: ProxyConnection, server: Channel, capture: PacketCapture?, beforeReading: () -> Void = {}) {
        let client = connection.client
        server.closeFuture.whenComplete { _ in client.close(promise: nil) }
        guard client.isActive else {
            server.close(promise: nil)
            return
        }
        beforeReading()
        do {
            try connection.attach(server: server, counters: counters, faults: state.withLockedValue { $0.allFaults }, capture: capture)
        } catch {
            connection.close()
        }
    }

    private func dial(_ upstream: SocketAddress, for connection: ProxyConnection) {
        let client = connection.client
        ClientBootstrap.proxyUpstream(on: client.eventLoop, connectTimeout: connectTimeout)
            .connect(to: upstream)
            .hop(to: client.eventLoop)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let server):
                    join(connection, server: server, capture: capture)
                case .failure:
                    client.close(promise: nil)
                }
            }
    }
}

/// Calls back once when its channel becomes active, then leaves the pipeline.
final class OnActiveHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let onActive: () -> Void

    init(_ onActive: @escaping () -> Void) { self.onActive = onActive }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        onActive()
    }
}

@available(*, unavailable)
extension OnActiveHandler: Sendable {}

/// Serializes listener changes (enable, disable, a new listen address, `down` and `refuse`
/// partitions coming and going): one runs at a time, in the order they came, and each sees
/// what the one before left. An actor alone would not do: a change awaits a bind or a close,
/// and an actor lets the next change in at every await.
final class ListenerController: Sendable {
    private let gate = AsyncGate()
    private let current = NIOLockedValueBox<OpenListener?>(nil)

    func serialized<T>(_ body: () async throws -> T) async rethrows -> T {
        await gate.enter()
        do {
            let result = try await body()
            await gate.leave()
            return result
        } catch {
            await gate.leave()
            throw error
        }
    }

    var isOpen: Bool { current.withLockedValue { $0 != nil } }

    /// Inside `serialized`: the listener just opened.
    func opened(_ listener: OpenListener) {
        current.withLockedValue { $0 = listener }
    }

    /// Inside `serialized`.
    func close() async {
        let open = current.withLockedValue { (current: inout OpenListener?) -> OpenListener? in
            defer { current = nil }
            return current
        }
        await open?.close()
    }
}

/// A first-come, first-served lock for async code: `enter` waits while another holds it.
actor AsyncGate {
    private var held = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        guard held else {
            held = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the lock to the next in line, if any.
    func leave() {
        if waiting.isEmpty { held = false } else { waiting.removeFirst().resume() }
    }
}

/// An open listener: SwiftNIO's server channel, or a socket the relay accepts on.
enum OpenListener: Sendable {
    case channel(Channel)
    case relay(fd: Int32, relay: Relay, address: SocketAddress)

    var localAddress: SocketAddress? {
        switch self {
        case .channel(let channel): channel.localAddress
        case .relay(_, _, let address): address
        }
    }

    func close() async {
        switch self {
        case .channel(let channel): try? await channel.close()
        case .relay(let fd, let relay, _): await relay.unlisten(fd)
        }
    }
}

// MARK: - The relay's side

extension Proxy: RelayOwner {
    /// Called by the relay for each accepted socket: relay it while the proxy has no fault
    /// and no capture, else give it a pipeline.
    func decide() -> RelayDecision {
        let decision = state.withLockedValue { (s: inout State) -> RelayDecision in
            guard s.config.enabled, !s.stopped else { return .refuse }
            guard s.allFaults.isEmpty, s.capture == nil else { return .pipeline }
            let id = s.nextConnectionID
            s.nextConnectionID += 1
            s.relayed.insert(id)
            return .relay(RelayTicket(
                id: id, upstream: s.upstreamAddress, counters: counters,
                connectTimeoutNanos: UInt64(max(connectTimeout.nanoseconds, 0))))
        }
        if case .relay = decision { counters.connectionOpened() }
        return decision
    }

    func adopt(_ fd: Int32, relayedID: UInt64?) {
        ClientBootstrap.adopting(on: group.next())
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(OnActiveHandler { [self] in accept(channel, relayedID: relayedID) })
                }
            }
            .withConnectedSocket(fd)
            .whenFailure { [self] _ in
                if let relayedID { closed(relayedID) }
            }
    }

    func stillRelayed(_ id: UInt64) -> Bool {
        state.withLockedValue { $0.relayed.contains(id) && $0.config.enabled && !$0.stopped && $0.allFaults.isEmpty }
    }

    func closed(_ id: UInt64) {
        _ = state.withLockedValue { $0.relayed.remove(id) }
    }

    /// Once the proxy has a fault, its relayed connections move to SwiftNIO pipelines (with
    /// what the relay held back going out first), so that the fault applies to them too.
    private func handOverRelayed() async {
        let needed = state.withLockedValue { !$0.relayed.isEmpty && !$0.allFaults.isEmpty }
        guard needed else { return }
        for relay in relays {
            for handover in await relay.handOver(self) {
                await adopt(handover)
            }
        }
    }

    private func adopt(_ handover: RelayHandover) async {
        let eventLoop = group.next()
        let client: Channel
        do {
            client = try await ClientBootstrap.adopting(on: eventLoop).withConnectedSocket(handover.clientFD).get()
        } catch {
            if let fd = handover.serverFD { _ = Glibc.close(fd) }
            closed(handover.id)
            return
        }
        guard let serverFD = handover.serverFD else {
            // The dial was under way: dial again from the pipeline side.
            try? await eventLoop.submit { [self] in accept(client, relayedID: handover.id) }.get()
            return
        }
        let server: Channel
        do {
            server = try await ClientBootstrap.adopting(on: eventLoop).withConnectedSocket(serverFD).get()
        } catch {
            client.close(promise: nil)
            closed(handover.id)
            return
        }
        try? await eventLoop.submit { [self] in
            guard let (connection, _) = register(client, relayedID: handover.id) else {
                client.close(promise: nil)
                server.close(promise: nil)
                return
            }
            join(connection, server: server, capture: nil) {
                // What the relay read and had not written yet goes first, past the new
                // stages: it was on its way before the fault came.
                if !handover.pendingUpstream.isEmpty {
                    server.writeAndFlush(server.allocator.buffer(bytes: handover.pendingUpstream), promise: nil)
                }
                if !handover.pendingDownstream.isEmpty {
                    client.writeAndFlush(client.allocator.buffer(bytes: handover.pendingDownstream), promise: nil)
                }
            }
        }.get()
    }
}
