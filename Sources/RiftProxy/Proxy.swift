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
    let group: EventLoopGroup
    let seed: UInt64
    let connectTimeout: TimeAmount
    let state: Mutex<State>
    let listener = ListenerController()
    /// What fault stages share across this proxy's connections (`reorder`'s overtaking).
    let sharedFaultState = ProxyFaultState()
    let listenerSpread = Atomic<Int>(0)
    /// Where the listener and fault-free connections live, when the server has them.
    let relays: [Relay]

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
        self.state = Mutex(State(config: config, upstreamAddress: upstream, listenAddress: listen, capture: capture))
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
        return state.withLock {
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

    public var config: ProxyConfig { state.withLock { $0.config } }
    /// The capture new connections are written to (connections keep the one they started with).
    public var capture: PacketCapture? { state.withLock { $0.capture } }

    /// Sets the capture for new connections; returns the one it replaces (the caller closes it).
    @discardableResult
    public func replaceCapture(_ capture: PacketCapture?) -> PacketCapture? {
        state.withLock { s in
            defer { s.capture = capture }
            return s.capture
        }
    }
    public var faults: [Fault] { state.withLock { $0.faults.map(\.fault) } }
    /// The port it listens on (the real one when configured with port 0).
    public var port: Int { state.withLock { $0.listenAddress.port ?? 0 } }
    public var listenAddress: SocketAddress { state.withLock { $0.listenAddress } }

    /// What live connections really carry, for tests that hold the API to the truth: the
    /// fault chain of every joined pipeline connection (stage names by direction, in order),
    /// and how many connections the relay carries (they have no stage at all).
    func liveFaultChains() async -> (pipelines: [[StreamDirection: [String]]], relayed: Int) {
        let (connections, relayed) = state.withLock { (Array($0.connections.values), $0.relayed.count) }
        var chains: [[StreamDirection: [String]]] = []
        for connection in connections {
            let names = try? await connection.eventLoop.submit { connection.installedFaultNames }.get()
            if let names = names ?? nil { chains.append(names) }
        }
        return (chains, relayed)
    }
}
