import Foundation
import RiftCore
import RiftHistory
import Synchronization

/// A check's name in reports, JSON and scenario files (`check: staleness`). Each check declares
/// its own beside its type (`extension CheckKind { static let staleness = ... }`), so adding a
/// check does not touch a shared enum.
public struct CheckKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// One kind of check with its settings. Its `fields` are its whole interface: the scenario
/// file's names, result.json's names (`max_staleness_ns` for a duration), scaling and
/// validation all come from them, so a check is one type plus one line in `CheckRegistry`.
public protocol Check: Sendable {
    static var kind: CheckKind { get }
    /// The settings, in the order they are written.
    static var fields: [CheckField<Self>] { get }
    /// Runs when no check is named (`rift check` without flags, `rift report` on a bare history).
    static var runsByDefault: Bool { get }
    /// A check with no settings set.
    init()
    /// Settings that contradict each other: the field to blame and why.
    func validate() throws(CheckSettingsError)
    /// The check on `context`'s history in `window`; nil when the history cannot support it and
    /// nobody named it (`context.named` false). Named and unsupported is `unknown`, never valid.
    func run(_ context: CheckContext, window: TimeWindow) -> CheckResult?
    /// The check told which nodes the workload reads from (a run knows, a bare history does
    /// not); checks that judge reads per node hold out for a read from each.
    func expectingReads(from nodes: [String]) -> Self
}

extension Check {
    public static var runsByDefault: Bool { true }
    public func validate() throws(CheckSettingsError) {}
    public func expectingReads(from nodes: [String]) -> Self { self }
    public var kind: CheckKind { Self.kind }
}

/// Settings of a check that contradict each other.
public struct CheckSettingsError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

/// One setting of a check, by key path: what it is called in a scenario file and in result.json,
/// and how it is read.
public struct CheckField<C> {
    public enum Value {
        /// Nanoseconds; written `13s` in scenarios and `<name>_ns` in JSON. `scales`: follows
        /// `--duration`/`--scale` when the check is marked `scaled: true`.
        case duration(WritableKeyPath<C, Int64?>, scales: Bool)
        case count(WritableKeyPath<C, Int?>, ClosedRange<Int>)
        /// A real number in a range (`min_nines: 3.5`).
        case number(WritableKeyPath<C, Double?>, ClosedRange<Double>)
        /// A node of the topology (validated against it).
        case node(WritableKeyPath<C, String?>)
        /// A list of nodes; set by the runner, not in scenario files.
        case nodes(WritableKeyPath<C, [String]?>)
        /// Any JSON value (an initial register value).
        case value(WritableKeyPath<C, HistoryValue?>)
    }

    /// The scenario file's name (`max_staleness`).
    public var name: String
    public var value: Value
    /// False for settings the runner sets (not accepted in scenario files).
    public var inScenario: Bool

    public init(_ name: String, _ value: Value, inScenario: Bool = true) {
        self.name = name
        self.value = value
        self.inScenario = inScenario
    }

    /// result.json's name: durations carry their unit.
    public var jsonName: String {
        if case .duration = value { return name + "_ns" }
        return name
    }

    public func isSet(_ check: C) -> Bool {
        switch value {
        case .duration(let p, _): check[keyPath: p] != nil
        case .count(let p, _): check[keyPath: p] != nil
        case .number(let p, _): check[keyPath: p] != nil
        case .node(let p): check[keyPath: p] != nil
        case .nodes(let p): check[keyPath: p] != nil
        case .value(let p): check[keyPath: p] != nil
        }
    }

    /// The setting as JSON, nil when unset.
    public func json(_ check: C) -> HistoryValue? {
        switch value {
        case .duration(let p, _): check[keyPath: p].map { .int($0) }
        case .count(let p, _): check[keyPath: p].map { .int(Int64($0)) }
        case .number(let p, _): check[keyPath: p].map { .double($0) }
        case .node(let p): check[keyPath: p].map { .string($0) }
        case .nodes(let p): check[keyPath: p].map { .list($0.map { .string($0) }) }
        case .value(let p): check[keyPath: p]
        }
    }

    /// Sets it from JSON; a message when the value has the wrong type or range.
    public func set(_ check: inout C, json: HistoryValue) -> String? {
        switch value {
        case .duration(let p, _):
            guard let v = json.intValue, v >= 0 else { return "expected nanoseconds (an integer, at least 0)" }
            check[keyPath: p] = v
        case .count(let p, let range):
            guard let v = json.intValue, range.contains(Int(clamping: v)) else { return "expected an integer in \(range.lowerBound)...\(range.upperBound)" }
            check[keyPath: p] = Int(v)
        case .number(let p, let range):
            let number: Double? = switch json {
            case .int(let i): Double(i)
            case .double(let d): d
            default: nil
            }
            guard let v = number, range.contains(v) else { return "expected a number in \(range.lowerBound)...\(range.upperBound)" }
            check[keyPath: p] = v
        case .node(let p):
            guard let v = json.stringValue else { return "expected a node name" }
            check[keyPath: p] = v
        case .nodes(let p):
            guard case .list(let items) = json, let names = Optional(items.compactMap(\.stringValue)), names.count == items.count else {
                return "expected a list of node names"
            }
            check[keyPath: p] = names
        case .value(let p):
            check[keyPath: p] = json
        }
        return nil
    }

    /// The duration scaled by `factor` when it scales.
    func scale(_ check: inout C, by factor: Double) {
        guard case .duration(let p, true) = value, let v = check[keyPath: p] else { return }
        check[keyPath: p] = Int64((Double(v) * factor).rounded())
    }
}

