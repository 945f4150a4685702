import CRiftSys
import Foundation
import NIOCore
import RiftFaults
import Synchronization

/// The fast path for connections with no fault attached: a thread with its own epoll set (one
/// per core, dealing accepted connections out round robin), and for each read a `recv` from
/// one socket and a `send` to the other, with nothing in between.
///
/// SwiftNIO's channel machinery costs several microseconds per read and write, which puts a
/// proxy built on it behind HAProxy (`ci/bench-proxy`). A proxy with no fault needs none of
/// that machinery, so its listener and its fault-free connections live here. The moment a
/// fault, a partition or anything else that needs a pipeline applies to the proxy, its
/// connections are handed over to SwiftNIO with the bytes the relay held (`handOver`), and
/// they stay there. Connections accepted while the proxy has faults or a capture go to
/// SwiftNIO straight from `accept`.
///
/// Same contract as the SwiftNIO path: a side is only read while the other side has taken
/// everything read before (backpressure: at most one read, 64 KiB, is held per direction),
/// half-closes are passed on, a reset is passed on as a reset, a failed or timed-out dial
/// closes the client.
///
/// Everything below `commands` belongs to the relay thread.
// @unchecked: only `commands` (a Mutex) is touched off the relay thread; every `var` is the relay thread's.
final class Relay: @unchecked Sendable {
    private let epollFD: Int32
    private let wakeFD: Int32
    private let commands = Mutex(CommandQueue())
    private var thread: Thread?

    /// What each descriptor is, with a serial that epoll's events carry too: an event for a
    /// descriptor closed and reused within one `epoll_wait` batch is recognised as stale.
    private var endpoints: [Slot?] = []
    private var nextSerial: UInt32 = 0
    private var connecting: [ObjectIdentifier: RelayConnection] = [:]
    private var owners: [ObjectIdentifier: [UInt64: RelayConnection]] = [:]
    private let buffer: UnsafeMutableRawPointer
    private static let bufferSize = 65536
    private var running = true
    /// The relays of the server (this one included): accepted connections are dealt out
    /// round robin, so that both cores can carry traffic. Set once, before any listener.
    private var peers: [Relay] = []
    private var nextPeer = 0
    /// Listeners not watched until the given time (descriptors ran out).
    private var pausedListeners: [Int32: UInt64] = [:]

    enum Command: Sendable {
        case listen(fd: Int32, owner: RelayOwner)
        case unlisten(fd: Int32, done: @Sendable () -> Void)
        case dial(fd: Int32, owner: RelayOwner, ticket: RelayTicket)
        case handOver(owner: ObjectIdentifier, done: @Sendable ([RelayHandover]) -> Void)
        case closeAll(owner: ObjectIdentifier, done: @Sendable () -> Void)
        case peers([Relay])
        case stop(done: @Sendable () -> Void)
    }

    struct CommandQueue {
        var queue: [Command] = []
        var stopped = false
    }

