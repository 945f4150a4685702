import RiftFaults

/// A partition between groups of nodes, and the pure rule that says which links it cuts.
///
/// Nodes are the `from`/`to` labels of proxies. A node named in no group forms a group of its
/// own, as in Blockade, so `[[n1]]` cuts n1 from everyone. With `oneWay`, only traffic that
/// leaves the first group is cut (n1 cannot reach the others; they can still reach n1).
public struct Partition: Sendable, Equatable, Identifiable {
    public var id: String
    public var groups: [[String]]
    public var mode: PartitionMode
    public var oneWay: Bool

    public init(id: String, groups: [[String]], mode: PartitionMode = .blackhole, oneWay: Bool = false) {
        self.id = id
        self.groups = groups
        self.mode = mode
        self.oneWay = oneWay
    }

    /// The group a node is in: its index, or its own implicit group.
    func group(of node: String) -> String {
        if let index = groups.firstIndex(where: { $0.contains(node) }) { return "#\(index)" }
        return "node:" + node
    }

    /// The directions this partition cuts on a link from `from` to `to` (a proxy whose client
    /// side is `from` and whose server side is `to`). Upstream bytes flow from → to.
    public func cutDirections(from: String, to: String) -> Set<StreamDirection> {
        let gFrom = group(of: from), gTo = group(of: to)
        guard gFrom != gTo else { return [] }
        guard oneWay else { return [.upstream, .downstream] }
        var cut: Set<StreamDirection> = []
        if gFrom == "#0" { cut.insert(.upstream) }
        if gTo == "#0" { cut.insert(.downstream) }
        return cut
    }

    /// The faults this partition puts on a link, named so they never collide with user faults.
    func faults(from: String, to: String) -> [Fault] {
        let cut = cutDirections(from: from, to: to)
        if cut.isEmpty { return [] }
        switch mode {
        case .blackhole:
            return StreamDirection.allCases.filter(cut.contains).map {
                Fault(name: "partition:\(id):\($0.rawValue)", stream: $0, config: PartitionHoldConfig())
            }
        case .reset, .refuse:
            return [Fault(name: "partition:\(id)", stream: .upstream, config: PartitionResetConfig(refuse: mode == .refuse))]
        }
    }
}
