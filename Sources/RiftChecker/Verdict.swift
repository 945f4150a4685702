/// A check's outcome. Verdicts compose: invalid beats unknown beats valid, so a timeout or an
/// unsupported history can never turn into a pass.
public enum Verdict: String, Sendable, Hashable, Comparable {
    case valid, unknown, invalid

    private var rank: Int {
        switch self {
        case .valid: 0
        case .unknown: 1
        case .invalid: 2
        }
    }

    public static func < (a: Verdict, b: Verdict) -> Bool { a.rank < b.rank }

    /// The combination of two verdicts: the worse one.
    public func combined(with other: Verdict) -> Verdict { max(self, other) }

    /// The worst of `verdicts`; `unknown` when there are none: a run or report with no check
    /// shows nothing, so it must never read as a pass.
    public static func combine<S: Sequence>(_ verdicts: S) -> Verdict where S.Element == Verdict {
        var it = verdicts.makeIterator()
        guard let first = it.next() else { return .unknown }
        var v = first
        while let next = it.next() { v = v.combined(with: next) }
        return v
    }
}