    init() throws {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw RelayError.system("epoll_create1", errno) }
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFD >= 0 else {
            let code = errno
            close(epollFD)
            throw RelayError.system("eventfd", code)
        }
        buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.bufferSize, alignment: 16)
        setEndpoint(wakeFD, .wake)
        register(wakeFD, events: EPOLLIN.rawValue)
        let thread = Thread { [self] in run() }
        thread.name = "rift-relay"
        self.thread = thread
        thread.start()
    }

    deinit {
        buffer.deallocate()
    }

    /// Several relays that deal connections out among themselves.
    static func group(count: Int) throws -> [Relay] {
        var relays: [Relay] = []
        do {
            for _ in 0..<max(1, count) { relays.append(try Relay()) }
        } catch {
            for relay in relays { relay.send(.stop(done: {})) }
            throw error
        }
        for relay in relays { relay.send(.peers(relays)) }
        return relays
    }

    // MARK: - Commands (any thread)

    /// Queues a command for the relay thread; false once the relay has stopped.
    @discardableResult
    func send(_ command: Command) -> Bool {
        let queued = commands.withLock { (state: inout CommandQueue) -> Bool in
            guard !state.stopped else { return false }
            state.queue.append(command)
            if case .stop = command { state.stopped = true }
            return true
        }
        if queued {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
        return queued
    }

    /// Starts relaying an accepted-connection listener's socket (bound and listening).
    func listen(_ fd: Int32, owner: RelayOwner) {
        if !send(.listen(fd: fd, owner: owner)) { close(fd) }
    }

    /// Closes a listener's socket.
    func unlisten(_ fd: Int32) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !send(.unlisten(fd: fd, done: { continuation.resume() })) { continuation.resume() }
        }
    }

    /// Takes every relayed connection of `owner` off the relay, with what it held.
    func handOver(_ owner: RelayOwner) async -> [RelayHandover] {
        await withCheckedContinuation { (continuation: CheckedContinuation<[RelayHandover], Never>) in
            if !send(.handOver(owner: ObjectIdentifier(owner), done: { continuation.resume(returning: $0) })) {
                continuation.resume(returning: [])
            }
        }
    }

    /// Closes every relayed connection of `owner`.
    func closeAll(_ owner: RelayOwner) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !send(.closeAll(owner: ObjectIdentifier(owner), done: { continuation.resume() })) { continuation.resume() }
        }
    }

    /// Closes every connection and listener left and ends the thread.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !send(.stop(done: { continuation.resume() })) { continuation.resume() }
        }
    }

    // MARK: - The loop (relay thread)

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while running {
            let timeout = timeoutMillis()
            let count = epoll_wait(epollFD, &events, Int32(events.count), timeout)
            if count < 0 {
                if errno == EINTR { continue }
                fatalError("rift relay: epoll_wait failed: errno \(errno)")
            }
            for index in 0..<Int(count) {
                let event = events[index]
                let fd = Int32(truncatingIfNeeded: event.data.u64 & 0xFFFF_FFFF)
                let serial = UInt32(truncatingIfNeeded: event.data.u64 >> 32)
                guard let slot = slot(fd), slot.serial == serial else { continue }
                handle(slot.endpoint, fd: fd, events: event.events)
            }
            if !connecting.isEmpty || !pausedListeners.isEmpty { expireTimers() }
        }
        close(wakeFD)
        close(epollFD)
    }

    private func handle(_ endpoint: Endpoint, fd: Int32, events: UInt32) {
        switch endpoint {
        case .wake:
            var value: UInt64 = 0
            _ = read(wakeFD, &value, 8)
            runCommands()
        case .listener(let owner):
            acceptAll(fd, owner: owner)
        case .client(let connection):
            connection.ready(.client, events: events, relay: self)
        case .server(let connection):
            connection.ready(.server, events: events, relay: self)
        }
    }

    private func runCommands() {
        let batch = commands.withLock { (state: inout CommandQueue) -> [Command] in
            defer { state.queue.removeAll() }
            return state.queue
        }
        for command in batch {
            switch command {
            case .listen(let fd, let owner):
                setEndpoint(fd, .listener(owner))
                register(fd, events: EPOLLIN.rawValue)
            case .unlisten(let fd, let done):
                setEndpoint(fd, nil)
                pausedListeners[fd] = nil
                close(fd)
                done()
            case .peers(let relays):
                peers = relays
            case .dial(let fd, let owner, let ticket):
                dial(client: fd, owner: owner, ticket: ticket)
            case .handOver(let owner, let done):
                let connections = owners.removeValue(forKey: owner) ?? [:]
                done(connections.values.sorted { $0.id < $1.id }.map { $0.handOver(relay: self) })
            case .closeAll(let owner, let done):
                for connection in (owners[owner] ?? [:]).values { connection.close(relay: self, resetting: nil) }
                done()
            case .stop(let done):
                for connections in owners.values {
                    for connection in connections.values { connection.close(relay: self, resetting: nil) }
                }
                for (fd, slot) in endpoints.enumerated() {
                    if case .listener = slot?.endpoint { close(Int32(fd)) }
                }
                running = false
                peers = []
                done()
            }
        }
    }

    // MARK: - Accepting and dialling

    private func acceptAll(_ listenFD: Int32, owner: RelayOwner) {
        for _ in 0..<64 {
            let fd = crift_accept(listenFD)
            if fd < 0 {
                // Out of descriptors: the pending connection stays in the backlog and the
                // listener stays readable, so stop watching it for a moment rather than spin.
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    modify(listenFD, events: 0)
                    pausedListeners[listenFD] = DispatchTime.now().uptimeNanoseconds + 100_000_000
                }
                return  // EAGAIN, or a connection aborted in the backlog: nothing to do
            }
            switch owner.decide() {
            case .refuse:
                close(fd)
            case .pipeline:
                owner.adopt(fd, relayedID: nil)
            case .relay(let ticket):
                let peer = peers.isEmpty ? self : peers[nextPeer % peers.count]
                nextPeer &+= 1
                if peer === self {
                    dial(client: fd, owner: owner, ticket: ticket)
                } else if !peer.send(.dial(fd: fd, owner: owner, ticket: ticket)) {
                    close(fd)
                    owner.closed(ticket.id)
                }
            }
        }
    }

    private func dial(client: Int32, owner: RelayOwner, ticket: RelayTicket) {
        // A connection dealt to another relay may arrive after a fault (or a disable) came
        // and that relay handed its connections over: then it goes to a pipeline instead.
        guard owner.stillRelayed(ticket.id) else {
            owner.adopt(client, relayedID: ticket.id)
            return
        }
        setNoDelay(client)
        let family = Int32(ticket.upstream.protocol.rawValue)
        let server = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard server >= 0 else {
            close(client)
            owner.closed(ticket.id)
            return
        }
        setNoDelay(server)
        let result = ticket.upstream.withSockAddr { address, length in connect(server, address, socklen_t(length)) }
        if result != 0 && errno != EINPROGRESS {
            close(server)
            close(client)
            owner.closed(ticket.id)
            return
        }
        let connection = RelayConnection(
            id: ticket.id, owner: owner, client: client, server: server, counters: ticket.counters,
            dialDeadline: DispatchTime.now().uptimeNanoseconds + ticket.connectTimeoutNanos)
        owners[ObjectIdentifier(owner), default: [:]][ticket.id] = connection
        setEndpoint(client, .client(connection))
        setEndpoint(server, .server(connection))
        register(client, events: 0)
        register(server, events: 0)
        if result == 0 {
            connection.connected(relay: self)
        } else {
            connecting[ObjectIdentifier(connection)] = connection
            connection.updateInterest(relay: self)
        }
    }

    func dialFinished(_ connection: RelayConnection) {
        connecting[ObjectIdentifier(connection)] = nil
    }

    private func timeoutMillis() -> Int32 {
        if connecting.isEmpty && pausedListeners.isEmpty { return -1 }
        let deadlines = connecting.values.map(\.dialDeadline) + pausedListeners.values
        guard let earliest = deadlines.min() else { return -1 }
        let now = DispatchTime.now().uptimeNanoseconds
        if earliest <= now { return 0 }
        return Int32(min((earliest - now) / 1_000_000 + 1, 60_000))
    }

    private func expireTimers() {
        let now = DispatchTime.now().uptimeNanoseconds
        for connection in connecting.values where connection.dialDeadline <= now {
            connection.close(relay: self, resetting: nil)
        }
        for (fd, until) in pausedListeners where until <= now {
            pausedListeners[fd] = nil
            if case .listener = slot(fd)?.endpoint { modify(fd, events: EPOLLIN.rawValue) }
        }
    }

    // MARK: - Bookkeeping (relay thread)

    func forget(_ connection: RelayConnection) {
        connecting[ObjectIdentifier(connection)] = nil
        owners[ObjectIdentifier(connection.owner)]?[connection.id] = nil
    }

    fileprivate func setEndpoint(_ fd: Int32, _ endpoint: Endpoint?) {
        let index = Int(fd)
        if index >= endpoints.count {
            guard endpoint != nil else { return }
            endpoints.append(contentsOf: repeatElement(nil, count: max(index + 1, endpoints.count * 2) - endpoints.count))
        }
        if let endpoint {
            nextSerial &+= 1
            endpoints[index] = Slot(serial: nextSerial, endpoint: endpoint)
        } else {
            endpoints[index] = nil
        }
    }

    private func slot(_ fd: Int32) -> Slot? {
        let index = Int(fd)
        return index < endpoints.count ? endpoints[index] : nil
    }

    private func eventData(_ fd: Int32) -> epoll_data_t {
        let serial = UInt64(slot(fd)?.serial ?? 0)
        return epoll_data_t(u64: serial << 32 | UInt64(UInt32(bitPattern: fd)))
    }

    fileprivate func register(_ fd: Int32, events: UInt32) {
        var event = epoll_event(events: events, data: eventData(fd))
        _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)
    }

    func modify(_ fd: Int32, events: UInt32) {
        var event = epoll_event(events: events, data: eventData(fd))
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    func unregister(_ fd: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &event)
        setEndpoint(fd, nil)
    }

    var readBuffer: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: buffer, count: Self.bufferSize)
    }

    private struct Slot {
        let serial: UInt32
        let endpoint: Endpoint
    }

    fileprivate enum Endpoint {
        case wake
        case listener(RelayOwner)
        case client(RelayConnection)
        case server(RelayConnection)
    }
}

