import Yams

/// An error in a YAML or JSON file, pointing at the place: `FILE:LINE:COLUMN: FIELD: message`.
public struct ConfigFileError: Error, Equatable, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var column: Int
    public var field: String
    public var message: String

    public init(file: String, line: Int, column: Int, field: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    public var description: String {
        let place = line > 0 ? "\(file):\(line):\(column)" : file
        return field.isEmpty ? "\(place): \(message)" : "\(place): \(field): \(message)"
    }
}

/// A YAML node with its location, read with typed accessors that fail with the file, line and
/// field path. Used for proxy configs and scenario files (JSON is read the same way).
public struct LocatedNode {
    public let node: Node
    public let file: String
    /// The dotted path of this node from the root (`proxies[0].toxics[1].attributes.latency`).
    public let path: String

    public static func parse(_ text: String, file: String) throws -> LocatedNode {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigFileError(file: file, line: 1, column: 1, field: "", message: "the file is empty")
            }
            return LocatedNode(node: node, file: file, path: "")
        } catch let error as ConfigFileError {
            throw error
        } catch let error as YamlError {
            throw ConfigFileError(file: file, line: Self.line(of: error), column: 0, field: "", message: "not valid YAML or JSON: \(Self.describe(error))")
        }
    }

    public func error(_ message: String, field: String? = nil) -> ConfigFileError {
        let mark = node.mark
        return ConfigFileError(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, field: field ?? path, message: message)
    }

    private func child(_ node: Node, _ key: String) -> LocatedNode {
        LocatedNode(node: node, file: file, path: path.isEmpty ? key : "\(path).\(key)")
    }

    // MARK: Shapes

    /// The entries of a mapping, in file order, with their key nodes for error positions.
    public func mapping(allowedKeys: [String]? = nil) throws -> [(key: String, value: LocatedNode)] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping (key: value)") }
        var seen: Set<String> = []
        var result: [(String, LocatedNode)] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else { throw error("mapping keys must be plain names") }
            let key = keyScalar.string
            let located = child(valueNode, key)
            if let allowedKeys, !allowedKeys.contains(key) {
                throw LocatedNode(node: keyNode, file: file, path: located.path)
                    .error("unknown key (expected one of: \(allowedKeys.joined(separator: ", ")))")
            }
            guard seen.insert(key).inserted else {
                throw LocatedNode(node: keyNode, file: file, path: located.path).error("key given twice")
            }
            result.append((key, located))
        }
        return result
    }

    public func sequence() throws -> [LocatedNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list") }
        return sequence.enumerated().map { index, element in
            LocatedNode(node: element, file: file, path: "\(path)[\(index)]")
        }
    }

    public var isNull: Bool {
        if case .scalar(let s) = node, s.style == .plain, ["", "~", "null", "Null", "NULL"].contains(s.string) { return true }
        return false
    }

    // MARK: Scalars

    public func string() throws -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a text value") }
        return scalar.string
    }

    public func int(range: ClosedRange<Int64> = Int64.min...Int64.max) throws -> Int64 {
        guard case .scalar(let scalar) = node, let value = Int64(scalar.string) else {
            throw error("expected a whole number, got \(describeValue())")
        }
        guard range.contains(value) else { throw error("\(value) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    public func uint64() throws -> UInt64 {
        guard case .scalar(let scalar) = node, let value = UInt64(scalar.string) else {
            throw error("expected a non-negative whole number, got \(describeValue())")
        }
        return value
    }

    public func double(range: ClosedRange<Double>) throws -> Double {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string), value.isFinite else {
            throw error("expected a number, got \(describeValue())")
        }
        guard range.contains(value) else { throw error("\(value) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    public func bool() throws -> Bool {
        guard case .scalar(let scalar) = node else { throw error("expected true or false") }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, got \(describeValue())")
        }
    }

    /// A scalar as the most specific attribute value: integer, then number, then boolean, then text.
    public func attributeValue() throws -> (String, Bool)? {
        guard case .scalar(let scalar) = node else { return nil }
        return (scalar.string, scalar.style == .plain)
    }

    func describeValue() -> String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    private static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return 0
        }
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
        default: return "\(error)"
        }
    }
}
