import Foundation
import RiftHarness
import Testing

/// `rift compare`'s variants without a fleet: `--vary` parsing, the cross product, and fields
/// set, unset and refused by path, each variant parsed as `rift run` parses a file.
@Suite struct ScenarioVariantsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var path: String { root + "/faults/outage-miss-storm.yaml" }
    static var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    @Test func varyParsesPathAndValues() throws {
        let v = try ScenarioVariants.Vary(parsing: "workload.cap_origin_concurrency=none, 100")
        #expect(v.path == "workload.cap_origin_concurrency" && v.values == ["none", "100"])
        for bad in ["workload.cap", "=1", "a..b=1", "a=1,,2", "a=1,1"] {
            #expect(throws: ScenarioVariants.Failure.self) { try ScenarioVariants.Vary(parsing: bad) }
        }
    }

    @Test func combinationsAreTheCrossProductFirstVarySlowest() throws {
        let c = ScenarioVariants.combinations([
            try .init(parsing: "a=1,2"), try .init(parsing: "b=x,y,z"),
        ])
        #expect(c.map { $0.map { "\($0.path)=\($0.value)" }.joined(separator: " ") } == [
            "a=1 b=x", "a=1 b=y", "a=1 b=z", "a=2 b=x", "a=2 b=y", "a=2 b=z",
        ])
    }

    @Test func setsUnsetsAndIndexesFields() throws {
        let (base, _) = try ScenarioVariants.load(text: Self.text, path: Self.path, settings: [])
        #expect(base.workload.cacheAside?.capOriginConcurrency == nil)
        let (capped, topology) = try ScenarioVariants.load(text: Self.text, path: Self.path, settings: [
            ("workload.cap_origin_concurrency", "100"), ("workload.serve_stale_if_possible", "true"), ("timeline.1.at", "5s"),
        ])
        #expect(topology.name == "memcached-pool")
        #expect(capped.workload.cacheAside?.capOriginConcurrency == 100)
        #expect(capped.workload.cacheAside?.serveStaleIfPossible == true)
        #expect(capped.timeline.map(\.atNs) == [2_000_000_000, 5_000_000_000])
        // Everything else as written.
        #expect(capped.name == base.name && capped.checks.count == base.checks.count && capped.workload.processes == base.workload.processes)
        let (unset, _) = try ScenarioVariants.load(text: Self.text, path: Self.path, settings: [("workload.lag_ttl", "none"), ("timeline.1", "none")])
        #expect(unset.workload.cacheAside?.lagTtlNs == nil && unset.timeline.count == 1)
    }

    @Test func badPathsAndValuesNameTheSetting() {
        func message(_ settings: [(path: String, value: String)]) -> String {
            do {
                _ = try ScenarioVariants.load(text: Self.text, path: Self.path, settings: settings)
                return "loaded"
            } catch { return "\(error)" }
        }
        #expect(message([("workload.cap_origin_concurrency", "lots")]) == "with workload.cap_origin_concurrency=lots: workload.cap_origin_concurrency: expected a whole number, got 'lots'")
        #expect(message([("timeline.9.at", "1s")]) == "--vary timeline.9.at=1s: 9 is not an item of this list (it has 2, numbered from 0)")
        #expect(message([("name.x", "1")]) == "--vary name.x=1: x: the field above it is a single value, not a mapping or list")
        #expect(message([("workload.no_such_field", "1")]).hasPrefix("with workload.no_such_field=1: workload.no_such_field: unknown key"))
    }

    /// The invalidation bus's remedies side by side, as `rift compare` varies them: the lag
    /// remedy unset and set, and versioned keys; a misspelt field under on_lag is named.
    @Test func theBusRemediesAreVariable() throws {
        let path = Self.root + "/faults/invalidation-bus-drop-lag-ttl.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let variants = ScenarioVariants.combinations([
            try .init(parsing: "workload.invalidation.on_lag.shorten_ttl=none,2s"), try .init(parsing: "workload.versioned_keys=false,true"),
        ])
        let specs = try variants.map { try #require(try ScenarioVariants.load(text: text, path: path, settings: $0).0.workload.cacheAside) }
        #expect(specs.map(\.invalidation.shortenTtlNs) == [nil, nil, 2_000_000_000, 2_000_000_000])
        #expect(specs.map(\.versionedKeys) == [false, true, false, true])
        #expect(specs.allSatisfy { $0.invalidation.mode == .bus })
        let (off, _) = try ScenarioVariants.load(text: text, path: path, settings: [("workload.invalidation.on_lag", "none")])
        #expect(off.workload.cacheAside?.invalidation.shortenTtlNs == nil && off.workload.cacheAside?.invalidation.mode == .bus)
        do {
            _ = try ScenarioVariants.load(text: text, path: path, settings: [("workload.invalidation.on_lag.shorten", "1s")])
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("workload.invalidation.on_lag.shorten: unknown key"), "got: \(error)")
        }
    }
}
