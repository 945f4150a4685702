import Hummingbird
import Logging
import NIOCore
import RiftProxy

/// Runs the API over HTTP/1.1 for `rift server`.
public enum ControlServer {
    /// - Parameter onRunning: called with the bound `host:port` (port 0 becomes the real one).
    public static func application(
        plane: ControlPlane, host: String, port: Int, token: String?,
        onRunning: @escaping @Sendable (String) async -> Void
    ) -> some ApplicationProtocol {
        var logger = Logger(label: "rift.api")
        logger.logLevel = .warning
        return Application(
            router: ControlAPI.router(plane, token: token),
            configuration: .init(address: .hostname(host, port: port), serverName: "rift"),
            onServerRunning: { channel in
                await onRunning(channel.localAddress.map(AddressParser.format) ?? "\(host):\(port)")
            },
            logger: logger)
    }

    /// Loopback needs no token; any other address does, since the API can cut a fleet's traffic.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}
