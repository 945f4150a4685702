import RiftChecker
import RiftHistory

extension HTMLReportSections {
    /// Each `lost_writes` check, one row per set: acknowledged adds split into kept and lost (a
    /// bar, lost in red), indeterminate adds recovered, unexpected elements, and the first lost
    /// elements. Drawn from the check's result (`per_key`); nothing when no such check ran.
    static func lostWrites(_ page: Page) -> String {
        var html = ""
        for outcome in page.record.checks where outcome.spec.kind == .lostWrites {
            guard let r = outcome.result, let perKey = r.details["per_key"]?.objectValue, !perKey.isEmpty else { continue }
            html += "<h2>Lost writes: \(HTMLReport.escape(outcome.spec.name))</h2>"
            html += "<p>\(HTMLReport.escape(r.summary)). Per set: acknowledged adds judged against the set's final read (kept in blue, lost in red), indeterminate adds found in it (recovered), and elements no add wrote (unexpected).</p>"
            html += "<table id='lost-writes'><tr><th>set</th><th>ok adds</th><th></th><th>lost</th><th>recovered</th><th>unexpected</th><th>first lost</th></tr>"
            for key in perKey.keys.sorted() {
                guard let s = perKey[key]?.objectValue else { continue }
                let ok = s["ok_adds"]?.intValue ?? 0, lost = s["lost"]?.intValue ?? 0
                let recovered = s["recovered"]?.intValue ?? 0, unexpected = s["unexpected"]?.intValue ?? 0
                let recoveredOf = s["info_adds"]?.intValue.map { " of \($0)" } ?? ""
                let firstLost = s["first_lost"].map { v -> String in
                    guard case .list(let items) = v, !items.isEmpty else { return "" }
                    return items.map(\.description).joined(separator: ", ") + (lost > Int64(items.count) ? ", …" : "")
                } ?? ""
                let name = key.isEmpty ? "(single set)" : key
                html += "<tr><td>\(HTMLReport.escape(name))</td><td>\(ok)</td><td>\(bar(ok: ok, lost: lost))</td>"
                html += "<td\(lost > 0 ? " class='bad'" : "")>\(lost)</td><td>\(recovered)\(recoveredOf)</td>"
                html += "<td\(unexpected > 0 ? " class='bad'" : "")>\(unexpected)</td><td>\(HTMLReport.escape(firstLost))"
                if let missing = s["missing"]?.stringValue { html += " <em>unknown: \(HTMLReport.escape(missing))</em>" }
                html += "</td></tr>"
            }
            html += "</table>"
        }
        return html
    }

    /// A 200-pixel bar of one set's acknowledged adds: kept, then lost.
    static func bar(ok: Int64, lost: Int64) -> String {
        let width = 200.0
        guard ok > 0 else { return "<svg class='lost-bar' width='\(Int(width))' height='12'></svg>" }
        let lostWidth = width * Double(lost) / Double(ok)
        var svg = "<svg class='lost-bar' xmlns='http://www.w3.org/2000/svg' width='\(Int(width))' height='12'>"
        svg += "<rect x='0' y='1' width='\(HTMLReport.f(width - lostWidth))' height='10' fill='#1f77b4'><title>\(ok - lost) kept</title></rect>"
        if lost > 0 {
            svg += "<rect class='lost' x='\(HTMLReport.f(width - lostWidth))' y='1' width='\(HTMLReport.f(max(lostWidth, 1)))' height='10' fill='#d62728'><title>\(lost) lost</title></rect>"
        }
        return svg + "</svg>"
    }
}
