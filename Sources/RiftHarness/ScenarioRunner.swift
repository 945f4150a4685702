import Foundation
import Synchronization
import RiftChecker
import RiftCore
import RiftFaults
import RiftHistory
import RiftProxy
import RiftReport

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

/// What a run produced: its result.json, and where its folder is.
public struct RunResult: Sendable {
    public var record: RunRecord
    public var directory: String
    /// Valid only when every check is valid and the run was not interrupted.
    public var verdict: Verdict { record.verdict }
    public var outcomes: [CheckOutcome] { record.checks }
    /// The run folder's report.html, as an absolute path.
    public var reportPath: String { directory + "/report.html" }
}

/// Carries out a scenario: fleet up, workload, timeline, heal, fleet down, checks, run folder.
/// The fleet is healed and stopped at the end whatever happens (errors, `cancel()`).
public final class ScenarioRunner: Sendable {
    public let scenario: Scenario
    public let topology: Topology
    public let options: RunOptions
    private let progress: @Sendable (String) -> Void
    /// Set by `cancel()` from another thread; the cache-aside report once its workload ends.
    private let state = Mutex<(cancelled: Bool, cacheAsideReport: CacheAsideReport?, actionFailures: [String])>((false, nil, []))

    public init(scenario: Scenario, topology: Topology, options: RunOptions = RunOptions(), progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.scenario = scenario
        self.topology = topology
        self.options = options
        self.progress = progress
    }

    /// Stops the run early (Ctrl-C); `run()` then heals, stops the fleet and returns.
    public func cancel() { state.withLock { $0.cancelled = true } }
    private var isCancelled: Bool { state.withLock { $0.cancelled } }

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
        var metadata: [String: HistoryValue] = [
            "scenario": .string(scenario.name), "seed": .int(Int64(bitPattern: seed)), "topology": .string(topology.name),
            "scale": .double(options.scale), "duration_ns": .int(plan.durationNs),
        ]
        if !plan.workload.clientRegions.isEmpty {
            // Each client process's home region, for checks scoped to a region.
            var regions: [String: [HistoryValue]] = [:]
            for p in 0..<plan.workload.processes {
                if let r = plan.workload.region(ofProcess: p) { regions[r, default: []].append(.int(Int64(p))) }
            }
            metadata[PairedHistory.clientRegionsKey] = .object(regions.mapValues { .list($0) })
        }
        let writer = try HistoryWriter(path: historyPath, metadata: metadata)
        let fleet = try Fleet(topology: topology, directory: dir + "/nodes", seed: seed, executable: options.redisServer)
        progress("starting \(topology.name): \(topology.nodes.map(\.name).joined(separator: ", ")) in \(dir)")
        var stats = RegisterWorkload.Stats()
        var interrupted = false
        var runError: (any Error)?
        var twemproxy: TwemproxyStats?
        do {
            try await fleet.start()
            (stats, interrupted) = try await drive(plan, fleet: fleet, writer: writer, seed: seed)
            twemproxy = await scrapeStats(fleet)
        } catch {
            runError = error
        }
        // Always: heal (so nothing is left held), stop the fleet, close the history.
        await fleet.stop()
        try? writer.close()
        let agentFailures = fleet.agentFailures
        if let runError {
            if agentFailures.isEmpty { throw runError }
            throw FleetError("\(runError); agents that stopped answering: " + agentFailures.joined(separator: " | "),
                             isBadInput: (runError as? FleetError)?.isBadInput ?? false)
        }

