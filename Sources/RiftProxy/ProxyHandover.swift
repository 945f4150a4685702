import NIOCore
import NIOPosix
import RiftCapture
import RiftCore
import RiftFaults
import Synchronization

// MARK: - The relay's side

extension Proxy: RelayOwner {
    /// Called by the relay for each accepted socket: relay it while the proxy has no fault
    /// and no capture, else give it a pipeline.
    func decide() -> RelayDecision {
        let decision = state.withLock { (s: inout State) -> RelayDecision in
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
        state.withLock { $0.relayed.contains(id) && $0.config.enabled && !$0.stopped && $0.allFaults.isEmpty }
    }

    func closed(_ id: UInt64) {
        _ = state.withLock { $0.relayed.remove(id) }
    }

    /// Once the proxy has a fault, its relayed connections move to SwiftNIO pipelines (with
    /// what the relay held back going out first), so that the fault applies to them too.
    func handOverRelayed() async {
        let needed = state.withLock { !$0.relayed.isEmpty && !$0.allFaults.isEmpty }
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
