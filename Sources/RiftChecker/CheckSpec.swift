import Foundation
import RiftCore
import RiftHistory

/// One check as a scenario names it: a name, a window, whether its bounds scale with the run,
/// and the typed check with its settings. In result.json it is one flat object:
/// `{"name": ..., "check": "staleness", "from": "heal+2s", "max_staleness_ns": ..., ...}`.
public struct CheckSpec: Sendable, Codable {
    public var name: String
    /// Window edges as written (`heal+2s`, `start`, nanoseconds); nil: the whole history.
    public var from: String?
    public var until: String?
    /// Judge only this region's clients' reads (against every write); nil: every client's.
    public var region: String?
    /// The bounds marked to scale follow the timeline (`--duration`/`--scale`).
    public var scaled: Bool
    public var check: any Check
    /// Where the check is written in its scenario file, for messages (not in JSON).
    public var line = 0
    public var column = 0

    public init(name: String? = nil, check: any Check, from: String? = nil, until: String? = nil, scaled: Bool = false, region: String? = nil) {
        self.name = name ?? type(of: check).kind.rawValue
        self.check = check
        self.from = from
        self.until = until
        self.scaled = scaled
        self.region = region
    }

    public var kind: CheckKind { type(of: check).kind }

    /// The spec as it runs at `scale`: bounds that scale multiplied (when `scaled`).
    public func scaled(by factor: Double) -> CheckSpec {
        var s = self
        if scaled && factor != 1 { s.check = check.scaled(by: factor) }
        return s
    }

    /// The window in `history`; fails when an edge names a nemesis event the history lacks.
    public func window(in history: PairedHistory) throws(WindowBound.Failure) -> TimeWindow {
        TimeWindow(from: try from.map(WindowBound.parse)?.resolve(in: history) ?? .min,
                   until: try until.map(WindowBound.parse)?.resolve(in: history) ?? .max)
    }

    /// `begin .. heal`, as tables show a window (`, eu reads` when scoped to a region).
    /// `heal+2s .. end, eu reads`: the window and, scoped to a region, what of it is judged
    /// (`lost_writes` judges the region's adds, every other check its reads).
    public var windowLabel: String {
        "\(from ?? "begin") .. \(until ?? "end")" + (region.map { ", \($0) " + (kind == .lostWrites ? "adds" : "reads") } ?? "")
    }

    /// The settings that are set, as a table shows them (`max_staleness 13s, node n3`).
    public var settingsLabel: String {
        let fields = check.labelledSettings
        return fields.isEmpty ? "-" : fields.joined(separator: ", ")
    }

    // MARK: JSON

    /// The flat JSON object (result.json's checks entries, before the outcome's fields).
    public var json: [String: HistoryValue] {
        var o = check.settingsJSON
        o["name"] = .string(name)
        o["check"] = .string(kind.rawValue)
        if let from { o["from"] = .string(from) }
        if let until { o["until"] = .string(until) }
        if let region { o["region"] = .string(region) }
        if scaled { o["scaled"] = .bool(true) }
        return o
    }

    /// Reads the flat object back; a field that is wrong is named in the error.
    public init(json o: [String: HistoryValue]) throws(CheckSettingsError) {
        guard let name = o["check"]?.stringValue else { throw CheckSettingsError(field: "check", message: "missing") }
        guard let type = CheckRegistry.type(named: name) else {
            throw CheckSettingsError(field: "check", message: "unknown check '\(name)' (known: \(CheckRegistry.names.joined(separator: ", ")))")
        }
        check = try type.fromJSON(o)
        self.name = o["name"]?.stringValue ?? name
        from = o["from"]?.stringValue
        until = o["until"]?.stringValue
        region = o["region"]?.stringValue
        scaled = o["scaled"] == .bool(true)
        for (field, text) in [("from", from), ("until", until)] {
            guard let text else { continue }
            do throws(WindowBound.Failure) { _ = try WindowBound.parse(text) } catch {
                throw CheckSettingsError(field: field, message: error.description)
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try HistoryValue.object(json).encode(to: encoder)
    }

    public init(from decoder: any Decoder) throws {
        guard case .object(let o) = try HistoryValue(from: decoder) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a check is a JSON object"))
        }
        do { try self.init(json: o) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }
}

extension Check {
    /// `name value` for each setting that is set, durations readable.
    public var labelledSettings: [String] {
        Self.fields.compactMap { f -> String? in
            guard f.inScenario, let v = f.json(self) else { return nil }
            if case .duration = f.value, let ns = v.intValue { return "\(f.name) \(DurationParser.readable(nanoseconds: ns))" }
            if case .string(let s) = v { return "\(f.name) \(s)" }
            return "\(f.name) \(v)"
        }
    }
}

/// One check's outcome in a run: the spec as it ran (bounds scaled), the checker's report, or
/// why it could not run. result.json's `checks` entries: the spec's fields, `valid`, `error`
/// and `report`.
public struct CheckOutcome: Sendable, Codable {
    public var spec: CheckSpec
    public var report: CheckReport?
    /// Why the check could not run (a window naming a nemesis event the history lacks).
    public var error: String?

    public init(spec: CheckSpec, report: CheckReport?, error: String? = nil) {
        self.spec = spec
        self.report = report
        self.error = error
    }

    /// No report is `unknown`: a check that did not run shows nothing.
    public var verdict: Verdict { report?.verdict ?? .unknown }

    /// The check's own result in its report.
    public var result: CheckResult? { report?[spec.kind] }

    enum Keys: String, CodingKey { case valid, error, report }

    public func encode(to encoder: any Encoder) throws {
        var o = spec.json
        o["valid"] = verdict.jsonValue
        if let error { o["error"] = .string(error) }
        if let report { o["report"] = report.jsonValue() }
        try HistoryValue.object(o).encode(to: encoder)
    }

    public init(from decoder: any Decoder) throws {
        spec = try CheckSpec(from: decoder)
        let c = try decoder.container(keyedBy: Keys.self)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        report = try c.decodeIfPresent(CheckReport.self, forKey: .report)
    }
}
