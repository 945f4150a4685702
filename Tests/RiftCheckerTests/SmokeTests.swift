import Testing
import RiftHistory
@testable import RiftChecker

@Test func emptyHistoryIsValid() throws {
    let report = try Checker.check(History(events: []), CheckOptions(checks: [.linearizability]))
    #expect(report.verdict == .valid)
}
