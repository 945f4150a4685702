/// A fleet description (`harness/*.yaml`): the nodes and, derived from them, every link, each of
/// which runs through its own Rift proxy.
public struct Topology: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case redis
        /// Independent nodes; clients spread keys over them (ketama).
        case memcached
    }

    public struct Node: Sendable, Equatable {
        public var name: String
        /// The node this one replicates from, if it is a replica.
        public var replicaOf: String?
        public init(name: String, replicaOf: String? = nil) {
            self.name = name
            self.replicaOf = replicaOf
        }
    }

    /// One proxied link: the proxy's name and its `from`/`to` labels (partitions cut by these).
    public struct Link: Sendable, Equatable {
        public var proxy: String
        public var from: String
        public var to: String
    }

    public static let client = "client"

    public var name: String
    public var kind: Kind
    public var nodes: [Node]
    /// Redis cluster settings (`kind: redis-cluster`); nil for a primary and its replicas.
    public var cluster: ClusterSettings?

    public init(name: String, kind: Kind = .redis, nodes: [Node], cluster: ClusterSettings? = nil) {
        self.name = name
        self.kind = kind
        self.nodes = nodes
        self.cluster = cluster
    }

    public var primary: String? { nodes.first { $0.replicaOf == nil }?.name }
    public var replicas: [String] { nodes.filter { $0.replicaOf != nil }.map(\.name) }

    /// Client links first (`client-n1`), then replication links (`n2-to-n1`), then a cluster's
    /// own links (`clusterLinks`).
    public var links: [Link] {
        nodes.map { Link(proxy: "client-\($0.name)", from: Self.client, to: $0.name) }
            + nodes.compactMap { n in n.replicaOf.map { Link(proxy: "\(n.name)-to-\($0)", from: n.name, to: $0) } }
            + clusterLinks
    }
}
