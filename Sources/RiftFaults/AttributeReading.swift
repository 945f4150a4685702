/// Typed reads of fault attributes with the checks every stage needs, so that each stage's
/// `init(attributes:)` states its fields and ranges and nothing else.
public struct AttributeReader {
    public let attributes: FaultAttributes

    public init(_ attributes: FaultAttributes) { self.attributes = attributes }

    /// An integer attribute; accepts whole doubles (JSON numbers) and numeric strings.
    public func int(_ key: String, default value: Int64, range: ClosedRange<Int64> = 0...Int64.max) throws(FaultConfigError) -> Int64 {
        guard let raw = attributes[key] else { return value }
        let parsed: Int64
        switch raw {
        case .int(let v): parsed = v
        case .double(let d):
            guard d.isFinite, d == d.rounded(), abs(d) < 9.0e18 else {
                throw FaultConfigError(field: key, reason: "expected a whole number, got \(d)")
            }
            parsed = Int64(d)
        case .string(let s):
            guard let v = Int64(s) else { throw FaultConfigError(field: key, reason: "expected a whole number, got '\(s)'") }
            parsed = v
        case .bool(let b):
            throw FaultConfigError(field: key, reason: "expected a whole number, got \(b)")
        }
        guard range.contains(parsed) else {
            throw FaultConfigError(field: key, reason: "\(parsed) is out of range \(Self.describe(range))")
        }
        return parsed
    }

    /// A floating-point attribute (probabilities, correlations).
    public func double(_ key: String, default value: Double, range: ClosedRange<Double>) throws(FaultConfigError) -> Double {
        guard let raw = attributes[key] else { return value }
        let parsed: Double
        switch raw {
        case .int(let v): parsed = Double(v)
        case .double(let d): parsed = d
        case .string(let s):
            guard let v = Double(s) else { throw FaultConfigError(field: key, reason: "expected a number, got '\(s)'") }
            parsed = v
        case .bool(let b): throw FaultConfigError(field: key, reason: "expected a number, got \(b)")
        }
        guard parsed.isFinite, range.contains(parsed) else {
            throw FaultConfigError(field: key, reason: "\(parsed) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return parsed
    }

    /// A string attribute restricted to `allowed` values (case-insensitive).
    public func choice(_ key: String, default value: String, allowed: [String]) throws(FaultConfigError) -> String {
        guard let raw = attributes[key] else { return value }
        guard case .string(let s) = raw, let match = allowed.first(where: { $0.lowercased() == s.lowercased() }) else {
            throw FaultConfigError(field: key, reason: "expected one of \(allowed.joined(separator: ", ")), got '\(raw)'")
        }
        return match
    }

    private static func describe(_ range: ClosedRange<Int64>) -> String {
        if range.upperBound == Int64.max { return "\(range.lowerBound) or more" }
        return "\(range.lowerBound)...\(range.upperBound)"
    }
}
