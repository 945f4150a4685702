import Foundation
import RiftCapture
import RiftCore
import RiftHarness
import RiftHistory
import RiftProxy
import RiftRecord
import RiftTestSupport
import Testing

/// `rift record` against ground truth: a workload records what it did, the proxy captures it,
/// and the history made from the capture must say the same.
@Suite(.serialized) struct RecordTests {
    /// Each process's events in order, without times or nodes, as a set of sequences (process
    /// numbers differ: the capture numbers connections in order of appearance).
    static func perProcess(_ history: History) -> [[String]] {
        var byProcess: [ProcessID: [String]] = [:]
        for e in history.events where !e.isNemesis {
            byProcess[e.process, default: []].append("\(e.type.rawValue) \(e.f) \(e.key ?? "-") \(e.value)")
        }
        return byProcess.values.sorted { $0.description < $1.description }
    }

    static func record(_ pcap: String, port: UInt16, to output: String, protocol proto: RecordProtocol = .resp) throws -> TrafficRecorder.Summary {
        let source = try PcapSource(file: pcap)
        let writer = try HistoryWriter(path: output, metadata: ["source": .string("test")])
        return try RecordRun.run(source: source, options: TrafficRecorder.Options(port: port, protocol: proto), output: writer)
    }

    @Test func aRecordedRegisterWorkloadEqualsItsOwnHistoryOnBothLegs() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let dir = try TempDir()
        defer { dir.remove() }
        let pcap = dir.file("workload.pcap"), truth = dir.file("truth.jsonl")
        let (proxyPort, stats) = try await withCapturingProxy(PacketCapture.Options(path: pcap)) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            let port = UInt16(proxy.port)
            var spec = WorkloadSpec()
            spec.processes = 3
            spec.rate = 300
            spec.keys = 3
            spec.writeFraction = 0.5
            let writer = try HistoryWriter(path: truth, metadata: ["workload": .string("register")])
            let workload = RegisterWorkload(
                spec: spec, seed: 7, clients: { ReplicatedClient(primary: CacheTarget(node: "n1", port: port), replicas: [], reads: .any) }, writer: writer)
            try await blocking {
                workload.start(untilNs: RiftClock.monotonicNanoseconds() + 1_500_000_000)
                workload.wait()
                try writer.close()
            }
            #expect(workload.currentStats.ok > 100, "\(workload.currentStats)")
            try await waitForNoConnections(proxy)
            return port
        }
        #expect(stats.dropped == 0)
        let expected = Self.perProcess(try HistoryReader.read(path: truth))
        #expect(expected.count == 3)
        for (leg, port) in [("client leg", proxyPort), ("upstream leg", UInt16(redis.port))] {
            let output = dir.file("recorded-\(port).jsonl")
            let summary = try Self.record(pcap, port: port, to: output)
            #expect(summary.problems.isEmpty, "\(leg): \(summary.problems)")
            #expect(summary.connections == 3, "\(leg)")
            let recorded = Self.perProcess(try HistoryReader.read(path: output))
            #expect(recorded == expected, "\(leg): the recorded operations differ from the workload's")

            // `rift check` with every check the history supports (linearizability, staleness,
            // monotonic reads, the session checks) gives both the same verdict: valid, as one
            // Redis is. Concurrent writers may land out of value order; the checks allow that.
            for args in [["check", "--linearizable"], ["check"]] {
                let onTruth = try RiftExecutable.run(args + [truth])
                let onRecord = try RiftExecutable.run(args + [output])
                #expect(onTruth.status == 0, "\(args): \(onTruth.stdout)\(onTruth.stderr)")
                #expect(onRecord.status == onTruth.status, "\(leg) \(args): \(onRecord.stdout)\(onRecord.stderr)")
            }
        }
    }

    @Test func pipelinedCommandsThroughTheProxyArePairedInOrder() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let dir = try TempDir()
        defer { dir.remove() }
        let pcap = dir.file("pipeline.pcap")
        _ = try await withCapturingProxy(PacketCapture.Options(path: pcap)) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "redis", upstream: "127.0.0.1:\(redis.port)"))
            let port = UInt16(proxy.port)
            try await blocking {
                let client = try RESPClient(port: port)
                _ = try client.pipeline([["SET", "a", "1"], ["GET", "a"], ["PING"], ["SET", "a", "two"], ["GET", "a"], ["DEL", "a"], ["GET", "a"]])
                client.close()
            }
            try await waitForNoConnections(proxy)
        }
        let output = dir.file("pipeline.jsonl")
        let summary = try Self.record(pcap, port: UInt16(redis.port), to: output)
        #expect(summary.problems.isEmpty)
        let recorded = Self.perProcess(try HistoryReader.read(path: output))
        #expect(recorded == [[
            "invoke write a 1", "invoke read a null", "invoke write a \"two\"", "invoke read a null", "invoke delete a null",
            "invoke read a null", "ok write a 1", "ok read a 1", "ok write a \"two\"", "ok read a \"two\"", "ok delete a null",
            "ok read a null",
        ]])
    }

    @Test func liveCaptureOnLoopbackRecordsAClient() async throws {
        let redis = try RedisServer.started()
        defer { redis.stop() }
        let dir = try TempDir()
        defer { dir.remove() }
        let output = dir.file("live.jsonl")
        let rift = try RunningRift(["record", "--interface", "lo", "--port", String(redis.port), "--duration", "4s", "-o", output])
        defer { rift.stop() }
        #expect(rift.waitForOutput("capturing"), "rift record did not start: \(rift.stderr)")
        let port = redis.port
        try await blocking {
            let client = try RESPClient(port: port)
            for i in 0..<5 { try client.set("live\(i)", value: String(i * 10)) }
            for i in 0..<5 { _ = try client.get("live\(i)") }
            client.close()
        }
        let result = rift.wait(timeout: .seconds(20))
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let recorded = Self.perProcess(try HistoryReader.read(path: output))
        var expected: [String] = []
        for i in 0..<5 { expected += ["invoke write live\(i) \(i * 10)", "ok write live\(i) \(i * 10)"] }
        for i in 0..<5 { expected += ["invoke read live\(i) null", "ok read live\(i) \(i * 10)"] }
        #expect(recorded == [expected])
    }

    @Test func badFlagsAndUnreadableFilesExit2WithAMessage() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let notPcap = dir.file("not.pcap")
        try "hello".write(toFile: notPcap, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["record", "-o", dir.file("x.jsonl")], "exactly one of --interface"),
            (["record", "--pcap", dir.file("missing.pcap"), "-o", dir.file("x.jsonl")], "missing.pcap"),
            (["record", "--pcap", notPcap, "-o", dir.file("x.jsonl")], "not.pcap"),
            (["record", "--pcap", notPcap, "--protocol", "http", "-o", dir.file("x.jsonl")], "--protocol http"),
            (["record", "--interface", "no-such-if0", "-o", dir.file("x.jsonl")], "no-such-if0"),
            (["record", "--pcap", notPcap, "--duration", "soon", "-o", dir.file("x.jsonl")], "--duration"),
            (["server", "--api", "none", "--pcap", dir.file("nodir/x.pcap")], "nodir/x.pcap"),
            (["server", "--api", "none", "--pcap", dir.file("x.pcap"), "--pcap-rotate-bytes", "lots"], "--pcap-rotate-bytes"),
        ]
        for (arguments, mention) in cases {
            let result = try RiftExecutable.run(arguments, timeout: .seconds(20))
            #expect(result.status == 2, "\(arguments): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains(mention), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
        }
    }

    @Test func withoutCaptureRightsLiveCaptureSaysSoAndExits2() throws {
        // Drop to `nobody` only when the test can (it runs as root on CI); else this case is the normal one.
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") || FileManager.default.isExecutableFile(atPath: "/sbin/runuser") else {
            let result = try RiftExecutable.run(["record", "--interface", "lo", "--duration", "1s", "-o", "/tmp/rift-record-\(getpid()).jsonl"])
            #expect(result.status == 2 && result.stderr.contains("CAP_NET_RAW"), "\(result.stderr)")
            return
        }
        let dir = try TempDir()
        defer { dir.remove() }
        chmod(dir.path, 0o777)
        let rift = try RiftExecutable.url().path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser")
        process.arguments = ["-u", "nobody", "--", rift, "record", "--interface", "lo", "--duration", "1s", "-o", dir.file("x.jsonl")]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if text.contains("Permission denied") && !text.contains("CAP_NET_RAW") {
            // `nobody` cannot run the binary at all (a build folder under /root): nothing to learn here.
            Issue.record("runuser could not start rift as nobody: \(text)")
            return
        }
        #expect(process.terminationStatus == 2, "\(text)")
        #expect(text.contains("needs root or CAP_NET_RAW"), "\(text)")
    }
}

