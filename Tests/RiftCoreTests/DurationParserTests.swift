import RiftCore
import Testing

@Suite struct DurationParserTests {
    @Test(arguments: [
        ("250ms", Int64(250_000_000)), ("10s", 10_000_000_000), ("2m", 120_000_000_000),
        ("1500us", 1_500_000), ("7ns", 7), ("1.5s", 1_500_000_000), ("0", 0), (" 3ms ", 3_000_000), ("0.5ms", 500_000),
    ])
    func parses(_ text: String, _ expected: Int64) throws {
        #expect(try DurationParser.nanoseconds(text) == expected)
    }

    @Test(arguments: ["", "10", "ms", "-5ms", "5 h", "5h", "1e3ms", "abc", "1.2.3s"])
    func rejects(_ text: String) {
        #expect(throws: DurationParser.Failure.self) { try DurationParser.nanoseconds(text) }
    }

    @Test func errorNamesInputAndFix() {
        do {
            _ = try DurationParser.nanoseconds("10")
            Issue.record("expected a failure")
        } catch {
            #expect(error.description.contains("'10'"))
            #expect(error.description.contains("missing unit"))
        }
    }

    @Test func formatsReadably() {
        #expect(DurationParser.format(nanoseconds: 1_500_000_000) == "1.5s")
        #expect(DurationParser.format(nanoseconds: 250_000_000) == "250ms")
        #expect(DurationParser.format(nanoseconds: 120_000_000_000) == "2m")
        #expect(DurationParser.format(nanoseconds: 12_000) == "12us")
        #expect(DurationParser.format(nanoseconds: 5) == "5ns")
    }

    @Test func roundTripsThroughFormat() throws {
        for ns: Int64 in [1, 999, 1_234_567, 1_500_001, 1_000, 1_234_000, 250_000_000, 2_000_000_000, 60_000_000_000] {
            #expect(try DurationParser.nanoseconds(DurationParser.format(nanoseconds: ns)) == ns)
        }
    }

    @Test func durationNanoseconds() {
        #expect(Duration.milliseconds(250).totalNanoseconds == 250_000_000)
        #expect(Duration.seconds(2).totalNanoseconds == 2_000_000_000)
    }
}

@Suite struct ReadableDurationTests {
    @Test func roundsForPeople() {
        #expect(DurationParser.readable(nanoseconds: 2_515_996_189) == "2.516s")
        #expect(DurationParser.readable(nanoseconds: 684_319_336) == "684.319ms")
        #expect(DurationParser.readable(nanoseconds: 12_000) == "12us")
        #expect(DurationParser.readable(nanoseconds: 1_500_000_000) == "1.5s")
        #expect(DurationParser.readable(nanoseconds: 120_000_000_000) == "2m")
        #expect(DurationParser.readable(nanoseconds: 90_000_000_000) == "90s")
        #expect(DurationParser.readable(nanoseconds: 0) == "0ns")
        #expect(DurationParser.readable(nanoseconds: -250_000_000) == "-250ms")
    }

    @Test func parsesBackWithinRounding() throws {
        for ns: Int64 in [1, 999, 1_234_567, 2_515_996_189, 59_999_999_999] {
            let back = try DurationParser.nanoseconds(DurationParser.readable(nanoseconds: ns))
            #expect(abs(back - ns) <= max(1, ns / 1000), "\(ns)")
        }
    }
}
