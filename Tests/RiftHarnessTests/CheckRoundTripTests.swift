import Foundation
import RiftChecker
import RiftHistory
import Testing

@testable import RiftHarness

/// A check travels scenario file -> typed check -> result.json -> typed check unchanged, for
/// every check in the registry and every shipped scenario: `rift report` reads back exactly
/// what `rift run` ran.
@Suite struct CheckRoundTripTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// A YAML value for each kind of field, so every setting of every check is exercised. A
    /// number is its range's midpoint: ranges differ (a fraction is 0...1).
    static func sample<C>(_ field: CheckField<C>) -> String? {
        switch field.value {
        case .duration: "250ms"
        case .count: "7"
        case .number(_, let range): "\((range.lowerBound + range.upperBound) / 2)"
        case .node: "n2"
        case .value: "5"
        case .nodes: nil
        }
    }

    static func roundTrip<T: Codable>(_ value: T) throws -> T {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return try JSONDecoder().decode(T.self, from: try e.encode(value))
    }

    @Test(arguments: CheckRegistry.names)
    func everySettingOfEveryCheckRoundTrips(name: String) throws {
        let checkType = try #require(CheckRegistry.type(named: name))
        let fields = try yamlFields(checkType)
        let text = """
            name: a
            topology: t
            duration: 10s
            workload: {type: cache-aside}
            timeline:
              - {at: 1s, kill: n2}
              - {at: 2s, restart: n2}
            checks:
              - {name: "the \(name) check", check: \(name), from: start+1s, until: heal, scaled: true\(fields)}
            """
        let scenario = try ScenarioParser.parseScenario(text, file: "f.yaml")
        let spec = try #require(scenario.checks.first)
        #expect(spec.kind.rawValue == name && spec.name == "the \(name) check" && spec.from == "start+1s" && spec.until == "heal" && spec.scaled)
        // Every scenario field was read into the type.
        #expect(spec.check.settingsJSON.count == checkType.scenarioFieldNames.count, "\(spec.check.settingsJSON)")
        let outcome = CheckOutcome(spec: spec, report: CheckReport(checks: [CheckResult(kind: spec.kind, verdict: .invalid, summary: "s")]))
        let back = try Self.roundTrip(outcome)
        #expect(back.spec.json == spec.json)
        #expect(back.spec.kind == spec.kind && back.spec.check.sameSettings(as: spec.check))
        #expect(back.verdict == .invalid && back.result?.summary == "s")
        // Scaling applies to the scaled durations only, and survives the trip too.
        let half = spec.scaled(by: 0.5)
        #expect(try Self.roundTrip(half).json == half.json)
    }

    func yamlFields(_ type: any Check.Type) throws -> String {
        func fields<C: Check>(_: C.Type) -> String {
            C.fields.compactMap { f in Self.sample(f).map { ", \(f.name): \($0)" } }.joined()
        }
        return fields(type)
    }

    /// result.json for every shipped scenario: parse it, build its record with a report per
    /// check (a verdict, details, an anomaly with its operation), write it and read it back.
    @Test func everyScenariosResultRoundTrips() throws {
        let dir = Self.root + "/faults"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 10)
        let op = HistoryOperation(id: 3, process: .client(2), f: .read, key: "r1", input: .null, output: .int(4), status: .ok,
                                  invokeTime: 10, completeTime: 20, node: "n2", invokeLine: 7)
        for file in files {
            let (scenario, topology) = try ScenarioParser.load(path: dir + "/" + file)
            let plan = scenario.scaled(by: 0.5)
            let verdicts: [Verdict] = [.valid, .invalid, .unknown]
            let outcomes = plan.checks.enumerated().map { i, spec in
                CheckOutcome(spec: spec, report: CheckReport(checks: [CheckResult(
                    kind: spec.kind, verdict: verdicts[i % 3], summary: "summary \(i)", details: ["reads": .int(Int64(i)), "per_node": .object(["n1": .object(["reads": .int(1)])])],
                    anomalies: [Anomaly(kind: "stale-read", message: "m", operations: [op], roles: ["blocked"])], anomalyCount: 5)], operations: 9))
            }
            let record = RunRecord(
                scenario: scenario.name, file: file, topology: topology.name, nodes: topology.nodes.map(\.name), seed: UInt64.max - 1, scale: 0.5,
                durationNs: plan.durationNs, operations: .init(ok: 1, fail: 2, info: 3),
                timeline: plan.timeline.map { .init(atNs: $0.atNs, directive: $0.directive.label, f: $0.directive.nemesisF) },
                latencyPerNode: ["n1": .init(operations: 4, p50Ns: 1, p99Ns: 2, maxNs: 3)], logs: ["nodes/n1/redis.log"],
                cacheAside: scenario.workload.cacheAside.map { _ in
                    CacheAsideRecord(stats: .init(), samples: [.init(timeNs: 5, inFlight: 1, peak: 2)], droppedSamples: 0, peakInFlight: 2, cap: 100, serviceTimeNs: 7)
                },
                checks: outcomes)
            let back = try RunRecord.read(try record.jsonData())
            #expect(try back.jsonData() == (try record.jsonData()), "\(file)")
            #expect(back.verdict == record.verdict && back.checks.count == scenario.checks.count, "\(file)")
            for (a, b) in zip(back.checks, record.checks) {
                #expect(a.spec.json == b.spec.json && a.verdict == b.verdict, "\(file): \(a.spec.name)")
                #expect(a.result?.anomalies.first?.operations == [op] && a.result?.anomalyCount == 5, "\(file): \(a.spec.name)")
            }
            #expect(back.cacheAside == record.cacheAside && back.series == record.series, "\(file)")
        }
    }
}
