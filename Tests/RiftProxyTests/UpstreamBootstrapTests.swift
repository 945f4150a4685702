import Glibc
import NIOCore
import NIOPosix
@testable import RiftProxy
import RiftTestSupport
import Testing

/// The socket options every Rift connection's SwiftNIO channel gets (`ClientBootstrap.adopting`).
@Suite struct UpstreamBootstrapTests {
    /// TCP_NODELAY belongs to the TCP level: at the socket level its number is SO_DEBUG, which
    /// needs CAP_NET_ADMIN, so every faulted connection was closed in a container without it.
    @Test func setsTCPNoDelayAtTheTCPLevelNotSODebug() async throws {
        let listener = try BlockingListener()
        defer { listener.close() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await ClientBootstrap.adopting(on: group.next())
            .connect(host: "127.0.0.1", port: Int(listener.port)).get()
        #expect(try await channel.getOption(.tcpOption(.tcp_nodelay)).get() != 0)
        #expect(try await channel.getOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_DEBUG))).get() == 0)
        try await channel.close()
        try await group.shutdownGracefully()
    }
}
