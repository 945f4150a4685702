import RiftCore
import RiftHistory

extension Verdict {
    /// JSON form: true, false or "unknown".
    public var jsonValue: HistoryValue {
        switch self {
        case .valid: .bool(true)
        case .invalid: .bool(false)
        case .unknown: .string("unknown")
        }
    }
}

extension Verdict {
    /// The one label tables, pages and the CLI print: PASS, FAIL or UNKNOWN.
    public var label: String {
        switch self {
        case .valid: "PASS"
        case .invalid: "FAIL"
        case .unknown: "UNKNOWN"
        }
    }

    init?(json: HistoryValue?) {
        switch json {
        case .bool(true)?: self = .valid
        case .bool(false)?: self = .invalid
        case .string("unknown")?: self = .unknown
        default: return nil
        }
    }
}

/// `{"valid": true|false|"unknown", "checks": {name: {"valid": ..., ...details}}, ...}`: `rift
/// check --json`, and each check's `report` in result.json, written and read back by this code.
extension CheckReport: Codable {
    /// `extra` adds top-level fields (the CLI adds the time spent reading the file).
    public func json(includeTimings: Bool = true, extra: [String: HistoryValue] = [:]) -> String {
        jsonValue(includeTimings: includeTimings, extra: extra).description
    }

    public func jsonValue(includeTimings: Bool = true, extra: [String: HistoryValue] = [:]) -> HistoryValue {
        var checksObject: [String: HistoryValue] = [:]
        for c in checks {
            var o = c.details
            o["valid"] = c.verdict.jsonValue
            o["summary"] = .string(c.summary)
            o["anomalies"] = .int(Int64(c.anomalyCount))
            if !c.anomalies.isEmpty {
                o["first_anomalies"] = .list(c.anomalies.map { a in
                    .object(["kind": .string(a.kind), "message": .string(a.message), "operations": .list(a.operations.map(\.jsonValue)),
                             "roles": .list(a.roles.map { .string($0) })])
                })
            }
            checksObject[c.kind.rawValue] = .object(o)
        }
        var top: [String: HistoryValue] = ["valid": verdict.jsonValue, "checks": .object(checksObject), "operations": .int(Int64(operations))]
        if includeTimings {
            top["elapsed_ns"] = .int(elapsedNs)
            top["cpu_ns"] = .int(cpuNs)
        }
        for (k, v) in extra { top[k] = v }
        if !warnings.isEmpty { top["warnings"] = .list(warnings.map { .string($0) }) }
        return .object(top)
    }

    /// Reads `jsonValue()` back; nil names what is missing.
    public init(jsonValue value: HistoryValue) throws(CheckSettingsError) {
        guard let top = value.objectValue, let verdict = Verdict(json: top["valid"]) else {
            throw CheckSettingsError(field: "report.valid", message: "expected true, false or \"unknown\"")
        }
        var checks: [CheckResult] = []
        for (name, v) in (top["checks"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard var o = v.objectValue, let cv = Verdict(json: o["valid"]) else {
                throw CheckSettingsError(field: "report.checks.\(name).valid", message: "expected true, false or \"unknown\"")
            }
            let summary = o["summary"]?.stringValue ?? ""
            let count = Int(o["anomalies"]?.intValue ?? 0)
            var anomalies: [Anomaly] = []
            for a in o["first_anomalies"]?.listValue ?? [] {
                guard let a = a.objectValue else { continue }
                let ops = try (a["operations"]?.listValue ?? []).map { v throws(CheckSettingsError) in
                    guard let op = HistoryOperation(jsonValue: v) else {
                        throw CheckSettingsError(field: "report.checks.\(name).first_anomalies", message: "an operation lacks id, f, status or invoke_time")
                    }
                    return op
                }
                anomalies.append(Anomaly(kind: a["kind"]?.stringValue ?? "", message: a["message"]?.stringValue ?? "", operations: ops,
                                         roles: (a["roles"]?.listValue ?? []).compactMap(\.stringValue)))
            }
            for k in ["valid", "summary", "anomalies", "first_anomalies"] { o[k] = nil }
            checks.append(CheckResult(kind: CheckKind(rawValue: name), verdict: cv, summary: summary, details: o, anomalies: anomalies, anomalyCount: count))
        }
        self.init(checks: checks, operations: Int(top["operations"]?.intValue ?? 0), warnings: (top["warnings"]?.listValue ?? []).compactMap(\.stringValue),
                  elapsedNs: top["elapsed_ns"]?.intValue ?? 0, cpuNs: top["cpu_ns"]?.intValue ?? 0)
        self.verdict = verdict
    }

    public func encode(to encoder: any Encoder) throws { try jsonValue().encode(to: encoder) }

    public init(from decoder: any Decoder) throws {
        do { try self.init(jsonValue: try HistoryValue(from: decoder)) } catch let e as CheckSettingsError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: e.description))
        }
    }
}

