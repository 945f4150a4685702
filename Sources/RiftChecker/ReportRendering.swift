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

extension CheckReport {
    /// `{"valid": true|false|"unknown", "checks": {name: {"valid": ..., ...details}}, ...}`
    /// `extra` adds top-level fields (the CLI adds the time spent reading the file).
    public func json(includeTimings: Bool = true, extra: [String: HistoryValue] = [:]) -> String {
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
        return HistoryValue.object(top).description
    }

    /// A short readable summary; the first anomalies as operation tables.
    public func text(maxAnomaliesShown: Int = 3) -> String {
        var out = ""
        for w in warnings { out += "warning: \(w)\n" }
        out += "\(operations) operations checked in \(DurationParser.readable(nanoseconds: elapsedNs))\n"
        for c in checks {
            out += "\(c.kind.rawValue): \(c.verdict.rawValue.uppercased()) - \(c.summary)\n"
            for a in c.anomalies.prefix(maxAnomaliesShown) {
                out += "  \(a.message)\n"
                out += OperationTable.render(a.operations, roles: a.roles, indent: "    ")
            }
            if c.anomalyCount > min(maxAnomaliesShown, c.anomalies.count) {
                out += "  ... \(c.anomalyCount - min(maxAnomaliesShown, c.anomalies.count)) more\n"
            }
        }
        out += "verdict: \(verdict.rawValue.uppercased())\n"
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
                op.input.description, op.status.rawValue, op.status == .ok ? op.output.description : "?",
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
}
