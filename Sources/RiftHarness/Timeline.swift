/// The pure part of a run's fault schedule: which directives are due by a time, and what is
/// active then. The runner asks `due(upTo:)` as time passes and carries the directives out.
public struct Timeline: Sendable {
    public private(set) var steps: [TimelineStep]
    /// Index of the next step not yet handed out.
    public private(set) var next = 0

    /// Steps sorted by time; steps at the same time keep their file order.
    public init(_ steps: [TimelineStep]) {
        self.steps = steps.enumerated().sorted { ($0.element.atNs, $0.offset) < ($1.element.atNs, $1.offset) }.map(\.element)
    }

    /// The steps due at or before `nowNs` that were not handed out yet, in order.
    public mutating func due(upTo nowNs: Int64) -> [TimelineStep] {
        var out: [TimelineStep] = []
        while next < steps.count, steps[next].atNs <= nowNs {
            out.append(steps[next])
            next += 1
        }
        return out
    }

    /// Time of the next step, or nil when all were handed out.
    public var nextAtNs: Int64? { next < steps.count ? steps[next].atNs : nil }

    /// What is in effect after the steps up to `nowNs`: partitions and faults until a heal,
    /// killed or paused nodes until they are restarted or resumed.
    public func active(at nowNs: Int64) -> [String] {
        var faults: [String] = []
        var nodes: [String: String] = [:]
        for step in steps where step.atNs <= nowNs {
            switch step.directive {
            case .partition, .fault, .promote: faults.append(step.directive.label)
            case .heal: faults.removeAll()
            case .kill(let n): nodes[n] = "\(n) killed"
            case .pause(let n): nodes[n] = "\(n) paused"
            case .resume(let n), .restart(let n, _): nodes[n] = nil
            case .replicaOf, .rebalance: break
            }
        }
        return faults + nodes.keys.sorted().map { nodes[$0]! }
    }

    /// The last directive time: the workload should outlast it.
    public var endNs: Int64 { steps.last?.atNs ?? 0 }
}