extension CheckReport {
    /// A short readable summary; the first anomalies as operation tables.
    public func text(maxAnomaliesShown: Int = 3) -> String {
        var out = ""
        for w in warnings { out += "warning: \(w)\n" }
        out += "\(operations) operations checked in \(DurationParser.readable(nanoseconds: elapsedNs))\n"
        for c in checks {
            out += "\(c.kind.rawValue): \(c.verdict.label) - \(c.summary)\n"
            for a in c.anomalies.prefix(maxAnomaliesShown) {
                out += "  \(a.message)\n"
                out += OperationTable.render(a.operations, roles: a.roles, indent: "    ")
            }
            if c.anomalyCount > min(maxAnomaliesShown, c.anomalies.count) {
                out += "  ... \(c.anomalyCount - min(maxAnomaliesShown, c.anomalies.count)) more\n"
            }
        }
        out += "verdict: \(verdict.label)\n"
        return out
    }
}

extension HistoryOperation {
    var jsonValue: HistoryValue {
        var o: [String: HistoryValue] = [
            "id": .int(Int64(id)), "process": process.jsonValue, "f": .string(f.rawValue), "key": .string(key),
            "input": input, "status": .string(status.rawValue), "invoke_time": .int(invokeTime),
            "complete_time": completeTime.map { .int($0) } ?? .null, "line": .int(Int64(invokeLine)),
        ]
        if status == .ok { o["output"] = output }
        if let node { o["node"] = .string(node) }
        return .object(o)
    }
}

extension HistoryOperation {
    /// Reads `jsonValue` back (anomalies' operations in result.json).
    init?(jsonValue v: HistoryValue) {
        guard let o = v.objectValue, let id = o["id"]?.intValue, let f = o["f"]?.stringValue.flatMap(OpFunction.init(rawValue:)),
              let status = o["status"]?.stringValue.flatMap(OpStatus.init(rawValue:)), let invoked = o["invoke_time"]?.intValue else { return nil }
        let process: ProcessID
        switch o["process"] {
        case .int(let n)?: process = .client(n)
        case .string(let s)?: process = .named(s)
        default: return nil
        }
        self.init(id: Int(id), process: process, f: f, key: o["key"]?.stringValue ?? "", input: o["input"] ?? .null, output: o["output"] ?? .null,
                  status: status, invokeTime: invoked, completeTime: o["complete_time"]?.intValue, node: o["node"]?.stringValue,
                  invokeLine: Int(o["line"]?.intValue ?? 0))
    }
}

extension ProcessID {
    var jsonValue: HistoryValue {
        switch self {
        case .client(let n): .int(n)
        case .named(let s): .string(s)
        }
    }
}

/// Operations as an aligned text table.
public enum OperationTable {
    public static func render(_ ops: [HistoryOperation], roles: [String] = [], indent: String = "") -> String {
        let withRoles = roles.count == ops.count && !roles.isEmpty
        let header = (withRoles ? ["role"] : []) + ["id", "line", "process", "node", "f", "key", "input", "status", "output", "invoked", "completed"]
        var rows = [header]
        for (i, op) in ops.enumerated() {
            rows.append((withRoles ? [roles[i]] : []) + [
                String(op.id), String(op.invokeLine), op.process.description, op.node ?? "-", op.f.rawValue, op.key.isEmpty ? "-" : op.key,
                cell(op.input), op.status.rawValue, op.status == .ok ? cell(op.output) : "?",
                String(op.invokeTime), op.completeTime.map(String.init) ?? "never",
            ])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = ""
        for r in rows {
            var line = indent
            for (i, c) in r.enumerated() {
                line += c + String(repeating: " ", count: widths[i] - c.count + (i == r.count - 1 ? 0 : 2))
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }

    /// Longest value shown in a cell; a longer one (a set's final read) is cut at an element.
    static let maxCell = 80

    /// The value as written, or a list's first elements and how many more there are.
    static func cell(_ value: HistoryValue) -> String {
        let text = value.description
        guard text.count > maxCell, case .list(let items) = value else { return text }
        var shown = "[", n = 0
        for item in items {
            let next = (n == 0 ? "" : ",") + item.description
            if shown.count + next.count > maxCell - 30 { break }  // room for the count (up to 7 digits twice)
            shown += next
            n += 1
        }
        return shown + (n == 0 ? "" : ",") + "... \(items.count - n) more of \(items.count)]"
    }
}
