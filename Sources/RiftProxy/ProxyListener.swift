import NIOCore
import NIOPosix
import RiftCapture
import RiftCore
import RiftFaults
import Synchronization

/// The listener's lifecycle: enable, disable, a new address, `down`, stop.
extension Proxy {
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
            let (wasEnabled, oldAddress) = state.withLock { ($0.config.enabled, $0.listenAddress) }
            let wantEnabled = enabled ?? wasEnabled
            let moved = newListen.map { AddressParser.format($0) != AddressParser.format(oldAddress) } ?? false
            let commit = { (s: inout State, bound: SocketAddress?) in
                if let newUpstream, let upstream { s.upstreamAddress = newUpstream; s.config.upstream = upstream }
                if moved, let newListen, let listen { s.listenAddress = newListen; s.config.listen = listen }
                if let bound { s.listenAddress = bound }
                s.config.enabled = wantEnabled
            }
            if !wantEnabled {
                state.withLock { commit(&$0, nil) }
                if wasEnabled { await closeConnections() }
                try await reconcileListenerSerialized()
                return
            }
            if wasEnabled && !moved {
                state.withLock { commit(&$0, nil) }
                return
            }
            // Enabling, or moving an enabled proxy: the listener opens at the target first,
            // and only then does the state change.
            let wasOpen = listener.isOpen
            if wasOpen {
                await listener.close()
                state.withLock { $0.bound = false }
            }
            let target = moved ? newListen ?? oldAddress : oldAddress
            let opens = state.withLock { (s: inout State) -> Bool in
                // Connections accepted while the call is under way belong to the enabled proxy.
                s.config.enabled = true
                return !s.stopped && !s.suspended && !s.refusesNew
            }
            var bound: SocketAddress?
            if opens {
                do {
                    bound = try await openListener(at: target)
                } catch {
                    state.withLock { $0.config.enabled = wasEnabled }
                    if wasOpen {
                        do {
                            let back = try await openListener(at: oldAddress)
                            state.withLock { $0.listenAddress = back }
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
            state.withLock { commit(&$0, bound) }
        }
    }

    /// Closes the listener and every connection for good.
    public func stop() async {
        state.withLock { $0.stopped = true }
        await closeConnections()
        await listener.serialized {
            await listener.close()
            state.withLock { $0.bound = false }
        }
    }

    /// Closes every connection, on the pipelines and on the relay.
    private func closeConnections() async {
        let connections = state.withLock { Array($0.connections.values) }
        for connection in connections { connection.eventLoop.execute { connection.close() } }
        for relay in relays { await relay.closeAll(self) }
    }

    /// Closes the listener while a replacement of this proxy opens its own (often on the same
    /// address); `start` opens it again if the replacement could not.
    func suspendListener() async {
        await listener.serialized {
            state.withLock { $0.suspended = true }
            try? await reconcileListenerSerialized()
        }
    }

    /// Opens the listener of a proxy that was not started or made way for a replacement
    /// that could not open; it throws (leaving the proxy disabled) when it cannot listen.
    func start() async throws {
        state.withLock { $0.suspended = false }
        try await reconcileListener()
    }

    // MARK: - Applying changes

    /// Opens or closes the listener to match the state. A listener that cannot open leaves
    /// the proxy disabled, as Toxiproxy leaves a proxy whose listener cannot start.
    func reconcileListener() async throws {
        try await listener.serialized { try await reconcileListenerSerialized() }
    }

    /// `reconcileListener` for a caller already inside `listener.serialized`.
    private func reconcileListenerSerialized() async throws {
        let (wanted, address) = state.withLock { ($0.wantsListening, $0.listenAddress) }
        if wanted && !listener.isOpen {
            do {
                let bound = try await openListener(at: address)
                state.withLock { $0.listenAddress = bound }
            } catch {
                await disableAfterListenFailure(error)
                throw error
            }
        } else if !wanted && listener.isOpen {
            await listener.close()
            state.withLock { $0.bound = false }
        }
    }

    /// Binds and starts accepting; returns the bound address (port 0 becomes the real one).
    /// Inside `listener.serialized`.
    private func openListener(at address: SocketAddress) async throws -> SocketAddress {
        let opened = try await bind(address)
        listener.opened(opened)
        state.withLock {
            $0.bound = true
            $0.listenError = nil
        }
        return opened.localAddress ?? address
    }

    /// What a proxy whose listener cannot open becomes: disabled, with no connection, as
    /// a disable through the API leaves it.
    private func disableAfterListenFailure(_ error: Error) async {
        state.withLock {
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
}

/// Serializes listener changes (enable, disable, a new listen address, `down` and `refuse`
/// partitions coming and going): one runs at a time, in the order they came, and each sees
/// what the one before left. An actor alone would not do: a change awaits a bind or a close,
/// and an actor lets the next change in at every await.
final class ListenerController: Sendable {
    private let gate = AsyncGate()
    private let current = Mutex<OpenListener?>(nil)

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

    var isOpen: Bool { current.withLock { $0 != nil } }

    /// Inside `serialized`: the listener just opened.
    func opened(_ listener: OpenListener) {
        current.withLock { $0 = listener }
    }

    /// Inside `serialized`.
    func close() async {
        let open = current.withLock { (current: inout OpenListener?) -> OpenListener? in
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
