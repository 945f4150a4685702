import Foundation
import RiftChecker
import RiftCore
import RiftHistory
import RiftProxy
import RiftReport
import Yams

/// `rift compare`'s variants: a scenario file with fields set by path (`--vary PATH=V1,V2`), one
/// variant per combination of values, each parsed and validated as `rift run` would.
public enum ScenarioVariants {
    /// Why a `--vary` or one of its values cannot make a scenario: names the option and value.
    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// One `--vary PATH=V1,V2,...`.
    public struct Vary: Sendable, Equatable {
        public var path: String
        public var values: [String]

        /// `workload.cap_origin_concurrency=none,100`: a dotted path (sequence items by index:
        /// `timeline.0.attributes.latency`) and values as YAML scalars; `none` unsets the field.
        public init(parsing text: String) throws(Failure) {
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
                throw Failure("--vary \(text): expected PATH=V1,V2 (e.g. workload.cap_origin_concurrency=none,100)")
            }
            path = String(text[..<eq])
            values = text[text.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if path.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
                throw Failure("--vary \(text): the path \(path) has an empty part")
            }
            if values.isEmpty || values.contains(where: \.isEmpty) { throw Failure("--vary \(text): an empty value (write none to unset the field)") }
            if Set(values).count != values.count { throw Failure("--vary \(text): a value is given twice") }
        }
    }

    /// Every combination of the values, in order: the first `--vary` changes slowest.
    public static func combinations(_ varies: [Vary]) -> [[(path: String, value: String)]] {
        var out: [[(path: String, value: String)]] = [[]]
        for v in varies {
            out = out.flatMap { prefix in v.values.map { prefix + [(v.path, $0)] } }
        }
        return out
    }

    /// The scenario text with `settings` applied, then parsed and checked against its topology
    /// as `rift run` does. A path that names nothing in the file (below an existing mapping a
    /// new key is allowed: the parser judges it) or a value the parser refuses is a `Failure`
    /// naming the setting.
    public static func load(text: String, path file: String, settings: [(path: String, value: String)]) throws -> (Scenario, Topology) {
        guard var root = try Yams.compose(yaml: text) else { throw Failure("\(file): the file is empty") }
        for s in settings {
            let segments = s.path.split(separator: ".").map(String.init)
            do throws(Failure) {
                try set(&root, segments[...], to: s.value)
            } catch {
                throw Failure("--vary \(s.path)=\(s.value): \(error.message)")
            }
        }
        let edited = try Yams.serialize(node: root)
        do {
            return try ScenarioParser.load(text: edited, path: file)
        } catch let error as ConfigFileError {
            let setting = settings.map { "\($0.path)=\($0.value)" }.joined(separator: " ")
            throw Failure("with \(setting): \(error.field.isEmpty ? "" : error.field + ": ")\(error.message)")
        }
    }

    private static func set(_ node: inout Node, _ path: ArraySlice<String>, to value: String) throws(Failure) {
        guard let head = path.first else {
            node = Node(value, .implicit, .plain)
            return
        }
        let rest = path.dropFirst()
        switch node {
        case .mapping(var mapping):
            if rest.isEmpty, value == "none" {
                // Absent already: the file's default. A misspelt path shows with its other values.
                mapping[head] = nil
            } else {
                // A missing key below an existing mapping is created (a field the file leaves at
                // its default); the parser says whether that field exists.
                var child = mapping[head] ?? (rest.isEmpty ? Node("") : Node([(Node, Node)]()))
                try set(&child, rest, to: value)
                mapping[head] = child
            }
            node = .mapping(mapping)
        case .sequence(var sequence):
            guard let index = Int(head), sequence.indices.contains(index) else {
                throw Failure("\(head) is not an item of this list (it has \(sequence.count), numbered from 0)")
            }
            if rest.isEmpty, value == "none" {
                sequence.remove(at: index)
            } else {
                var child = sequence[index]
                try set(&child, rest, to: value)
                sequence[index] = child
            }
            node = .sequence(sequence)
        case .scalar, .alias:
            throw Failure("\(head): the field above it is a single value, not a mapping or list")
        }
    }
}
