import Foundation
import RiftHarness
import RiftTestSupport
import Testing

/// Topologies by name from any directory: `harness/<name>.yaml` beside the scenario's folder
/// when it is there, else the copy built into the binary; a path is relative to the scenario.
@Suite struct BuiltinTopologiesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The built-in copies are the files, so they cannot drift apart.
    @Test func everyHarnessTopologyIsBuiltInAsItsFileSays() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.root + "/harness").filter { $0.hasSuffix(".yaml") }
        #expect(Set(files.map { String($0.dropLast(5)) }) == Set(BuiltinTopologies.names))
        for f in files {
            let text = try String(contentsOfFile: Self.root + "/harness/" + f, encoding: .utf8)
            #expect(BuiltinTopologies.files[String(f.dropLast(5))].map { $0 + "\n" } == text, "harness/\(f) differs from its built-in copy")
            #expect(throws: Never.self) { try ScenarioParser.parseTopology(text, file: f) }
        }
    }

    @Test func namesAndPathsResolve() throws {
        let faults = Self.root + "/faults/x.yaml"
        #expect(ScenarioParser.topologySource("redis-replicated", scenarioFile: faults) == .file(Self.root + "/faults/../harness/redis-replicated.yaml"))
        #expect(ScenarioParser.topologySource("redis-replicated", scenarioFile: "/tmp/x.yaml") == .builtin("redis-replicated"))
        #expect(ScenarioParser.topologySource("./t.yaml", scenarioFile: "/nowhere/x.yaml") == .missing("no topology file /nowhere/./t.yaml"))
        guard case .missing(let m) = ScenarioParser.topologySource("nope", scenarioFile: "/tmp/x.yaml") else { Issue.record("found 'nope'"); return }
        #expect(m.hasPrefix("no topology 'nope': not built in (\(BuiltinTopologies.names.sorted().joined(separator: ", ")))"), "\(m)")
    }

    /// `rift run` on a scenario outside the repository (no harness/ beside it): the topology is
    /// the built-in one (validated: a bad node name fails at its line), the run folder lands where asked.
    @Test func aScenarioOutsideTheRepositoryFindsItsTopology() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-anywhere-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scenario = try String(contentsOfFile: Self.root + "/faults/replica-partition.yaml", encoding: .utf8)
        try scenario.write(toFile: dir + "/mine.yaml", atomically: true, encoding: .utf8)
        let r = try RiftExecutable.run(["run", dir + "/mine.yaml", "--duration", "10s", "--out", dir + "/run"], timeout: .seconds(60))
        #expect(r.status == 0, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/run/result.json"))
        try scenario.replacingOccurrences(of: "partition: [[n1], [n2, n3]]", with: "partition: [[n1], [n9]]")
            .write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try RiftExecutable.run(["run", dir + "/bad.yaml"], timeout: .seconds(30))
        #expect(bad.status == 2)
        #expect(bad.stderr.contains(dir + "/bad.yaml:"), "\(bad.stderr)")
    }
}
