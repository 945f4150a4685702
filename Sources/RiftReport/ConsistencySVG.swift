import Foundation
import RiftChecker
import RiftCore
import RiftHistory

extension HTMLReportSections {
    /// The t-visibility curve of each `consistency` check: the fraction of reads consistent
    /// within T against T on a log axis (T = 0 drawn at the left edge), the check's own T
    /// marked. Drawn from the check's result (`t_visibility`); nothing when no such check ran.
    static func consistency(_ page: Page) -> String {
        var html = ""
        for outcome in page.record.checks where outcome.spec.kind == .consistency {
            guard let r = outcome.result, case .list(let raw)? = r.details["t_visibility"] else { continue }
            let points: [(t: Int64, fraction: Double)] = raw.compactMap { p in
                guard let o = p.objectValue, let t = o["within_ns"]?.intValue, let f = number(o["fraction"]) else { return nil }
                return (t, f)
            }
            guard points.count >= 2 else { continue }
            let within = r.details["within_ns"]?.intValue ?? 0
            html += "<h2>Consistency within T: \(HTMLReport.escape(outcome.spec.name))</h2>"
            html += "<p>\(HTMLReport.escape(r.summary)). The fraction of ok reads stale by at most T, against T (log axis; T = 0 at the left edge); dashed: the check's T.</p>"
            html += curve(points, within: within)
        }
        return html
    }

    private static func number(_ v: HistoryValue?) -> Double? {
        switch v {
        case .double(let d)?: d
        case .int(let i)?: Double(i)
        default: nil
        }
    }

    static func curve(_ points: [(t: Int64, fraction: Double)], within: Int64) -> String {
        let width = 700.0, height = 240.0, left = 50.0, right = 20.0, top = 10.0, bottom = 30.0
        // The log axis spans the positive windows; 0 sits one step left of the smallest.
        let positive = points.map(\.t).filter { $0 > 0 }
        let lo = log10(Double(positive.min() ?? 1)) - 0.5, hi = log10(Double(max(positive.max() ?? 10, 10)))
        func x(_ t: Int64) -> Double {
            let v = t > 0 ? log10(Double(t)) : lo
            return left + (v - lo) / max(hi - lo, 1e-9) * (width - left - right)
        }
        func y(_ f: Double) -> Double { top + (1 - f) * (height - top - bottom) }
        var svg = "<svg id='t-visibility' xmlns='http://www.w3.org/2000/svg' width='\(Int(width))' height='\(Int(height))' font-family='sans-serif' font-size='11'>"
        for f in [0.0, 0.5, 0.9, 0.99, 1.0] {
            svg += "<line x1='\(Int(left))' x2='\(Int(width - right))' y1='\(HTMLReport.f(y(f)))' y2='\(HTMLReport.f(y(f)))' stroke='#eee'/>"
            svg += "<text x='4' y='\(HTMLReport.f(y(f) + 4))'>\(f)</text>"
        }
        var decade = 1_000.0
        while decade <= pow(10, hi) {
            let t = Int64(decade)
            svg += "<text x='\(HTMLReport.f(x(t)))' y='\(Int(height) - 10)' text-anchor='middle' fill='#666'>\(DurationParser.readable(nanoseconds: t))</text>"
            decade *= 10
        }
        svg += "<line x1='\(HTMLReport.f(x(within)))' x2='\(HTMLReport.f(x(within)))' y1='\(Int(top))' y2='\(Int(height - bottom))' stroke='#c22' stroke-dasharray='6,4'/>"
        // A step curve: the fraction holds from one window to the next.
        var path = "M\(HTMLReport.f(x(points[0].t))),\(HTMLReport.f(y(points[0].fraction)))"
        for (a, b) in zip(points, points.dropFirst()) {
            path += " L\(HTMLReport.f(x(b.t))),\(HTMLReport.f(y(a.fraction))) L\(HTMLReport.f(x(b.t))),\(HTMLReport.f(y(b.fraction)))"
        }
        svg += "<path d='\(path)' fill='none' stroke='#1f77b4' stroke-width='1.5'/>"
        for p in points {
            svg += "<circle cx='\(HTMLReport.f(x(p.t)))' cy='\(HTMLReport.f(y(p.fraction)))' r='2' fill='#1f77b4'><title>within \(DurationParser.readable(nanoseconds: p.t)): \(p.fraction)</title></circle>"
        }
        return svg + "</svg>"
    }
}
