import RiftFaults

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
        /// A client link for the clients of this region (`client-eu-n1`); nil: for the clients
        /// of the node's own region, or of any when the topology has no regions.
        public var clientRegion: String? = nil
    }

    /// A region and the nodes placed in it (and a kind's own processes: a Sentinel fleet's
    /// sentinels).
    public struct Region: Sendable, Equatable {
        public var name: String
        public var nodes: [String]
        public init(name: String, nodes: [String]) {
            self.name = name
            self.nodes = nodes
        }
    }

    public static let client = "client"

    public var name: String
    /// What kind of fleet, with its settings (`TopologyRegistry`).
    public var kind: any TopologyKind
    public var nodes: [Node]
    /// Where the nodes (and sentinels) are (`regions: {us: [n1, n2], eu: [n3]}`); empty: one place.
    public var regions: [Region] = []
    /// The standing fault on every link between regions, each direction (the `latency`
    /// fault's latency, jitter and distribution); nil: none.
    public var wan: LatencyConfig?

    public init(name: String, kind: any TopologyKind = RedisReplicated(), nodes: [Node], regions: [Region] = [], wan: LatencyConfig? = nil) {
        self.name = name
        self.kind = kind
        self.nodes = nodes
        self.regions = regions
        self.wan = wan
    }

    public static func == (a: Topology, b: Topology) -> Bool {
        a.name == b.name && a.nodes == b.nodes && a.kind.isEqual(to: b.kind) && a.regions == b.regions && a.wan == b.wan
    }

    /// The region `node` (or sentinel) is placed in.
    public func region(of node: String) -> String? { regions.first { $0.nodes.contains(node) }?.name }

    /// Whether the link joins two regions (and so carries the WAN fault): a link between
    /// processes placed apart (replication, a sentinel's), or a client link for another
    /// region's clients.
    public func crossesRegions(_ link: Link) -> Bool {
        if let r = link.clientRegion { return r != region(of: link.to) }
        guard let a = region(of: link.from), let b = region(of: link.to) else { return false }
        return a != b
    }

    /// The proxy that the clients of `region` use to reach `node` (or a sentinel): `client-n1`
    /// from its own region (or with no regions), `client-eu-n1` from another.
    public func clientProxy(of node: String, from clientRegion: String?) -> String {
        guard let clientRegion, let home = region(of: node), home != clientRegion else { return "client-\(node)" }
        return "client-\(clientRegion)-\(node)"
    }

    /// A region's clients as one end of a partition (`client@eu`).
    public static func clients(of region: String) -> String { "\(client)@\(region)" }

    /// Partition groups with each region name replaced by what is placed there and that
    /// region's clients: `[[us], [eu]]` cuts every link between the regions, the client links
    /// of each region's clients to the other's nodes included.
    public func expandingRegions(_ groups: [[String]]) -> [[String]] {
        groups.map { group in
            group.flatMap { name in regions.first { $0.name == name }.map { [Self.clients(of: $0.name)] + $0.nodes } ?? [name] }
        }
    }

    /// The end a link leaves from in a partition whose groups (regions expanded) name `ends`:
    /// a client link's is `client` when a group names every client, else its clients' region
    /// (`client@eu`) when a group names that region; nil, so the link is not cut, when neither
    /// is named: clients reach every node unless a partition says otherwise.
    public func partitionEnd(of link: Link, named ends: Set<String>) -> String? {
        guard link.from == Self.client else { return link.from }
        if ends.contains(Self.client) { return Self.client }
        guard let r = link.clientRegion ?? region(of: link.to), ends.contains(Self.clients(of: r)) else { return nil }
        return Self.clients(of: r)
    }

    public var primary: String? { nodes.first { $0.replicaOf == nil }?.name }
    public var replicas: [String] { nodes.filter { $0.replicaOf != nil }.map(\.name) }

    /// Client links first (`client-n1`; with regions also `client-eu-n1` for each other
    /// region's clients, to each node and then to each end of the kind's own client links,
    /// `client-eu-s1`), then replication links (`n2-to-n1`), then the kind's own links
    /// (`TopologyKind.extraLinks`).
    public var links: [Link] {
        let extra = kind.extraLinks(nodes)
        let reached = nodes.map(\.name) + extra.filter { $0.from == Self.client }.map(\.to)
        return nodes.map { Link(proxy: "client-\($0.name)", from: Self.client, to: $0.name) }
            + reached.flatMap { m in
                regions.filter { $0.name != region(of: m) }.map { r in
                    Link(proxy: "client-\(r.name)-\(m)", from: Self.client, to: m, clientRegion: r.name)
                }
            }
            + (kind.proxiesReplication ? nodes.compactMap { n in n.replicaOf.map { Link(proxy: "\(n.name)-to-\($0)", from: n.name, to: $0) } } : [])
            + extra
    }
}
