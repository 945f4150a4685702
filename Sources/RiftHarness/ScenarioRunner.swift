import Foundation
import RiftChecker
import RiftCore
import RiftFaults
import RiftHistory
import RiftProxy

/// How to run a scenario.
public struct RunOptions: Sendable {
    /// Overrides the scenario's seed.
    public var seed: UInt64?
    /// Multiplies the timeline, the run's duration and the bounds of checks marked `scaled`.
    public var scale: Double = 1
    /// The run folder; default `runs/<scenario>-<UTC time>`.
    public var outDirectory: String?
    public var redisServer: String?

    public init(seed: UInt64? = nil, scale: Double = 1, outDirectory: String? = nil, redisServer: String? = nil) {
        self.seed = seed
        self.scale = scale
        self.outDirectory = outDirectory
        self.redisServer = redisServer
    }
}

/// One check's outcome.
public struct CheckOutcome: Sendable {
    public var spec: CheckSpec
    public var report: CheckReport?
    /// Why the check could not run (a window naming a nemesis event the history lacks).
    public var error: String?
    public var verdict: Verdict { report?.verdict ?? .unknown }
}

/// What a run produced.
public struct RunResult: Sendable {
    public var scenario: String
    public var seed: UInt64
    public var directory: String
    public var outcomes: [CheckOutcome]
    public var stats: RegisterWorkload.Stats
    public var interrupted: Bool
    /// Latency of the `ok` operations per node over the whole run.
    public var latency: [String: LatencyChecker.Stats] = [:]
    /// The cache-aside workload's counts and origin load; nil for other workloads.
    public var cacheAside: CacheAsideReport?
    /// Valid only when every check is valid and the run was not interrupted.
    public var verdict: Verdict {
        interrupted ? .unknown : Verdict.combine(outcomes.map(\.verdict))
    }
}

/// Carries out a scenario: fleet up, workload, timeline, heal, fleet down, checks, run folder.
/// The fleet is healed and stopped at the end whatever happens (errors, `cancel()`).
public final class ScenarioRunner: @unchecked Sendable {
    public let scenario: Scenario
    public let topology: Topology
    public let options: RunOptions
    private let progress: @Sendable (String) -> Void
    private let lock = NSLock()
    private var cancelled = false
    private var cacheAsideReport: CacheAsideReport?

    public init(scenario: Scenario, topology: Topology, options: RunOptions = RunOptions(), progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.scenario = scenario
        self.topology = topology
        self.options = options
        self.progress = progress
    }

    /// Stops the run early (Ctrl-C); `run()` then heals, stops the fleet and returns.
    public func cancel() { lock.withLock { cancelled = true } }
    private var isCancelled: Bool { lock.withLock { cancelled } }

