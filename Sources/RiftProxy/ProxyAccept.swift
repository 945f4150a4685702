import NIOCore
import NIOPosix
import RiftCapture
import RiftCore
import RiftFaults
import Synchronization

/// Accepting a client and dialling its upstream on the SwiftNIO path.
extension Proxy {
    // MARK: - Connections

    /// A new client connection on the SwiftNIO path; `relayedID` when it comes from the relay
    /// before its dial finished (already counted, and keeping its id).
    func accept(_ client: Channel, relayedID: UInt64? = nil) {
        guard let (connection, upstream) = register(client, relayedID: relayedID) else {
            client.close(promise: nil)
            return
        }
        dial(upstream, for: connection)
    }

    /// Records a client channel as one of the proxy's connections (unless the proxy is
    /// disabled or stopped: nil) and forgets it when it closes. Returns the upstream to dial.
    func register(_ client: Channel, relayedID: UInt64?) -> (ProxyConnection, SocketAddress)? {
        let registered = state.withLock { (s: inout State) -> (ProxyConnection, SocketAddress)? in
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
            _ = state.withLock { $0.connections.removeValue(forKey: connection.id) }
            connection.server?.close(promise: nil)
        }
        return registered
    }

    /// Glues a connected server channel to a registered connection, on its event loop: either
    /// side closing closes the other, and the proxy's faults go in. `beforeReading` runs once
    /// both are live, before either side is read.
    func join(_ connection: ProxyConnection, server: Channel, capture: PacketCapture?, beforeReading: () -> Void = {}) {
        let client = connection.client
        server.closeFuture.whenComplete { _ in client.close(promise: nil) }
        guard client.isActive else {
            server.close(promise: nil)
            return
        }
        beforeReading()
        do {
            try connection.attach(server: server, counters: counters, faults: state.withLock { $0.allFaults }, capture: capture)
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
