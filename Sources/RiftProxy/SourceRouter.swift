import NIOCore
import NIOPosix

/// A listener that hands each accepted connection to one of several local ports, chosen by the
/// connection's source IP address, with no fault stages of its own.
///
/// It exists for peers that all dial one advertised address, as Redis cluster nodes do (a node
/// announces one bus port, and every peer connects to it): each peer binds its own source
/// address (`bind-source-addr 127.0.0.3`), and the router forwards its connections to the proxy
/// labelled for that link (`from: n2, to: n1`), so partitions between nodes cut per link.
/// A source with no route is closed at once.
public final class SourceRouter: Sendable {
    public let name: String
    /// The port this router listens on.
    public let port: Int
    private let channel: Channel

    private init(name: String, port: Int, channel: Channel) {
        self.name = name
        self.port = port
        self.channel = channel
    }

    /// Listens on `listen` (`host:port`, port 0 for a free one) and forwards a connection from
    /// source IP `ip` to `127.0.0.1:routes[ip]`.
    public static func start(name: String, listen: String, routes: [String: Int], group: EventLoopGroup) async throws -> SourceRouter {
        let address: SocketAddress
        do { address = try AddressParser.resolve(listen) } catch { throw ProxyError.invalidAddress(field: "listen", message: error.description) }
        let bootstrap = ServerBootstrap.proxyListener(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(OnActiveHandler { route(channel, routes: routes) })
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.bind(to: address).get()
        } catch {
            throw ProxyError.listenFailed(proxy: name, address: listen, reason: "\(error)")
        }
        return SourceRouter(name: name, port: channel.localAddress?.port ?? 0, channel: channel)
    }

    private static func route(_ client: Channel, routes: [String: Int]) {
        guard let ip = client.remoteAddress?.ipAddress, let port = routes[ip],
              let upstream = try? SocketAddress(ipAddress: "127.0.0.1", port: port) else {
            client.close(promise: nil)
            return
        }
        ClientBootstrap.proxyUpstream(on: client.eventLoop, connectTimeout: .seconds(5))
            .connect(to: upstream)
            .hop(to: client.eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let server):
                    server.closeFuture.whenComplete { _ in client.close(promise: nil) }
                    client.closeFuture.whenComplete { _ in server.close(promise: nil) }
                    guard client.isActive else {
                        server.close(promise: nil)
                        return
                    }
                    let glue = GlueHandler.matchedPair(counters: ByteCounters())
                    do {
                        try client.pipeline.syncOperations.addHandler(glue.client)
                        try server.pipeline.syncOperations.addHandler(glue.server)
                    } catch {
                        client.close(promise: nil)
                        return
                    }
                    client.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
                    server.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
                case .failure:
                    client.close(promise: nil)
                }
            }
    }

    public func close() async {
        try? await channel.close()
    }
}

extension ProxyServer {
    /// A `SourceRouter` on this server's event loops; close it before `shutdown()`.
    public func startRouter(name: String, listen: String = "127.0.0.1:0", routes: [String: Int]) async throws -> SourceRouter {
        try await SourceRouter.start(name: name, listen: listen, routes: routes, group: group)
    }
}

extension ServerBootstrap {
    /// How every Rift listener accepts: no Nagle, half-closes passed on, and no reads until
    /// the upstream is dialled and glued (backpressure from the first byte).
    static func proxyListener(group: EventLoopGroup) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.autoRead, value: false)
    }
}

extension ClientBootstrap {
    /// How every Rift listener dials its upstream, on the accepted channel's event loop.
    static func proxyUpstream(on eventLoop: EventLoop, connectTimeout: TimeAmount) -> ClientBootstrap {
        adopting(on: eventLoop).connectTimeout(connectTimeout)
    }

    /// The options of every Rift connection's channel (as `proxyListener` gives its children),
    /// also for SwiftNIO taking over a socket the relay accepted or carried.
    static func adopting(on eventLoop: EventLoop) -> ClientBootstrap {
        ClientBootstrap(group: eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.autoRead, value: false)
    }
}