/// The same round trip for memcached: a scripted client through the capturing proxy.
@Suite(.serialized) struct MemcachedRecordTests {
    @Test func memcachedOperationsRecordAsRegisterOperations() async throws {
        let memcached = try MemcachedServer.started()
        defer { memcached.stop() }
        let dir = try TempDir()
        defer { dir.remove() }
        let pcap = dir.file("mc.pcap")
        _ = try await withCapturingProxy(PacketCapture.Options(path: pcap)) { server in
            let proxy = try await server.createProxy(ProxyConfig(name: "mc", upstream: "127.0.0.1:\(memcached.port)"))
            let port = UInt16(proxy.port)
            try await blocking {
                let client = try MemcachedClient(port: port)
                _ = try client.set("a", value: Array("1".utf8))
                _ = try client.get("a")
                _ = try client.delete("a")
                _ = try client.get("a")
                _ = try client.version()
                client.close()
            }
            try await waitForNoConnections(proxy)
        }
        let output = dir.file("mc.jsonl")
        let summary = try RecordTests.record(pcap, port: UInt16(memcached.port), to: output, protocol: .memcached)
        #expect(summary.problems.isEmpty)
        #expect(RecordTests.perProcess(try HistoryReader.read(path: output)) == [[
            "invoke write a 1", "ok write a 1", "invoke read a null", "ok read a 1",
            "invoke delete a null", "ok delete a null", "invoke read a null", "ok read a null",
        ]])
    }
}
