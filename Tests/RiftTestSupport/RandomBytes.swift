import RiftCore

extension SeededRandom {
    /// `count` reproducible pseudo-random bytes: test payloads that are binary (CR, LF, NUL,
    /// every byte value) yet identical on every run of the same seed.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = next()
            for _ in 0..<min(8, count - index) {
                result[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return result
    }
}
