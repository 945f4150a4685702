import RiftCore

/// Consistent hashing in the manner of ketama: each server owns `pointsPerServer` points on a
/// 32-bit ring, a key goes to the first point at or after its hash. Removing a server moves only
/// its keys (to the next points), which is what makes an ejected memcached node's keys land on
/// its neighbours and come back when it returns.
///
/// Hash: FNV-1a 64 through SplitMix64's finalizer, folded to 32 bits (libmemcached's ketama uses MD5; the distribution, not the
/// exact placement, is what the scenarios rely on).
public struct KetamaRing: Sendable {
    public static let pointsPerServer = 160
    /// Sorted (point, server index).
    let points: [(UInt32, Int)]
    public let servers: [String]

    /// `weights` (one per server, 1 when nil): a server with weight w has 160·w points (none at
    /// 0), as libmemcached's weighted ketama gives a heavier server more of the ring. Its first
    /// points stay where they were, so changing a weight moves only the keys of the points
    /// added or removed.
    public init(servers: [String], weights: [Double]? = nil) {
        self.servers = servers
        var p: [(UInt32, Int)] = []
        for (i, s) in servers.enumerated() {
            let count = Int((Double(Self.pointsPerServer) * max(weights?[i] ?? 1, 0)).rounded())
            for k in 0..<count { p.append((Self.hash("\(s)-\(k)"), i)) }
        }
        points = p.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
    }

    /// Weights that move every one of `keys` off server `from`: `from`'s weight goes down and
    /// `to`'s up by the same amount, a twentieth of `from`'s at a time, until none of the keys
    /// lands on `from` (at the latest when `from` has no weight left). Where a key lands is the
    /// ring's choice (the next point clockwise), not necessarily `to`.
    public static func weights(moving keys: [String], servers: [String], weights: [Double], from: Int, to: Int) -> [Double] {
        var w = weights
        let step = weights[from] / 20
        for k in 1...20 {
            w[from] = k == 20 ? 0 : weights[from] - Double(k) * step
            w[to] = weights[to] + Double(k) * step
            let ring = KetamaRing(servers: servers, weights: w)
            if keys.allSatisfy({ ring.server(for: $0) != from }) { break }
        }
        return w
    }

    public static func hash(_ text: String) -> UInt32 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        // FNV alone clusters short similar names ("r1", "r2"); a finalizer spreads them.
        let m = SplitMix64.mix(h)
        return UInt32(truncatingIfNeeded: m ^ (m >> 32))
    }

    /// The server for `key` among those `live` says are in; nil when none is.
    public func server(for key: String, live: (Int) -> Bool = { _ in true }) -> Int? {
        guard !points.isEmpty else { return nil }
        let h = Self.hash(key)
        var lo = 0, hi = points.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if points[mid].0 < h { lo = mid + 1 } else { hi = mid }
        }
        for step in 0..<points.count {
            let s = points[(lo + step) % points.count].1
            if live(s) { return s }
        }
        return nil
    }
}

/// libmemcached's auto-eject, per client: after `failureLimit` failures in a row a server is
/// ejected from the ring for `retryTimeoutNs`, then tried again. Pure: time is passed in.
public struct EjectionState: Sendable, Equatable {
    public let failureLimit: Int
    public let retryTimeoutNs: Int64
    var failures: [Int: Int] = [:]
    var ejectedUntil: [Int: Int64] = [:]

    public init(failureLimit: Int, retryTimeoutNs: Int64) {
        self.failureLimit = failureLimit
        self.retryTimeoutNs = retryTimeoutNs
    }

    public func isLive(_ server: Int, at nowNs: Int64) -> Bool {
        guard let until = ejectedUntil[server] else { return true }
        return nowNs >= until
    }

    public mutating func report(_ server: Int, ok: Bool, at nowNs: Int64) {
        if ok {
            failures[server] = 0
            ejectedUntil[server] = nil
            return
        }
        let n = (failures[server] ?? 0) + 1
        failures[server] = n
        if n >= failureLimit {
            ejectedUntil[server] = nowNs + retryTimeoutNs
            failures[server] = 0
        }
    }
}
