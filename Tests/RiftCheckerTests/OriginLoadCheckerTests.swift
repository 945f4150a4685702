import RiftChecker
import RiftHistory
import Testing

/// The origin-load check, pure: a gauge's samples against a ceiling, in a window.
@Suite struct OriginLoadCheckerTests {
    func samples(_ peaks: [Int]) -> [OriginLoadChecker.Sample] {
        peaks.enumerated().map { .init(timeNs: Int64($0.offset) * 10_000_000, peak: $0.element) }
    }

    @Test func atOrUnderTheCeilingHolds() {
        let r = OriginLoadChecker.check(samples([0, 40, 100, 3]), window: .all, maxInFlight: 100)
        #expect(r.verdict == .valid)
        #expect(r.details["peak_in_flight"] == .int(100))
        #expect(r.summary == "origin in flight peaked at 100 <= 100")
    }

    @Test func overTheCeilingFailsAndSaysWhenAndHowHigh() {
        let r = OriginLoadChecker.check(samples([0, 101, 260, 180, 20]), window: .all, maxInFlight: 100)
        #expect(r.verdict == .invalid)
        #expect(r.details["peak_in_flight"] == .int(260) && r.details["peak_at_ns"] == .int(20_000_000))
        #expect(r.details["samples_over"] == .int(3))
        #expect(r.anomalies.first?.message.hasPrefix("origin in flight peaked at 260 > 100; 3 samples over the ceiling, the first at 10000000 ns") == true)
    }

    @Test func onlyTheWindowCounts() {
        let r = OriginLoadChecker.check(samples([500, 10, 20, 500]), window: TimeWindow(from: 10_000_000, until: 20_000_000), maxInFlight: 100)
        #expect(r.verdict == .valid)
        #expect(r.details["samples"] == .int(2))
    }

    @Test func noSampleIsUnknownNotValid() {
        #expect(OriginLoadChecker.check([], window: .all, maxInFlight: 100).verdict == .unknown)
        #expect(OriginLoadChecker.check(samples([5]), window: TimeWindow(from: 1_000_000_000), maxInFlight: 100).verdict == .unknown)
    }

    @Test func withoutACeilingItOnlyReports() {
        let r = OriginLoadChecker.check(samples([7, 300]), window: .all, maxInFlight: nil)
        #expect(r.verdict == .valid && r.details["peak_in_flight"] == .int(300))
    }
}
