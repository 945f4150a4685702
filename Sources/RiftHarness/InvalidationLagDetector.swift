/// What one invalidator knows of its channels' health: the runbook's "invalidation lag", found
/// from the messages alone. Pure: the invalidator feeds it messages and the times it read them,
/// and asks whether a family is lagging.
///
/// Per key family (one channel each) it keeps the last sequence number seen and when the
/// channel was last heard. Evidence of lag is:
/// - a gap: a change whose sequence number skips some, or a heartbeat naming a later one than
///   seen (changes were lost, by a dropped message, a failed publish or a reconnection);
/// - a late change: read more than `maxLagNs` after the origin took it;
/// - silence: nothing read on the channel for `maxLagNs` (the origin's heartbeats stopped
///   arriving: a blackholed or slow link).
///
/// A family lags from the evidence until `holdNs` after the last of it.
public struct InvalidationLagDetector: Sendable, Equatable {
    public enum Evidence: Sendable, Equatable {
        /// `missed` changes never arrived.
        case gap(missed: Int64)
        case late(byNs: Int64)
        case silent(forNs: Int64)

        public var isGap: Bool {
            if case .gap = self { return true }
            return false
        }
    }

    struct Channel: Sendable, Equatable {
        var lastSeq: Int64 = 0
        var heardNs: Int64
        var laggingUntilNs: Int64 = .min
    }

    public let maxLagNs: Int64
    public let holdNs: Int64
    private(set) var channels: [Int: Channel]

    /// Watches `families`, each heard last at `startNs` (when the invalidator subscribed).
    public init(families: [Int], maxLagNs: Int64, holdNs: Int64, startNs: Int64) {
        self.maxLagNs = maxLagNs
        self.holdNs = holdNs
        channels = Dictionary(uniqueKeysWithValues: families.map { ($0, Channel(heardNs: startNs)) })
    }

    /// A message read on `family`'s channel at `nowNs`: the evidence it gives, nil when none. A
    /// change with a sequence number already seen (a repeat) gives none and moves nothing back.
    public mutating func observe(_ message: BusMessage, family: Int, nowNs: Int64) -> Evidence? {
        guard var c = channels[family] else { return nil }
        c.heardNs = nowNs
        var evidence: Evidence?
        switch message {
        case .change(let seq, let originNs, _, _):
            if seq > c.lastSeq + 1 {
                evidence = .gap(missed: seq - c.lastSeq - 1)
            } else if nowNs - originNs > maxLagNs {
                evidence = .late(byNs: nowNs - originNs)
            }
        case .heartbeat(let seq, _):
            if seq > c.lastSeq { evidence = .gap(missed: seq - c.lastSeq) }
        }
        c.lastSeq = max(c.lastSeq, message.seq)
        if evidence != nil { c.laggingUntilNs = nowNs + holdNs }
        channels[family] = c
        return evidence
    }

    /// Families silent for `maxLagNs` at `nowNs`, each with how long; each counts as heard now,
    /// so a silence is reported once per `maxLagNs`.
    public mutating func silences(nowNs: Int64) -> [(family: Int, forNs: Int64)] {
        var out: [(Int, Int64)] = []
        for (family, var c) in channels where nowNs - c.heardNs >= maxLagNs {
            out.append((family, nowNs - c.heardNs))
            c.heardNs = nowNs
            c.laggingUntilNs = nowNs + holdNs
            channels[family] = c
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// When the next silence can be found: the earliest `heard + maxLagNs` over the families.
    public var nextSilenceNs: Int64 { channels.values.map { $0.heardNs + maxLagNs }.min() ?? .max }

    public func isLagging(_ family: Int, atNs: Int64) -> Bool { (channels[family]?.laggingUntilNs ?? .min) > atNs }

    /// Until when `family` lags (`.min`: it never has).
    public func laggingUntil(_ family: Int) -> Int64 { channels[family]?.laggingUntilNs ?? .min }
}
