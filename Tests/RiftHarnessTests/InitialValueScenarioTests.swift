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
        #expect(s.checks.map(\.initialValue) == [.int(0), .string("0"), nil])
        #expect(try s.checks[0].options(scale: 1).initialValue == .int(0))
        #expect(try s.checks[2].options(scale: 1).initialValue == .null)
    }

    @Test func otherChecksRefuseIt() {
        #expect {
            try ScenarioParser.parseScenario(Self.head + "  - check: staleness\n    initial_value: 0\n", file: "f.yaml")
        } throws: { error in
            "\(error)".hasPrefix("f.yaml:6:20: checks[0].initial_value: applies only to check: linearizability")
        }
    }
}
