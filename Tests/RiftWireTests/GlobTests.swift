import RiftWire
import Testing

@Suite struct GlobTests {
    @Test func globsFollowRedisRules() {
        let cases: [(String, String, Bool)] = [
            ("*", "", true), ("user:*", "user:1", true), ("user:*", "usr:1", false), ("h?llo", "hello", true),
            ("h[ae]llo", "hallo", true), ("h[^e]llo", "hello", false), ("h[a-c]llo", "hbllo", true),
            ("a\\*", "a*", true), ("a\\*", "ab", false), ("*a*b", "xxaxxb", true), ("*a*b", "xxaxxbc", false),
        ]
        for (pattern, text, expected) in cases {
            #expect(Glob.matches(pattern, Array(text.utf8)) == expected, "\(pattern) ~ \(text)")
        }
    }
}
