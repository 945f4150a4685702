import RiftHistory

/// How long the regions disagreed about each key: the seed's "regional divergence" as the
/// clients saw it. A region's latest observed value of a key is the value its clients' latest
/// ok read returned (by completion time; an absent key is a value too). A key diverges while at
/// least two regions have observed it and their latest values are not all equal; an episode
/// lasts from the read that made them differ to the read that made them agree again (or the
/// history's last completion). Reads sample the regions' state, so an episode is as long as the
/// reads show, not shorter than the gap between them.
public struct Divergence: Sendable, Equatable, Codable {
    /// One key's episodes.
    public struct KeyDivergence: Sendable, Equatable, Codable {
        public var key: String
        public var episodes: Int
        /// The longest episode.
        public var maxNs: Int64
        /// The 99th percentile of the episodes' lengths.
        public var p99Ns: Int64
        /// Every episode's length, summed.
        public var totalNs: Int64
        /// The episodes as `[start, end]` in history time (at most `maxIntervals`, the longest
        /// kept), for the report's chart.
        public var intervals: [[Int64]]

        enum CodingKeys: String, CodingKey {
            case key, episodes, intervals
            case maxNs = "max_ns", p99Ns = "p99_ns", totalNs = "total_ns"
        }
    }

    /// The client regions whose reads were compared.
    public var regions: [String]
    /// Keys observed by at least two regions.
    public var keys: Int
    public var episodes: Int
    /// The longest episode of any key.
    public var maxNs: Int64
    /// The 99th percentile of every episode's length.
    public var p99Ns: Int64
    /// Every key's divergent time, summed over the run.
    public var totalNs: Int64
    /// Per key, longest total first (at most `topCount`).
    public var perKey: [KeyDivergence]

    public static let topCount = 20
    public static let maxIntervals = 200

    enum CodingKeys: String, CodingKey {
        case regions, keys, episodes
        case maxNs = "max_ns", p99Ns = "p99_ns", totalNs = "total_ns", perKey = "per_key"
    }

    /// The divergence of `history`'s client regions (its `client_regions`); nil when fewer
    /// than two regions have clients or no key was read in two of them (nothing to compare: a
    /// set workload's only read is the harness's final one).
    public static func measure(_ history: PairedHistory) -> Divergence? {
        let regionOf = history.clientRegions
        let regions = Set(regionOf.values).sorted()
        guard regions.count >= 2 else { return nil }
        // Each key's observations in completion order.
        var observations: [String: [(time: Int64, region: String, value: HistoryValue)]] = [:]
        var end: Int64 = 0
        for op in history.operations {
            if let t = op.completeTime { end = max(end, t) }
            guard op.f == .read, op.status == .ok, let t = op.completeTime, let r = regionOf[op.process] else { continue }
            observations[op.key, default: []].append((t, r, op.output))
        }
        var perKey: [KeyDivergence] = [], all: [Int64] = [], keys = 0
        for (key, obs) in observations {
            var latest: [String: HistoryValue] = [:], start: Int64?
            var intervals: [[Int64]] = []
            for o in obs.sorted(by: { $0.time < $1.time }) {
                latest[o.region] = o.value
                let differ = latest.count >= 2 && Set(latest.values).count > 1
                if differ, start == nil { start = o.time }
                if !differ, let s = start { intervals.append([s, o.time]); start = nil }
            }
            if let s = start { intervals.append([s, max(end, s)]) }
            if latest.count >= 2 { keys += 1 }
            guard !intervals.isEmpty else { continue }
            let lengths = intervals.map { $0[1] - $0[0] }.sorted()
            all += lengths
            let kept = intervals.count <= maxIntervals ? intervals
                : intervals.sorted { $0[1] - $0[0] > $1[1] - $1[0] }.prefix(maxIntervals).sorted { $0[0] < $1[0] }
            perKey.append(KeyDivergence(key: key, episodes: intervals.count, maxNs: lengths.last ?? 0, p99Ns: percentile(lengths, 0.99),
                                        totalNs: lengths.reduce(0, +), intervals: kept))
        }
        guard keys > 0 else { return nil }
        all.sort()
        perKey.sort { ($0.totalNs, $1.key) > ($1.totalNs, $0.key) }
        return Divergence(regions: regions, keys: keys, episodes: all.count, maxNs: all.last ?? 0, p99Ns: percentile(all, 0.99),
                          totalNs: all.reduce(0, +), perKey: Array(perKey.prefix(topCount)))
    }
}
