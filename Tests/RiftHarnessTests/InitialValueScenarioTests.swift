import RiftChecker
import RiftHarness
import RiftHistory
import Testing

/// `initial_value` on a scenario's linearizability check reaches the checker, and only there.
@Suite struct InitialValueScenarioTests {
    static let head = "name: a\ntopology: t\nduration: 5s\nchecks:\n"

    @Test func aLinearizabilityCheckTakesAnInitialValue() throws {
        let s = try ScenarioParser.parseScenario(
            Self.head + "  - check: linearizability\n    initial_value: 0\n  - check: linearizability\n    initial_value: \"0\"\n  - check: linearizability\n",
            file: "f.yaml")
        #expect(s.checks.map { ($0.check as? LinearizabilityCheck)?.initialValue } == [.int(0), .string("0"), nil])
        // What result.json holds and `rift report` reads back.
        #expect(s.checks.map { $0.check.settingsJSON["initial_value"] } == [.int(0), .string("0"), nil])
    }

    @Test func otherChecksRefuseIt() {
        #expect {
            try ScenarioParser.parseScenario(Self.head + "  - check: staleness\n    initial_value: 0\n", file: "f.yaml")
        } throws: { error in
            "\(error)".hasPrefix("f.yaml:6:20: checks[0].initial_value: applies only to check: linearizability")
        }
    }
}
