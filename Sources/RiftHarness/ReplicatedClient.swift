import RiftClient
import RiftCore

/// The cache client of a Redis primary and its replicas: writes go to the primary, reads to a
/// node `reads:` allows, picked per read from the process's generator.
public final class ReplicatedClient: RESPCacheClient {
    let primary: CacheTarget
    /// Where reads may go.
    let readTargets: [CacheTarget]
    private var connections = ConnectionPool { RESPClient(reconnectingTo: $0) }

    public init(primary: CacheTarget, replicas: [CacheTarget], reads: ReadTarget) {
        self.primary = primary
        readTargets = reads.targets(primary: primary, replicas: replicas)
    }

    /// Reads to `readTargets` (a region's own nodes), writes to `primary`.
    public init(primary: CacheTarget, readTargets: [CacheTarget]) {
        self.primary = primary
        self.readTargets = readTargets.isEmpty ? [primary] : readTargets
    }

    public func route(_ key: String, write: Bool, random: inout SeededRandom, deadlineNs: Int64) -> CacheRoute {
        CacheRoute(target: write ? primary : readTargets[Int(random.next() % UInt64(readTargets.count))])
    }

    public func send(_ args: [String], key: String, via route: CacheRoute, deadlineNs: Int64) throws(ClientError) -> (RESPValue, node: String) {
        (try connections.connection(route.target.port).request(args, deadlineNs: deadlineNs), route.target.node)
    }

    public func close() { for c in connections.all { c.close() } }
}