    public static func defaultDirectory(for name: String) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        return "runs/\(name)-\(f.string(from: Date()))"
    }

    public func run() async throws -> RunResult {
        let seed = options.seed ?? scenario.seed ?? UInt64.random(in: 0...UInt64.max)
        let plan = scenario.scaled(by: options.scale)
        var dir = options.outDirectory ?? Self.defaultDirectory(for: scenario.name)
        // Servers run in their own folders: hand them absolute paths.
        if !dir.hasPrefix("/") { dir = FileManager.default.currentDirectoryPath + "/" + dir }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let historyPath = dir + "/history.jsonl"
        let writer = try HistoryWriter(path: historyPath, metadata: [
            "scenario": .string(scenario.name), "seed": .int(Int64(bitPattern: seed)), "topology": .string(topology.name),
            "scale": .double(options.scale), "duration_ns": .int(plan.durationNs),
        ])
        let fleet = try Fleet(topology: topology, directory: dir + "/nodes", seed: seed, executable: options.redisServer)
        progress("starting \(topology.name): \(topology.nodes.map(\.name).joined(separator: ", ")) in \(dir)")
        var stats = RegisterWorkload.Stats()
        var interrupted = false
        var runError: (any Error)?
        do {
            try await fleet.start()
            (stats, interrupted) = try await drive(plan, fleet: fleet, writer: writer, seed: seed)
        } catch {
            runError = error
        }
        // Always: heal (so nothing is left held), stop the fleet, close the history.
        await fleet.stop()
        try? writer.close()
        if let runError { throw runError }

        let paired = try HistoryReader.read(path: historyPath).paired()
        let outcomes = check(plan, paired)
        var result = RunResult(scenario: scenario.name, seed: seed, directory: dir, outcomes: outcomes, stats: stats, interrupted: interrupted)
        result.cacheAside = lock.withLock { cacheAsideReport }
        result.latency = LatencyChecker.perNode(paired.operations)
        try writeResult(result, plan: plan, fleet: fleet, to: dir + "/result.json")
        try HTMLReport.render(result, history: paired, topology: topology).write(toFile: dir + "/report.html", atomically: true, encoding: .utf8)
        return result
    }

    // MARK: Driving

    private struct Applied {
        var faults: [(proxy: String, fault: String)] = []
    }

    private func drive(_ plan: Scenario, fleet: Fleet, writer: HistoryWriter, seed: UInt64) async throws -> (RegisterWorkload.Stats, Bool) {
        let backend: RegisterWorkload.Backend
        switch topology.kind {
        case .redis where topology.cluster != nil:
            backend = .cluster(nodes: topology.nodes.map { RegisterWorkload.Target(node: $0.name, port: fleet.clientPort(of: $0.name)!) })
        case .redis:
            guard let primary = topology.primary, let primaryPort = fleet.clientPort(of: primary) else { throw FleetError("the topology has no primary") }
            let replicas = topology.replicas.map { RegisterWorkload.Target(node: $0, port: fleet.clientPort(of: $0)!) }
            backend = .replicated(primary: .init(node: primary, port: primaryPort), replicas: replicas)
        case .memcached:
            backend = .ketama(nodes: topology.nodes.map { RegisterWorkload.Target(node: $0.name, port: fleet.clientPort(of: $0.name)!) })
        }
        let workload: any ScenarioWorkload
        var cacheAside: (workload: CacheAsideWorkload, origin: OriginServer)?
        switch (plan.workload.kind, backend) {
        case (.cacheAside, .cluster):
            throw FleetError("the cache-aside workload runs on a memcached pool or a Redis primary with replicas, not on a cluster")
        case (.cacheAside, _):
            cacheAside = try await Self.startCacheAside(plan, fleet: fleet, backend: backend, writer: writer, seed: seed)
            workload = cacheAside!.workload
        case (.register, _):
            workload = RegisterWorkload(spec: plan.workload, seed: seed, backend: backend, writer: writer)
        case (.nearCache, .replicated(let primary, _)):
            workload = NearCacheWorkload(spec: plan.workload, seed: seed, target: primary, writer: writer)
        case (.nearCache, .ketama), (.nearCache, .cluster):
            throw FleetError("the near-cache workload needs a Redis primary with replicas (redis-replicated)")
        }
        var timeline = Timeline(plan.timeline)
        var applied = Applied()
        let t0 = monotonicNs()
        let end = t0 + plan.durationNs
        workload.start(untilNs: end)
        var lastProgress = t0
        var lastTotal = 0
        var healed = false
        var interrupted = false
        var failure: (any Error)?
        while true {
            let now = monotonicNs()
            if isCancelled { interrupted = true; break }
            if now >= end { break }
            for step in timeline.due(upTo: now - t0) {
                do {
                    try await apply(step, fleet: fleet, writer: writer, applied: &applied)
                } catch {
                    failure = error
                    break
                }
                if case .heal = step.directive { healed = true }
            }
            if failure != nil { break }
            if now - lastProgress >= 1_000_000_000 {
                let s = workload.currentStats
                let rate = Double(s.total - lastTotal) * 1e9 / Double(now - lastProgress)
                let active = timeline.active(at: now - t0)
                let phase = !active.isEmpty ? "fault" : (healed ? "recovery" : (timeline.next == 0 ? "warm-up" : "steady"))
                progress(String(format: "[%3ds] %@ | %.0f ops/s | errors %d (info %d, fail %d) | faults: %@",
                                Int((now - t0) / 1_000_000_000), phase, rate, s.fail + s.info, s.info, s.fail,
                                active.isEmpty ? "none" : active.joined(separator: "; ")))
                lastProgress = now
                lastTotal = s.total
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        await offThePool { workload.stop() }
        if let cacheAside, let spec = plan.workload.cacheAside {
            let report = await Self.finishCacheAside(cacheAside.workload, origin: cacheAside.origin, spec: spec)
            lock.withLock { cacheAsideReport = report }
        }
        // Heal anything still in force before the fleet stops, recorded so windows close.
        if !applied.faults.isEmpty || !fleet.proxies.partitions.isEmpty {
            try? await apply(TimelineStep(atNs: monotonicNs() - t0, directive: .heal), fleet: fleet, writer: writer, applied: &applied)
        }
        if let failure { throw failure }
        if let e = workload.historyFailure { throw e }
        return (workload.currentStats, interrupted)
    }

    private func nemesis(_ step: TimelineStep, writer: HistoryWriter) {
        let value: HistoryValue = .object(["directive": .string(step.directive.label), "at_ns": .int(step.atNs)])
        try? writer.append(HistoryEvent(type: .info, process: .nemesis, f: step.directive.nemesisF, value: value, time: monotonicNs()))
    }

    /// Carries out one directive. A fault's `start` is recorded before it is applied and a
    /// recovery's `stop` after, so windows over the fault contain all of it.
    private func apply(_ step: TimelineStep, fleet: Fleet, writer: HistoryWriter, applied: inout Applied) async throws {
        if step.directive.nemesisF == "start" { nemesis(step, writer: writer) }
        let n = applied.faults.count
        switch step.directive {
        case .partition(let groups, let mode):
            let names = Set(groups.joined())
            let partition = Partition(id: "timeline", groups: groups, mode: mode)
            for link in topology.links {
                // Clients reach every node unless the scenario puts `client` in a group.
                if link.from == Topology.client && !names.contains(Topology.client) { continue }
                let cut = partition.cutDirections(from: link.from, to: link.to)
                guard !cut.isEmpty, let proxy = fleet.proxies.proxy(named: link.proxy) else { continue }
                for fault in Self.partitionFaults(mode: mode, cut: cut, name: "timeline-\(n)-\(link.proxy)") {
                    try await proxy.addFault(fault)
                    applied.faults.append((link.proxy, fault.name))
                }
            }
        case .fault(let proxyName, let type, let stream, let attributes):
            guard let proxy = fleet.proxies.proxy(named: proxyName) else { throw FleetError("no proxy \(proxyName)") }
            let config = try FaultRegistry.makeConfig(type: type, attributes: attributes, strict: true)
            let fault = Fault(name: "timeline-\(n)", stream: stream, config: config)
            try await proxy.addFault(fault)
            applied.faults.append((proxyName, fault.name))
        case .heal:
            for (proxyName, faultName) in applied.faults {
                try? await fleet.proxies.proxy(named: proxyName)?.removeFault(named: faultName)
            }
            applied.faults.removeAll()
            try await fleet.proxies.heal()
        case .kill(let node): try fleet.kill(node)
        case .pause(let node): try fleet.pause(node)
        case .resume(let node): try fleet.resume(node)
        case .restart(let node, let keep): try fleet.restart(node, keepData: keep)
        case .promote(let node): try fleet.promote(node)
        case .replicaOf(let node, let primary): try fleet.replicaOf(node, primary: primary)
        }
        if step.directive.nemesisF == "stop" { nemesis(step, writer: writer) }
    }

    /// The faults that cut one link in `cut` directions, as the proxy's own partitions would.
    static func partitionFaults(mode: PartitionMode, cut: Set<StreamDirection>, name: String) -> [Fault] {
        switch mode {
        case .blackhole:
            return StreamDirection.allCases.filter(cut.contains).map {
                Fault(name: "\(name)-\($0.rawValue)", stream: $0, config: BlackholeConfig())
            }
        case .reset:
            return [Fault(name: name, stream: .upstream, config: ResetPeerConfig(timeoutMs: 0))]
        case .refuse:
            return [
                Fault(name: name + "-down", stream: .upstream, config: DownConfig()),
                Fault(name: name + "-reset", stream: .upstream, config: ResetPeerConfig(timeoutMs: 0)),
            ]
        }
    }

    // MARK: Checking and the run folder

    private func check(_ plan: Scenario, _ paired: PairedHistory) -> [CheckOutcome] {
        let readNodes: [String]
        switch plan.workload.reads {
        case _ where topology.kind == .memcached: readNodes = topology.nodes.map(\.name)
        case .any: readNodes = topology.nodes.map(\.name)
        case .primary: readNodes = topology.primary.map { [$0] } ?? []
        case .replicas: readNodes = topology.replicas.isEmpty ? (topology.primary.map { [$0] } ?? []) : topology.replicas
        }
        let cacheAside = lock.withLock { cacheAsideReport }
        return plan.checks.map { spec in
            if spec.kind == .originLoad { return Self.originLoadOutcome(spec, paired, report: cacheAside, scale: options.scale) }
            do {
                let options = try spec.options(scale: options.scale)
                return CheckOutcome(spec: spec, report: Self.requireReads(try Checker.check(paired, options), spec.kind, nodes: readNodes))
            } catch {
                return CheckOutcome(spec: spec, report: nil, error: "\(error)")
            }
        }
    }

    /// A window without a read from every node the workload reads from shows nothing about
    /// the missing nodes: unknown, not valid (a check that cannot fail is not a check). Happens
    /// when a run is too short for its windows.
    static func requireReads(_ report: CheckReport, _ kind: CheckKind, nodes: [String]) -> CheckReport {
        var r = report
        for i in r.checks.indices where r.checks[i].kind == kind && kind == .staleness {
            var perNode: [String: HistoryValue] = [:]
            if case .object(let o)? = r.checks[i].details["per_node"] { perNode = o }
            let missing = nodes.filter { n in
                guard case .object(let d)? = perNode[n], let reads = d["reads"]?.intValue else { return true }
                return reads == 0
            }
            if !missing.isEmpty {
                r.checks[i].verdict = .unknown
                r.checks[i].summary += "; no reads from \(missing.joined(separator: ", ")) in the window, so nothing is shown for them (is the run long enough?)"
            }
        }
        r.verdict = Verdict.combine(r.checks.map(\.verdict))
        return r
    }

    private func writeResult(_ result: RunResult, plan: Scenario, fleet: Fleet, to path: String) throws {
        var checks: [String] = []
        for o in result.outcomes {
            var head: [String: HistoryValue] = ["name": .string(o.spec.name), "check": .string(o.spec.kind.rawValue), "valid": o.verdict.jsonValue]
            if let f = o.spec.from { head["from"] = .string(f) }
            if let u = o.spec.until { head["until"] = .string(u) }
            if let opts = try? o.spec.options(scale: options.scale) {
                if let v = opts.maxStalenessNs { head["max_staleness_ns"] = .int(v) }
                if let v = opts.convergeWithinNs { head["converge_within_ns"] = .int(v) }
                if let v = opts.maxVersionsBehind { head["max_versions_behind"] = .int(Int64(v)) }
                if let v = opts.latencyNode { head["node"] = .string(v) }
                if let v = opts.minP99Ns { head["min_p99_ns"] = .int(v) }
                if let v = opts.othersMaxP99Ns { head["others_max_p99_ns"] = .int(v) }
                if let v = opts.othersMaxP50Ns { head["others_max_p50_ns"] = .int(v) }
                if let v = o.spec.maxInFlight { head["max_inflight"] = .int(Int64(v)) }
                if let v = o.spec.initialValue { head["initial_value"] = v }
            }
            if let e = o.error { head["error"] = .string(e) }
            var text = HistoryValue.object(head).description
            if let r = o.report {
                text.removeLast()
                text += ",\"report\":" + r.json() + "}"
            }
            checks.append(text)
        }
        var meta: [String: HistoryValue] = [
            "scenario": .string(scenario.name), "file": .string(scenario.file), "topology": .string(topology.name),
            "seed": .int(Int64(bitPattern: result.seed)), "scale": .double(options.scale), "duration_ns": .int(plan.durationNs),
            "valid": result.verdict.jsonValue, "interrupted": .bool(result.interrupted),
            "operations": .object(["ok": .int(Int64(result.stats.ok)), "fail": .int(Int64(result.stats.fail)), "info": .int(Int64(result.stats.info))]),
            "timeline": .list(plan.timeline.map { .object(["at_ns": .int($0.atNs), "directive": .string($0.directive.label), "f": .string($0.directive.nemesisF)]) }),
            "history": .string("history.jsonl"),
            "latency_per_node": LatencyChecker.json(result.latency),
            "logs": .list(Fleet.logFiles(topology).map { .string("nodes/" + $0) }),
        ]
        if let c = result.cacheAside { meta["cache_aside"] = c.json }
        var text = HistoryValue.object(meta).description
        text.removeLast()
        text += ",\"checks\":[" + checks.joined(separator: ",") + "]}\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
