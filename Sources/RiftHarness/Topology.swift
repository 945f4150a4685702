/// A fleet description (`harness/*.yaml`): its kind with the kind's settings, the nodes and,
/// derived from them, every link, each of which runs through its own Rift proxy.
public struct Topology: Sendable, Equatable {
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
    /// What kind of fleet, with its settings (`TopologyRegistry`).
    public var kind: any TopologyKind
    public var nodes: [Node]

    public init(name: String, kind: any TopologyKind = RedisReplicated(), nodes: [Node]) {
        self.name = name
        self.kind = kind
        self.nodes = nodes
    }

    public static func == (a: Topology, b: Topology) -> Bool {
        a.name == b.name && a.nodes == b.nodes && a.kind.isEqual(to: b.kind)
    }

    public var primary: String? { nodes.first { $0.replicaOf == nil }?.name }
    public var replicas: [String] { nodes.filter { $0.replicaOf != nil }.map(\.name) }

    /// Client links first (`client-n1`), then replication links (`n2-to-n1`), then the kind's
    /// own links (`TopologyKind.extraLinks`).
    public var links: [Link] {
        nodes.map { Link(proxy: "client-\($0.name)", from: Self.client, to: $0.name) }
            + nodes.compactMap { n in n.replicaOf.map { Link(proxy: "\(n.name)-to-\($0)", from: n.name, to: $0) } }
            + kind.extraLinks(nodes)
    }
}
