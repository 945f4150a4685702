/// Reproducible randomness. Every random decision in Rift (toxicity, jitter, loss, workloads)
/// draws from a generator derived from one run seed, so a run can be replayed from its seed.
///
/// The generator is xoshiro256**, seeded through SplitMix64 as its authors recommend.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var sm = SplitMix64(state: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    /// A generator for one named purpose under a run seed (`derive("proxy", "redis", "conn-3")`).
    /// Different labels give independent streams; the same labels give the same stream.
    public init(seed: UInt64, labels: String...) {
        self.init(seed: seed, labelList: labels)
    }

    public init(seed: UInt64, labelList: [String]) {
        var h = seed ^ 0x9E37_79B9_7F4A_7C15
        for label in labelList {
            for byte in label.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
            h = SplitMix64.mix(h ^ 0xFF)
        }
        self.init(seed: h)
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A double uniformly in [0, 1).
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}

/// SplitMix64: a tiny generator used to expand seeds and to mix hashes.
public struct SplitMix64: Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }
    /// The SplitMix64 finalizer: a well-mixed 64-bit hash of `z`.
    public static func mix(_ z0: UInt64) -> UInt64 {
        var z = z0
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
