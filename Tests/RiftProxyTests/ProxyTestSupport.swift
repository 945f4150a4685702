import Foundation
import RiftFaults
import RiftProxy
import RiftTestSupport

/// A proxy server for one test, always shut down. `relay: false` gives every connection a
/// SwiftNIO pipeline from the start (the path fault-free connections take without the relay).
func withProxyServer<T>(seed: UInt64 = 1, relay: Bool = true, _ body: (ProxyServer) async throws -> T) async throws -> T {
    let server = ProxyServer(seed: seed, threads: 2, relay: relay)
    do {
        let result = try await body(server)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}

func fault(_ type: String, _ attributes: FaultAttributes = [:], stream: StreamDirection = .downstream, name: String? = nil, toxicity: Double = 1) throws -> Fault {
    Fault(name: name, stream: stream, toxicity: toxicity, config: try FaultRegistry.makeConfig(type: type, attributes: attributes, strict: true))
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Seconds a blocking body takes.
func timed(_ body: () throws -> Void) rethrows -> Double {
    let start = monotonicSeconds()
    try body()
    return monotonicSeconds() - start
}


/// The socket error a blocking body ended with, or nil when it did not throw.
func socketError(_ body: () throws -> Void) -> SocketError? {
    do {
        try body()
        return nil
    } catch let error as SocketError {
        return error
    } catch let error as ClientError {
        if case .socket(let inner) = error { return inner }
        return .other(-1)
    } catch {
        return .other(-2)
    }
}