        let paired = try HistoryReader.read(path: historyPath).paired()
        let (cacheAside, actionFailures) = state.withLock { ($0.cacheAsideReport, $0.actionFailures) }
        let context = CheckContext(paired, series: CheckSeries(originInFlight: cacheAside?.samples))
        let record = RunRecord(
            scenario: scenario.name, file: scenario.file, topology: topology.name, nodes: topology.nodes.map(\.name), seed: seed,
            scale: options.scale, durationNs: plan.durationNs, interrupted: interrupted, actionFailures: actionFailures, agentFailures: agentFailures,
            operations: .init(ok: stats.ok, fail: stats.fail, info: stats.info),
            timeline: plan.timeline.map { .init(atNs: $0.atNs, directive: $0.directive.label, f: $0.directive.nemesisF) },
            latencyPerNode: LatencyChecker.perNode(paired.operations), keyLoad: KeyLoad.measure(paired.operations, nodes: topology.nodes.map(\.name)),
            divergence: Divergence.measure(paired), logs: Fleet.logFiles(topology).map { "nodes/" + $0 },
            cacheAside: cacheAside, twemproxy: twemproxy, checks: Checker.run(checkSpecs(plan), context))
        try record.jsonData().write(to: URL(fileURLWithPath: dir + "/result.json"))
        try HTMLReport.render(record, history: paired, staleness: context.readStaleness)
            .write(toFile: dir + "/report.html", atomically: true, encoding: .utf8)
        return RunResult(record: record, directory: dir)
    }

    // MARK: Driving

    private struct Applied {
        var faults: [(proxy: String, fault: String)] = []
    }

    /// Each client region's cache clients (`workload.clients`); empty without regions.
    private func regionalClients(_ spec: WorkloadSpec, fleet: Fleet) throws -> [String: MakeCacheClient] {
        var regional: [String: MakeCacheClient] = [:]
        for r in spec.clientRegions { regional[r.region] = try topology.kind.cacheClients(topology, fleet: fleet, spec: spec, region: r.region) }
        return regional
    }

    private func drive(_ plan: Scenario, fleet: Fleet, writer: HistoryWriter, seed: UInt64) async throws -> (RegisterWorkload.Stats, Bool) {
        if let why = topology.kind.refusal(of: plan.workload) { throw FleetError(why) }
        let clients = try fleet.cacheClients(for: plan.workload)
        let workload: any ScenarioWorkload
        var cacheAside: CacheAsideServers?
        var sets: SetWorkload?
        switch plan.workload.kind {
        case .cacheAside:
            cacheAside = try await Self.startCacheAside(plan, fleet: fleet, clients: clients, writer: writer, seed: seed)
            workload = cacheAside!.workload
        case .register:
            workload = RegisterWorkload(spec: plan.workload, seed: seed, clients: clients, regionalClients: try regionalClients(plan.workload, fleet: fleet), writer: writer)
        case .nearCache:
            workload = NearCacheWorkload(spec: plan.workload, seed: seed, clients: clients, writer: writer)
        case .set:
            let setWorkload = try SetWorkload(spec: plan.workload, seed: seed, clients: clients, regionalClients: try regionalClients(plan.workload, fleet: fleet), writer: writer)
            sets = setWorkload
            workload = setWorkload
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
        // An agent that stopped answering ends the run; its verdict is then unknown.
        var agentLost = false
        while true {
            let now = monotonicNs()
            if isCancelled { interrupted = true; break }
            if now >= end { break }
            for step in timeline.due(upTo: now - t0) {
                do {
                    try await apply(step, fleet: fleet, writer: writer, applied: &applied, workload: plan.workload)
                } catch let e as ActionFailure {
                    // The user's command for a node action failed: the run goes on, but what
                    // the fleet did is not known, so neither is the verdict.
                    progress("node action failed: \(e.message)")
                    state.withLock { $0.actionFailures.append(e.message) }
                    let value: HistoryValue = .object(["directive": .string(step.directive.label), "at_ns": .int(step.atNs), "error": .string(e.message)])
                    try? writer.append(HistoryEvent(type: .info, process: .nemesis, f: "action-failed", value: value, time: monotonicNs()))
                } catch let e as AgentError where e.unreachable {
                    agentLost = true
                    agentSilent(e, writer: writer)
                    break
                } catch {
                    failure = error
                    break
                }
                if case .heal = step.directive { healed = true }
            }
            if failure != nil || agentLost { break }
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
                if let e = await fleet.silentAgent() {
                    agentLost = true
                    agentSilent(e, writer: writer)
                    break
                }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        await offThePool { workload.stop() }
        if let cacheAside, let spec = plan.workload.cacheAside {
            let report = await Self.finishCacheAside(cacheAside, spec: spec)
            state.withLock { $0.cacheAsideReport = report }
        }
        // Heal anything still in force before the fleet stops, recorded so windows close.
        // On agents, only on those that answer.
        if !applied.faults.isEmpty || !fleet.proxies.partitions.isEmpty {
            try? await apply(TimelineStep(atNs: monotonicNs() - t0, directive: .heal), fleet: fleet, writer: writer, applied: &applied)
        }
        // Jepsen's final read: on the healed fleet, where it takes writes now.
        if let sets, failure == nil, !interrupted, !agentLost {
            let (topology, spec) = (self.topology, plan.workload)
            await offThePool { sets.finalRead { try topology.kind.currentClient(topology, fleet: fleet, spec: spec) } }
        }
        if let failure { throw failure }
        if let e = workload.historyFailure { throw e }
        return (workload.currentStats, interrupted)
    }

    /// An agent stopped answering: told, and recorded as a nemesis `info` event, since what
    /// the network did from then on is not known.
    private func agentSilent(_ error: AgentError, writer: HistoryWriter) {
        progress("\(error): ending the run")
        let value: HistoryValue = .object(["agent": .string(error.agent), "error": .string(error.message)])
        try? writer.append(HistoryEvent(type: .info, process: .nemesis, f: "agent-silent", value: value, time: monotonicNs()))
    }

    private func nemesis(_ step: TimelineStep, writer: HistoryWriter, extra: [String: HistoryValue] = [:]) {
        let value: HistoryValue = .object(extra.merging(["directive": .string(step.directive.label), "at_ns": .int(step.atNs)]) { $1 })
        try? writer.append(HistoryEvent(type: .info, process: .nemesis, f: step.directive.nemesisF, value: value, time: monotonicNs()))
    }

    /// Carries out one directive. A fault's `start` is recorded before it is applied and a
    /// recovery's `stop` after, so windows over the fault contain all of it; a `rebalance`
    /// once its keys have moved, with the keys it moved.
    private func apply(_ step: TimelineStep, fleet: Fleet, writer: HistoryWriter, applied: inout Applied, workload: WorkloadSpec? = nil) async throws {
        if step.directive.nemesisF == "start" { nemesis(step, writer: writer) }
        let n = applied.faults.count
        switch step.directive {
        case .partition(let groups, let mode):
            let expanded = topology.expandingRegions(groups)
            let names = Set(expanded.joined())
            let partition = Partition(id: "timeline", groups: expanded, mode: mode)
            for link in topology.links {
                guard let from = topology.partitionEnd(of: link, named: names) else { continue }
                let cut = partition.cutDirections(from: from, to: link.to)
                guard !cut.isEmpty, fleet.hasLink(link.proxy) else { continue }
                for fault in Self.partitionFaults(mode: mode, cut: cut, name: "timeline-\(n)-\(link.proxy)") {
                    // Recorded first: a fault whose answer was lost is still healed.
                    applied.faults.append((link.proxy, fault.name))
                    try await fleet.addFault(fault, link: link.proxy)
                }
            }
        case .fault(let proxyName, let type, let stream, let attributes):
            guard fleet.hasLink(proxyName) else { throw FleetError("no proxy \(proxyName)") }
            let config = try FaultRegistry.makeConfig(type: type, attributes: attributes, strict: true)
            let fault = Fault(name: "timeline-\(n)", stream: stream, config: config)
            applied.faults.append((proxyName, fault.name))
            try await fleet.addFault(fault, link: proxyName)
        case .heal:
            for (proxyName, faultName) in applied.faults {
                try? await fleet.removeFault(named: faultName, link: proxyName)
            }
            applied.faults.removeAll()
            try await fleet.proxies.heal()
        case .kill(let node): try fleet.kill(node)
        case .pause(let node): try fleet.pause(node)
        case .resume(let node): try fleet.resume(node)
        case .restart(let node, let keep): try fleet.restart(node, keepData: keep)
        case .promote(let node): try fleet.promote(node)
        case .replicaOf(let node, let primary): try fleet.replicaOf(node, primary: primary)
        case .rebalance(let node, let to, let keys, let hold):
            let candidates: [String]
            switch keys {
            case .hot: candidates = workload?.hotKeys ?? []
            case .named(let names): candidates = names
            }
            let moved = try await offThePool { Result { try fleet.rebalance(node, to: to, keys: candidates, holdNs: hold) } }.get()
            progress("rebalance \(node) -> \(to): moved \(moved.joined(separator: ", "))")
            nemesis(step, writer: writer, extra: ["keys": .list(moved.map { .string($0) })])
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

    /// The proxy tier's counters (nutcracker's), read while it still runs. A failed read is
    /// told and left out of result.json: the history, and so the verdict, is whole without it.
    private func scrapeStats(_ fleet: Fleet) async -> TwemproxyStats? {
        let (servers, progress) = (fleet.servers, self.progress)
        return await offThePool {
            do {
                guard let s = try servers.scrapeStats(deadlineNs: monotonicNs() + 2_000_000_000) else { return nil }
                let perServer = s.servers.keys.sorted().map { "\($0) \(s.servers[$0]!.requests) requests, \(s.servers[$0]!.errors) errors" }
                progress("nutcracker: \(s.ejections) ejections; " + perServer.joined(separator: "; "))
                return s
            } catch {
                progress("nutcracker stats not read: \(error)")
                return nil
            }
        }
    }

    /// The plan's checks (bounds already scaled), told which nodes the workload reads from: a
    /// window without a read from one of them shows nothing about it.
    private func checkSpecs(_ plan: Scenario) -> [CheckSpec] {
        let readNodes = topology.kind.readNodes(topology, reads: plan.workload.reads)
        return plan.checks.map { spec in
            var s = spec
            // A region's clients read from its own nodes (all of them when it has none).
            let local = spec.region.map { r in readNodes.filter { topology.region(of: $0) == r } } ?? []
            s.check = spec.check.expectingReads(from: local.isEmpty ? readNodes : local)
            return s
        }
    }
}
