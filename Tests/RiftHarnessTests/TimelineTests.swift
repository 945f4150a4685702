import RiftFaults
import Testing

@testable import RiftHarness

/// The pure schedule: which directives are due when, and what is in force.
@Suite struct TimelineTests {
    func step(_ s: Int64, _ d: Directive) -> TimelineStep { TimelineStep(atNs: s * 1_000_000_000, directive: d) }

    @Test func handsOutEachStepOnceInTimeOrder() {
        var t = Timeline([step(5, .heal), step(1, .kill(node: "n2")), step(1, .pause(node: "n3")), step(3, .restart(node: "n2"))])
        #expect(t.due(upTo: 0).isEmpty)
        #expect(t.due(upTo: 1_000_000_000).map(\.directive) == [.kill(node: "n2"), .pause(node: "n3")])
        #expect(t.due(upTo: 1_500_000_000).isEmpty)
        #expect(t.nextAtNs == 3_000_000_000)
        // A late tick gets everything it missed, in order.
        #expect(t.due(upTo: 10_000_000_000).map(\.directive) == [.restart(node: "n2"), .heal])
        #expect(t.due(upTo: 20_000_000_000).isEmpty)
        #expect(t.nextAtNs == nil)
    }

    @Test func activeFaultsUntilHealNodesUntilRecovered() {
        let cut = Directive.partition(groups: [["n1"], ["n2", "n3"]], mode: .blackhole)
        let t = Timeline([step(1, cut), step(2, .pause(node: "n3")), step(4, .resume(node: "n3")), step(5, .heal), step(6, .kill(node: "n2"))])
        #expect(t.active(at: 0).isEmpty)
        #expect(t.active(at: 1_000_000_000) == [cut.label])
        #expect(t.active(at: 3_000_000_000) == [cut.label, "n3 paused"])
        #expect(t.active(at: 4_500_000_000) == [cut.label])
        #expect(t.active(at: 5_000_000_000).isEmpty)
        #expect(t.active(at: 7_000_000_000) == ["n2 killed"])
    }

    /// A failover is in force until the heal; the old primary rejoining is a recovery, no state.
    @Test func promotionShowsUntilHeal() {
        let t = Timeline([step(1, .promote(node: "n2")), step(4, .heal), step(4, .replicaOf(node: "n1", primary: "n2"))])
        #expect(t.active(at: 2_000_000_000) == ["promote n2"])
        #expect(t.active(at: 4_000_000_000).isEmpty)
    }

    @Test func faultsStartRecoveriesStop() {
        #expect(Directive.partition(groups: [["a"]], mode: .reset).nemesisF == "start")
        #expect(Directive.fault(proxy: "p", type: "latency", stream: .upstream, attributes: [:]).nemesisF == "start")
        #expect(Directive.kill(node: "n1").nemesisF == "start")
        #expect(Directive.pause(node: "n1").nemesisF == "start")
        #expect(Directive.heal.nemesisF == "stop")
        #expect(Directive.resume(node: "n1").nemesisF == "stop")
        #expect(Directive.restart(node: "n1").nemesisF == "stop")
    }

    @Test func partitionFaultsCutOnlyTheNamedDirections() {
        let both = ScenarioRunner.partitionFaults(mode: .blackhole, cut: [.upstream, .downstream], name: "x")
        #expect(both.map(\.type) == ["blackhole", "blackhole"])
        #expect(Set(both.map(\.stream)) == [.upstream, .downstream])
        #expect(ScenarioRunner.partitionFaults(mode: .blackhole, cut: [.upstream], name: "x").map(\.stream) == [.upstream])
        #expect(ScenarioRunner.partitionFaults(mode: .reset, cut: [.upstream], name: "x").map(\.type) == ["reset_peer"])
        #expect(ScenarioRunner.partitionFaults(mode: .refuse, cut: [.upstream], name: "x").map(\.type) == ["down", "reset_peer"])
    }
}

/// Key choice: uniform spreads evenly, zipf favours the first keys by 1/(i+1)^skew.
@Suite struct KeyPickerTests {
    func counts(_ picker: KeyPicker, _ n: Int) -> [Int] {
        var c = [Int](repeating: 0, count: picker.cdf.count)
        for i in 0..<n { c[picker.pick((Double(i) + 0.5) / Double(n))] += 1 }
        return c
    }

    @Test func uniformIsEven() {
        #expect(counts(KeyPicker(count: 4, distribution: .uniform), 4000) == [1000, 1000, 1000, 1000])
    }

    @Test func zipfFollowsItsWeights() {
        // Weights 1, 1/2, 1/3, 1/4 over a total of 25/12.
        let c = counts(KeyPicker(count: 4, distribution: .zipf(skew: 1)), 25_000)
        #expect(c == [12_000, 6_000, 4_000, 3_000])
        #expect(KeyPicker(count: 3, distribution: .zipf(skew: 2)).pick(0.999_999) == 2)
        #expect(KeyPicker(count: 1, distribution: .zipf(skew: 2)).pick(0.5) == 0)
    }
}
