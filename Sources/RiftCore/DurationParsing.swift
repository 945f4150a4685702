import Foundation

/// One duration syntax for all of Rift: the CLI, scenario files, the API and the checker.
///
/// A duration is a non-negative decimal number followed by a unit: `ns`, `us`, `ms`, `s` or `m`
/// (`250ms`, `1.5s`, `1500us`, `2m`). A bare `0` is accepted; any other number needs a unit,
/// because "10" silently meaning milliseconds in one place and seconds in another is how
/// fault scripts go wrong.
public enum DurationParser {
    public struct Failure: Error, Equatable, CustomStringConvertible, Sendable {
        public var input: String
        public var reason: String
        public var description: String { "invalid duration '\(input)': \(reason) (write e.g. 250ms, 10s, 2m)" }
    }

    private static let units: [(suffix: String, nanoseconds: Double)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000),
    ]

    /// Parses `text` into whole nanoseconds.
    public static func nanoseconds(_ text: String) throws(Failure) -> Int64 {
        let trimmed = text.trimmingWhitespace()
        if trimmed == "0" { return 0 }
        guard !trimmed.isEmpty else { throw Failure(input: text, reason: "empty") }
        // Longest suffix first so that "ms" is not read as "m" + "s".
        for (suffix, scale) in units.sorted(by: { $0.suffix.count > $1.suffix.count }) where trimmed.hasSuffix(suffix) {
            let number = String(trimmed.dropLast(suffix.count))
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(number) else {
                throw Failure(input: text, reason: "'\(number)' is not a non-negative number")
            }
            let ns = value * scale
            guard ns.isFinite, ns <= Double(Int64.max / 2) else { throw Failure(input: text, reason: "too large") }
            return Int64(ns.rounded())
        }
        if trimmed.allSatisfy({ $0.isNumber || $0 == "." }) {
            throw Failure(input: text, reason: "missing unit (ns, us, ms, s or m)")
        }
        throw Failure(input: text, reason: "unknown unit")
    }

    /// Parses `text` into a `Duration`.
    public static func duration(_ text: String) throws(Failure) -> Duration {
        .nanoseconds(try nanoseconds(text))
    }

    /// Formats nanoseconds for people: the largest unit in which the value is at least 1,
    /// rounded to at most three decimals (`2.516s`, `684.319ms`, `12us`). Parses back to
    /// within the rounding; use `format` where the exact value matters.
    public static func readable(nanoseconds ns: Int64) -> String {
        let sign = ns < 0 ? "-" : ""
        let magnitude = Double(ns.magnitude)
        for (unit, scale) in [("m", 60e9), ("s", 1e9), ("ms", 1e6), ("us", 1e3)] where magnitude >= scale {
            if unit == "m", ns.magnitude % 60_000_000_000 != 0 { continue }
            var text = String(format: "%.3f", magnitude / scale)
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            return sign + text + unit
        }
        return "\(ns)ns"
    }

    /// Formats nanoseconds exactly, in the largest unit that needs at most three decimals
    /// (`1.5s`, `250ms`, `1.234ms`, `12us`), so that `format` and `nanoseconds` round-trip.
    public static func format(nanoseconds ns: Int64) -> String {
        let sign = ns < 0 ? "-" : ""
        let magnitude = ns.magnitude
        if magnitude >= 60_000_000_000, magnitude % 60_000_000_000 == 0 { return "\(sign)\(magnitude / 60_000_000_000)m" }
        for (unit, scale) in [("s", UInt64(1_000_000_000)), ("ms", 1_000_000), ("us", 1_000)] where magnitude >= scale {
            guard magnitude % (scale / 1000) == 0 else { continue }
            let whole = magnitude / scale, thousandths = (magnitude % scale) / (scale / 1000)
            if thousandths == 0 { return "\(sign)\(whole)\(unit)" }
            var fraction = String(thousandths)
            fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
            while fraction.hasSuffix("0") { fraction.removeLast() }
            return "\(sign)\(whole).\(fraction)\(unit)"
        }
        return "\(sign)\(magnitude)ns"
    }
}

extension Duration {
    /// Whole nanoseconds, saturating; Rift's histories and fault stages count in nanoseconds.
    public var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product &+ attoseconds / 1_000_000_000
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s.removeFirst() }
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return String(s)
    }
}
