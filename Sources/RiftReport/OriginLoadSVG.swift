import RiftChecker
import RiftCore

extension HTMLReport {
    /// The cache-aside section of report.html: counts, and an inline SVG of origin requests in
    /// flight over time (each sample's peak since the previous one) with the cap as a dashed line.
    static func originLoadSection(_ r: CacheAsideRecord, faults: [(startNs: Int64, endNs: Int64, label: String)]) -> String {
        let s = r.stats
        var html = "<h2>Cache-aside: origin load</h2><p>origin peak in flight <b>\(r.peakInFlight)</b>"
        html += r.cap.map { ", cap \($0)" } ?? ", no cap"
        html += ", service time \(DurationParser.readable(nanoseconds: r.serviceTimeNs)); hits \(s.hits), misses \(s.misses), cache errors \(s.cacheErrors), "
        html += "<b>stale served \(s.staleServed)</b>, origin reads \(s.originReads), origin writes \(s.originWrites), over cap \(s.overCap), fills \(s.fills) (\(s.fillErrors) failed), "
        html += "invalidations \(s.invalidations) (\(s.invalidationErrors) failed)</p>"
        if s.busPublished + s.busLost > 0 {
            html += "<p>invalidation bus: published \(s.busPublished) (\(s.busLost) not sent), <b>missed \(s.busMissed)</b>, late \(s.busLate), "
            html += "silences \(s.busSilences); lag remedy: TTL cut \(s.ttlShortenings) times, <b>short-TTL fills \(s.shortTtlFills)</b></p>"
        }
        guard let first = r.samples.first, let last = r.samples.last else { return html + "<p>no origin samples</p>" }
        let width = 1000.0, height = 220.0, left = 60.0, bottom = 20.0, top = 10.0
        let span = Double(max(last.timeNs - first.timeNs, 1))
        let yMax = Double(max(r.samples.map(\.peak).max() ?? 1, r.cap ?? 0, 1)) * 1.1
        func x(_ t: Int64) -> Double { left + Double(t - first.timeNs) / span * (width - left - 10) }
        func y(_ v: Int) -> Double { height - bottom - Double(v) / yMax * (height - bottom - top) }
        // At most ~2000 points: each keeps the highest peak of its stretch of samples.
        let stride = max(1, r.samples.count / 2000)
        var points: [String] = []
        var i = 0
        while i < r.samples.count {
            let chunk = r.samples[i..<min(i + stride, r.samples.count)]
            let highest = chunk.max { $0.peak < $1.peak }!
            points.append("\(f(x(highest.timeNs))),\(f(y(highest.peak)))")
            i += stride
        }
        var svg = "<svg xmlns='http://www.w3.org/2000/svg' width='\(Int(width))' height='\(Int(height))' font-family='sans-serif' font-size='11'>"
        for w in faults {
            let x0 = x(max(w.startNs, first.timeNs)), x1 = x(min(w.endNs, last.timeNs))
            if x1 > x0 { svg += "<rect x='\(f(x0))' y='\(Int(top))' width='\(f(x1 - x0))' height='\(Int(height - bottom - top))' fill='#f6d7d7'><title>\(escape(w.label))</title></rect>" }
        }
        svg += "<line x1='\(Int(left))' x2='\(Int(width))' y1='\(f(y(0)))' y2='\(f(y(0)))' stroke='#999'/>"
        svg += "<text x='4' y='\(f(y(0)))'>0</text><text x='4' y='\(f(y(r.peakInFlight) + 4))'>\(r.peakInFlight)</text>"
        if let cap = r.cap {
            svg += "<line x1='\(Int(left))' x2='\(Int(width))' y1='\(f(y(cap)))' y2='\(f(y(cap)))' stroke='#c22' stroke-dasharray='6,4'/>"
            svg += "<text x='\(Int(width) - 80)' y='\(f(y(cap) - 4))' fill='#c22'>cap \(cap)</text>"
        }
        svg += "<polyline fill='none' stroke='#1f77b4' stroke-width='1.5' points='\(points.joined(separator: " "))'/>"
        for sec in 0...Int(span / 1e9) {
            svg += "<text x='\(f(x(first.timeNs + Int64(sec) * 1_000_000_000)))' y='\(Int(height) - 5)' text-anchor='middle' fill='#666'>\(sec)s</text>"
        }
        svg += "</svg>"
        return html + "<p>Origin requests in flight (blue; the highest of each sample interval), the cap (dashed red), faults (shaded).</p>" + svg
    }
}
