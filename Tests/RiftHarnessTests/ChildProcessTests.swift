import Foundation
import Glibc
import RiftClient
import Testing

/// The harness's child processes, spawned with posix_spawn: output appended to their log, the
/// directory they were given, the exit status, signals at their default even when launched
/// from a task (whose thread blocks them), and no descriptor of Rift's left open in them.
@Suite struct ChildProcessTests {
    func folder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rift-child-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func outputDirectoryAndExitStatus() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "before\n".write(toFile: dir + "/out.log", atomically: true, encoding: .utf8)
        let p = ChildProcess(executable: "/bin/sh", arguments: ["-c", "pwd; echo to-stderr >&2; exit 3"], directory: dir, outputPath: dir + "/out.log")
        try p.launch()
        p.waitUntilExit()
        #expect(!p.isRunning && p.exitStatus == 3)
        let out = try String(contentsOfFile: dir + "/out.log", encoding: .utf8)
        #expect(out == "before\n\(dir)\nto-stderr\n", "\(out)")
        // The default log is stdio.log in the directory.
        let q = ChildProcess(executable: "/bin/sh", arguments: ["-c", "echo hi"], directory: dir)
        try q.launch()
        q.waitUntilExit()
        let hi = try String(contentsOfFile: dir + "/stdio.log", encoding: .utf8)
        #expect(q.exitStatus == 0 && hi == "hi\n")
        // A folder that is not there fails the spawn itself; a missing program, the child.
        #expect(throws: SpawnError.self) { try ChildProcess(executable: "/bin/true", arguments: [], directory: dir + "/nowhere", outputPath: dir + "/x.log").launch() }
        let missing = ChildProcess(executable: "/nonexistent/x", arguments: [], directory: dir)
        try missing.launch()
        missing.waitUntilExit()
        #expect((missing.exitStatus ?? 0) != 0)
    }

    /// Spawned from an async task: SIGTERM still ends it (status 128 + 15), not the SIGKILL
    /// after the grace (128 + 9).
    @Test func sigtermReachesAChildLaunchedFromATask() async throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = ChildProcess(executable: "/bin/sleep", arguments: ["30"], directory: dir)
        try await Task { try p.launch() }.value
        #expect(p.isRunning && p.pid != nil)
        p.stop(graceNs: 5_000_000_000)
        #expect(!p.isRunning && p.exitStatus == 128 + SIGTERM)
        p.kill()  // already gone: nothing happens
    }

    /// A descriptor Rift holds open without close-on-exec does not leak into the child.
    @Test func onlyTheStandardDescriptorsAreInherited() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fd = open(dir, O_RDONLY)
        #expect(fd > 2)
        defer { close(fd) }
        let p = ChildProcess(executable: "/bin/sh", arguments: ["-c", "ls /proc/$$/fd"], directory: dir)
        try p.launch()
        p.waitUntilExit()
        let listed = try String(contentsOfFile: dir + "/stdio.log", encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        #expect(listed == [0, 1, 2], "the shell's descriptors: \(listed) (Rift's \(fd) must not be among them)")
    }
}
