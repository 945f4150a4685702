/// Redis-style glob matching over bytes: `*`, `?`, `[abc]`, `[a-z]`, `[^a]`, `\` escapes.
/// Frame faults match keys and channels with the pattern syntax redis users already know
/// from `KEYS` and `PSUBSCRIBE`. Iterative with one backtrack point: linear-ish, no recursion.
public enum Glob {
    public static func matches(_ pattern: String, _ text: some Collection<UInt8>) -> Bool {
        let p = Array(pattern.utf8)
        let t = Array(text)
        var pi = 0, ti = 0
        var starP = -1, starT = 0
        while ti < t.count {
            if pi < p.count, p[pi] == UInt8(ascii: "*") {
                starP = pi
                starT = ti
                pi += 1
                continue
            }
            if pi < p.count, let next = single(p, pi, t[ti]) {
                pi = next
                ti += 1
                continue
            }
            guard starP >= 0 else { return false }
            pi = starP + 1
            starT += 1
            ti = starT
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    /// Matches one byte against the pattern element at `pi`; returns the next pattern index.
    private static func single(_ p: [UInt8], _ pi: Int, _ c: UInt8) -> Int? {
        switch p[pi] {
        case UInt8(ascii: "?"):
            return pi + 1
        case UInt8(ascii: "\\") where pi + 1 < p.count:
            return p[pi + 1] == c ? pi + 2 : nil
        case UInt8(ascii: "["):
            var i = pi + 1
            let negate = i < p.count && p[i] == UInt8(ascii: "^")
            if negate { i += 1 }
            var found = false
            while i < p.count && p[i] != UInt8(ascii: "]") {
                if p[i] == UInt8(ascii: "\\") && i + 1 < p.count {
                    if p[i + 1] == c { found = true }
                    i += 2
                } else if i + 2 < p.count && p[i + 1] == UInt8(ascii: "-") && p[i + 2] != UInt8(ascii: "]") {
                    if min(p[i], p[i + 2]) <= c && c <= max(p[i], p[i + 2]) { found = true }
                    i += 3
                } else {
                    if p[i] == c { found = true }
                    i += 1
                }
            }
            guard i < p.count else { return p[pi] == c ? pi + 1 : nil }  // no closing bracket: literal
            return found != negate ? i + 1 : nil
        default:
            return p[pi] == c ? pi + 1 : nil
        }
    }
}
