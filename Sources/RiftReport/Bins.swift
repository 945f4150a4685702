import RiftCore
import RiftHistory

/// How an operation is drawn; a bin takes the colour of its highest-ranked mark, so one stale
/// read or one timeout among thousands of good reads still shows.
enum Mark: Int, CaseIterable {
    case writeOK, readOK, fail, info, staleShort, staleLong

    static func of(_ op: HistoryOperation, stale: Int64?) -> Mark {
        switch op.status {
        case .ok:
            if let ns = stale { return ns >= 100_000_000 ? .staleLong : .staleShort }
            return op.f == .read || op.f == .get ? .readOK : .writeOK
        case .fail: return .fail
        case .info: return .info
        }
    }

    var color: String {
        switch self {
        case .writeOK: "#1f77b4"
        case .readOK: "#2ca02c"
        case .fail: "#7f7f7f"
        case .info: "#9467bd"
        case .staleShort: "#ff9f1c"
        case .staleLong: "#d62728"
        }
    }

    var label: String {
        switch self {
        case .writeOK: "writes ok"
        case .readOK: "reads ok"
        case .fail: "fail"
        case .info: "info"
        case .staleShort: "stale < 100 ms"
        case .staleLong: "stale >= 100 ms"
        }
    }
}

/// Operations counted per row and pixel column, drawn as one rectangle per run of adjacent
/// columns of the same colour: a chart of any size costs at most rows x columns marks.
struct Bins {
    let columns: Int
    let rows: Int
    private var counts: [Int32]
    private var worstStale: [Int64]

    init(columns: Int, rows: Int) {
        self.columns = max(columns, 1)
        self.rows = rows
        counts = [Int32](repeating: 0, count: self.columns * rows * Mark.allCases.count)
        worstStale = [Int64](repeating: 0, count: self.columns * rows)
    }

    mutating func add(row: Int, column: Int, _ mark: Mark, staleNs: Int64 = 0) {
        guard row >= 0, row < rows else { return }
        let c = min(max(column, 0), columns - 1)
        let cell = row * columns + c
        counts[cell * Mark.allCases.count + mark.rawValue] += 1
        if staleNs > worstStale[cell] { worstStale[cell] = staleNs }
    }

    private func worst(_ cell: Int) -> Mark? {
        let base = cell * Mark.allCases.count
        return Mark.allCases.reversed().first { counts[base + $0.rawValue] > 0 }
    }

    /// `band(row)`: the y and height of a row's rectangles.
    func svg(band: (Int) -> (y: Double, height: Double)) -> String {
        var out = ""
        for row in 0..<rows {
            let (y, h) = band(row)
            var c = 0
            while c < columns {
                guard let m = worst(row * columns + c) else { c += 1; continue }
                var end = c + 1
                while end < columns, worst(row * columns + end) == m { end += 1 }
                var total = [Int](repeating: 0, count: Mark.allCases.count)
                var stale: Int64 = 0
                for col in c..<end {
                    let cell = row * columns + col
                    for k in Mark.allCases { total[k.rawValue] += Int(counts[cell * Mark.allCases.count + k.rawValue]) }
                    stale = max(stale, worstStale[cell])
                }
                let tip = Mark.allCases.filter { total[$0.rawValue] > 0 }.map { "\(total[$0.rawValue]) \($0.label)" }.joined(separator: ", ")
                    + (stale > 0 ? "; worst stale \(DurationParser.readable(nanoseconds: stale))" : "")
                out += "<rect x='\(c)' y='\(HTMLReport.f(y))' width='\(end - c)' height='\(HTMLReport.f(h))' fill='\(m.color)'><title>\(tip)</title></rect>"
                c = end
            }
        }
        return out
    }
}
