@testable import RiftProxy
import RiftFaults
import Testing

/// The pure rule that decides which links a partition cuts.
@Suite struct PartitionRuleTests {
    @Test func crossingLinksAreCutBothWays() {
        let p = Partition(id: "p1", groups: [["n1"], ["n2", "n3"]])
        #expect(p.cutDirections(from: "n2", to: "n1") == [.upstream, .downstream])
        #expect(p.cutDirections(from: "n1", to: "n3") == [.upstream, .downstream])
        #expect(p.cutDirections(from: "n2", to: "n3").isEmpty)
    }

    @Test func unnamedNodeIsItsOwnGroup() {
        let p = Partition(id: "p1", groups: [["n1", "n2"]])
        // "client" is in no group, so it is cut from n1 and n2 ...
        #expect(p.cutDirections(from: "client", to: "n1") == [.upstream, .downstream])
        // ... while n1 and n2 still talk.
        #expect(p.cutDirections(from: "n1", to: "n2").isEmpty)
        // Two unnamed nodes are each their own group, so they are cut from each other too.
        #expect(p.cutDirections(from: "client", to: "n9") == [.upstream, .downstream])
    }

    @Test func oneWayCutsOnlyTrafficLeavingTheFirstGroup() {
        let p = Partition(id: "p1", groups: [["n1"], ["n2"]], oneWay: true)
        // On a link n1 -> n2, upstream bytes leave n1: cut. Replies from n2 to n1 flow.
        #expect(p.cutDirections(from: "n1", to: "n2") == [.upstream])
        // On a link n2 -> n1, the replies (downstream) leave n1: cut.
        #expect(p.cutDirections(from: "n2", to: "n1") == [.downstream])
    }

    @Test func faultsFollowTheMode() {
        let black = Partition(id: "p1", groups: [["n1"], ["n2"]], mode: .blackhole)
        #expect(black.faults(from: "n1", to: "n2").map(\.name) == ["partition:p1:upstream", "partition:p1:downstream"])
        let reset = Partition(id: "p2", groups: [["n1"], ["n2"]], mode: .reset)
        let resetFaults = reset.faults(from: "n1", to: "n2")
        #expect(resetFaults.count == 1)
        #expect(resetFaults[0].config.listenerEffect == .none)
        let refuse = Partition(id: "p3", groups: [["n1"], ["n2"]], mode: .refuse)
        #expect(refuse.faults(from: "n1", to: "n2").first?.config.listenerEffect == .refuseNew)
        #expect(refuse.faults(from: "n2", to: "n2").isEmpty)
    }
}
