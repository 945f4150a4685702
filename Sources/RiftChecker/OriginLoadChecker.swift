import RiftCore
import RiftHistory

/// Load on an origin of truth: a gauge of requests in flight, sampled over time, against a
/// ceiling (a miss storm is the origin's in-flight count shooting up when a cache node goes).
/// Pure: the samples come from whoever measured them.
public enum OriginLoadChecker {
    public struct Sample: Sendable, Equatable {
        public var timeNs: Int64
        /// In flight at the sample.
        public var inFlight: Int
        /// Highest in flight since the previous sample (the gauge keeps it exactly).
        public var peak: Int

        public init(timeNs: Int64, inFlight: Int = 0, peak: Int) {
            self.timeNs = timeNs
            self.inFlight = inFlight
            self.peak = peak
        }
    }

    /// Valid when every sample in `window` peaks at or under `maxInFlight`; unknown with no
    /// sample in the window (nothing was measured, so nothing is shown). Without a ceiling it
    /// only reports the peak.
    public static func check(_ samples: [Sample], window: TimeWindow, maxInFlight: Int?, maxAnomalies: Int = 10) -> CheckResult {
        let inWindow = samples.filter { window.contains($0.timeNs) }
        guard let top = inWindow.max(by: { $0.peak < $1.peak }) else {
            return CheckResult(kind: .originLoad, verdict: .unknown, summary: "no origin load samples in the window")
        }
        var details: [String: HistoryValue] = [
            "samples": .int(Int64(inWindow.count)), "peak_in_flight": .int(Int64(top.peak)), "peak_at_ns": .int(top.timeNs),
        ]
        guard let maxInFlight else {
            return CheckResult(kind: .originLoad, verdict: .valid, summary: "origin in flight peaked at \(top.peak)", details: details)
        }
        details["max_in_flight"] = .int(Int64(maxInFlight))
        let over = inWindow.filter { $0.peak > maxInFlight }
        let spanNs = (over.last?.timeNs ?? 0) - (over.first?.timeNs ?? 0)
        details["samples_over"] = .int(Int64(over.count))
        if over.isEmpty {
            return CheckResult(kind: .originLoad, verdict: .valid, summary: "origin in flight peaked at \(top.peak) <= \(maxInFlight)", details: details)
        }
        let anomaly = Anomaly(kind: "origin-overload",
                              message: "origin in flight peaked at \(top.peak) > \(maxInFlight); \(over.count) samples over the ceiling, the first at \(over[0].timeNs) ns, over \(DurationParser.readable(nanoseconds: spanNs))",
                              operations: [])
        return CheckResult(kind: .originLoad, verdict: .invalid,
                           summary: "origin in flight peaked at \(top.peak) > \(maxInFlight) (\(over.count) samples over)",
                           details: details, anomalies: Array([anomaly].prefix(maxAnomalies)), anomalyCount: 1)
    }
}

extension CheckKind {
    /// Requests in flight at an origin, from its gauge's samples (`CheckSeries.originInFlight`),
    /// not from the history's operations.
    public static let originLoad = CheckKind(rawValue: "origin_load")
}

/// `origin_load`: every gauge sample in the window at or under `max_inflight`.
public struct OriginLoadCheck: Check {
    public static let kind = CheckKind.originLoad
    public static var runsByDefault: Bool { false }
    public var maxInFlight: Int?

    public init() {}
    public init(maxInFlight: Int?) { self.maxInFlight = maxInFlight }

    public static var fields: [CheckField<Self>] { [.init("max_inflight", .count(\.maxInFlight, 0...1_000_000))] }

    public func run(_ context: CheckContext, window: TimeWindow) -> CheckResult? {
        guard let samples = context.series.originInFlight else {
            return context.named ? CheckResult(kind: Self.kind, verdict: .unknown, summary: "no origin gauge in this run (origin_load needs workload type: cache-aside)") : nil
        }
        return OriginLoadChecker.check(samples, window: window, maxInFlight: maxInFlight, maxAnomalies: context.maxAnomalies)
    }
}