extension Check {
    /// The settings as JSON fields (result.json's names), unset ones left out.
    public var settingsJSON: [String: HistoryValue] {
        var out: [String: HistoryValue] = [:]
        for f in Self.fields { if let v = f.json(self) { out[f.jsonName] = v } }
        return out
    }

    /// Reads the settings back from JSON fields (result.json's names); other keys are ignored.
    public static func fromJSON(_ object: [String: HistoryValue]) throws(CheckSettingsError) -> Self {
        var c = Self()
        for f in fields {
            guard let v = object[f.jsonName], !v.isNull else { continue }
            if let problem = f.set(&c, json: v) { throw CheckSettingsError(field: f.jsonName, message: problem) }
        }
        try c.validate()
        return c
    }

    /// The names a scenario file may give this check's settings.
    public static var scenarioFieldNames: [String] { fields.filter(\.inScenario).map(\.name) }

    /// Durations that scale, multiplied by `factor`.
    public func scaled(by factor: Double) -> Self {
        var c = self
        for f in Self.fields { f.scale(&c, by: factor) }
        return c
    }

    /// The nodes this check names (validated against the topology).
    public var namedNodes: [String] {
        Self.fields.compactMap { f in
            guard case .node(let p) = f.value else { return nil }
            return self[keyPath: p]
        }
    }

    /// Equal settings (what result.json would hold for both).
    public func sameSettings(as other: any Check) -> Bool {
        Self.kind == type(of: other).kind && settingsJSON == other.settingsJSON
    }
}

/// Every check Rift knows, by name: scenario files, result.json and `rift report` look checks up
/// here. Adding a check: its type, and one line in this list.
public enum CheckRegistry {
    public static let all: [any Check.Type] = [
        LinearizabilityCheck.self,
        StalenessCheck.self,
        MonotonicReadsCheck.self,
        ReadYourWritesCheck.self,
        MonotonicWritesCheck.self,
        WritesFollowReadsCheck.self,
        StaleReplayCheck.self,
        ConvergenceCheck.self,
        ConsistencyCheck.self,
        LostWritesCheck.self,
        LatencyCheck.self,
        OriginLoadCheck.self,
    ]

    public static func type(named name: String) -> (any Check.Type)? { all.first { $0.kind.rawValue == name } }

    public static var names: [String] { all.map { $0.kind.rawValue } }

    /// The checks that run when none is named, with no bounds set.
    public static var defaults: [any Check] { all.filter { $0.runsByDefault }.map { $0.init() } }
}

/// Data a run measured beside its history, which some checks read (the origin's gauge).
public struct CheckSeries: Sendable, Equatable {
    /// The cache-aside origin's requests in flight over time; nil when the run had no origin.
    public var originInFlight: [OriginLoadChecker.Sample]?

    public init(originInFlight: [OriginLoadChecker.Sample]? = nil) {
        self.originInFlight = originInFlight
    }
}

/// What checks read: the history, the measured series, and what more than one check needs,
/// computed once on first use (the integer view, each read's staleness, the causal pass).
public final class CheckContext: Sendable {
    public let history: PairedHistory
    public let series: CheckSeries
    public let maxAnomalies: Int
    public let parallelism: Int
    /// The checks were asked for by name: one the history cannot support is `unknown`, not skipped.
    public let named: Bool
    /// The client region the history is scoped to (`region: eu`): it holds that region's reads
    /// and every write (`PairedHistory.readsScoped`); a check that judges writes judges this
    /// region's only.
    public let region: String?

    // One lock per cache: a check computing one holds its lock, checks that need it wait for
    // the result, and checks that need another cache go on.
    private let view = Mutex<IntegerView?>(nil)
    private let staleness = Mutex<[ReadStaleness]?>(nil)
    private let causal = Mutex<[TimeWindow: (monotonicWrites: CheckResult, writesFollowReads: CheckResult)]>([:])

    public init(_ history: PairedHistory, series: CheckSeries = CheckSeries(), maxAnomalies: Int = 10,
                parallelism: Int = ProcessInfo.processInfo.activeProcessorCount, named: Bool = true, region: String? = nil) {
        self.history = history
        self.region = region
        self.series = series
        self.maxAnomalies = maxAnomalies
        self.parallelism = parallelism
        self.named = named
    }

    public var operations: [HistoryOperation] { history.operations }

    var integerView: IntegerView {
        view.withLock { view in
            if let view { return view }
            let v = IntegerView(history.operations, nullReads: history.nullReads)
            view = v
            return v
        }
    }

    /// Every ok read's staleness over the whole history (a window only filters reads: the
    /// writes a read is judged against are the same), in the checker's order. Empty when the
    /// history has no integer values. The report draws this; the staleness check filters it.
    public var readStaleness: [ReadStaleness] {
        let v = integerView
        return staleness.withLock { staleness in
            if let staleness { return staleness }
            let s = v.isEmpty ? [] : StalenessChecker.measure(history.operations, v, window: .all)
            staleness = s
            return s
        }
    }

    /// Monotonic writes and writes-follow-reads come from one pass per window.
    func causalResults(_ window: TimeWindow) -> (monotonicWrites: CheckResult, writesFollowReads: CheckResult) {
        let v = integerView
        return causal.withLock { causal in
            if let r = causal[window] { return r }
            let r = CausalSessionChecks.check(history.operations, v, window: window, maxAnomalies: maxAnomalies)
            causal[window] = r
            return r
        }
    }

    /// A check that needs integer values on a history without them: nil (skipped) unless named.
    func unsupported(_ kind: CheckKind) -> CheckResult? {
        named ? CheckResult(kind: kind, verdict: .unknown, summary: "needs integer values that grow per key in write order; no key of this history has them") : nil
    }
}
