// `rift run`'s scenario files (ScenarioParser.parseScenario), then what a run checks before it
// starts: validation against each topology in harness/, scaling, each check's options.
import Foundation
import FuzzSupport
import RiftHarness

let harness = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../harness")
let topologies = ["redis-replicated", "memcached-pool", "redis-cluster"].map { name in
    let path = harness.appendingPathComponent("\(name).yaml").path
    do {
        return try ScenarioParser.parseTopology(String(contentsOfFile: path, encoding: .utf8), file: path)
    } catch {
        fatalError("cannot read \(path): \(error)")
    }
}

fuzz { raw in
    guard let scenario = try? ScenarioParser.parseScenario(text(raw), file: "fuzz.yaml") else { return }
    for topology in topologies { _ = try? ScenarioParser.validate(scenario, against: topology) }
    for factor in [0.5, 1, 3] {
        let scaled = scenario.scaled(by: factor)
        for check in scaled.checks { _ = try? check.options(scale: factor) }
    }
}