/// The proxy side of the relay: what to do with an accepted socket, and where connections
/// report their end. Called on the relay thread; implementations take their own lock.
protocol RelayOwner: AnyObject, Sendable {
    func decide() -> RelayDecision
    /// Takes an accepted socket onto the SwiftNIO path (the proxy has faults or a capture);
    /// `relayedID` when it had been given to the relay already.
    func adopt(_ fd: Int32, relayedID: UInt64?)
    /// Whether a connection given to the relay may still be relayed (no fault has come);
    /// checked on the relay thread that will carry it, right before it does.
    func stillRelayed(_ id: UInt64) -> Bool
    /// A relayed connection ended (closed, failed to dial); not called for a handover.
    func closed(_ id: UInt64)
}

enum RelayDecision {
    case refuse
    case pipeline
    case relay(RelayTicket)
}

struct RelayTicket {
    let id: UInt64
    let upstream: SocketAddress
    let counters: ByteCounters
    let connectTimeoutNanos: UInt64
}

/// A relayed connection leaving for SwiftNIO: its sockets and the bytes read from one side
/// and not yet written to the other, which go out before anything else.
struct RelayHandover: Sendable {
    let id: UInt64
    let clientFD: Int32
    /// Nil when the dial was still under way: that socket is closed and SwiftNIO dials anew.
    let serverFD: Int32?
    let pendingUpstream: [UInt8]
    let pendingDownstream: [UInt8]
}

enum RelayError: Error, CustomStringConvertible {
    case system(String, Int32)
    case notIP(String)
    var description: String {
        switch self {
        case .system(let call, let code): "\(call): \(String(cString: strerror(code))) (errno \(code))"
        case .notIP(let address): "\(address) is not an IP address"
        }
    }
}

private func setNoDelay(_ fd: Int32) {
    var one: Int32 = 1
    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, 4)
}
