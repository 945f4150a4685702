import ArgumentParser
import Foundation
import Rift
import RiftHarness

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario: a real fleet behind Rift proxies, a recorded workload, a fault timeline, checks.",
        discussion: """
            The scenario file (faults/*.yaml) names a topology (harness/<name>.yaml), a workload, \
            a timeline of faults and the checks that must hold. The run folder \
            (runs/<scenario>-<time>/ unless --out) gets history.jsonl, result.json and the \
            servers' logs. Every process the run starts is stopped at the end, on Ctrl-C too.

            Exit status: 0 when every check holds, 1 when one does not (or the run could not \
            finish), 2 on a bad scenario file or option.

            --duration D runs the scenario in D instead of its own duration: the timeline and the \
            bounds of checks marked `scaled: true` shrink or grow by the same factor (--scale F \
            gives the factor directly). Settle offsets such as heal+2s do not scale.

            Examples:
              rift run faults/replica-partition.yaml
              rift run faults/replica-partition.yaml --duration 6s --seed 7 --out /tmp/run1
            """)

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(name: .long, help: "The run seed (workload choices, fault randomness). Default: the file's seed, else random.")
    var seed: UInt64?

    @Option(name: .long, help: "Run in this long (e.g. 6s); the timeline scales with it.")
    var duration: String?

    @Option(name: .long, help: "Multiply every time in the timeline (and scaled bounds) by this factor.")
    var scale: Double?

    @Option(name: .long, help: "The run folder. Default: runs/<scenario>-<UTC time>.")
    var out: String?

    func validate() throws {
        if duration != nil && scale != nil { throw ValidationError("give --duration or --scale, not both") }
        if let scale, !(scale > 0 && scale <= 100) { throw ValidationError("--scale must be in (0, 100]") }
    }

    func run() async throws {
        let loaded: (Scenario, Topology)
        do {
            loaded = try ScenarioParser.load(path: scenario)
        } catch {
            throw CLIFailure.badInput("\(error)")
        }
        let (file, topology) = loaded
        let factor = try Self.scaleFactor(duration: duration, scale: scale, scenarioNs: file.durationNs)
        let runner = ScenarioRunner(
            scenario: file, topology: topology, options: RunOptions(seed: seed, scale: factor, outDirectory: out),
            progress: { say("rift run: \($0)") })
        let watcher = Task.detached {
            let signal = await SignalWaiter.wait(for: [SIGINT, SIGTERM])
            say("rift run: \(signal == SIGINT ? "SIGINT" : "SIGTERM"), healing and stopping the fleet")
            runner.cancel()
        }
        defer { watcher.cancel() }
        say("rift run: \(file.name) (\(DurationParser.readable(nanoseconds: Int64(Double(file.durationNs) * factor))), scale \(String(format: "%.2f", factor)))")
        let result: RunResult
        do {
            result = try await runner.run()
        } catch let e as FleetError where e.isBadInput {
            throw CLIFailure.badInput("\(file.name): \(e)")
        } catch {
            throw CLIFailure.failed("\(file.name): the run failed: \(error)")
        }
        say(RunOutput.text(result))
        if result.verdict != .valid { throw ExitCode(1) }
    }
}

extension RunCommand {
    /// The factor a run's timeline scales by: `--duration D` over the scenario's own duration,
    /// else `--scale`, else 1 (`rift run` and `rift compare`).
    static func scaleFactor(duration: String?, scale: Double?, scenarioNs: Int64) throws -> Double {
        guard let duration else { return scale ?? 1 }
        do {
            let ns = try DurationParser.nanoseconds(duration)
            guard ns > 0 else { throw CLIFailure.badInput("--duration must be more than 0") }
            return Double(ns) / Double(scenarioNs)
        } catch let e as DurationParser.Failure {
            throw CLIFailure.badInput("--duration: \(e.description)")
        }
    }
}

enum RunOutput {
    static func text(_ r: RunResult) -> String {
        var rows = [["CHECK", "WINDOW", "BOUND", "VERDICT", "SUMMARY"]]
        for o in r.outcomes {
            rows.append([o.spec.name, o.spec.windowLabel, o.spec.settingsLabel, o.verdict.label, o.error ?? o.result?.summary ?? "-"])
        }
        let counts = r.record.operations
        var out = "\noperations: \(counts.ok) ok, \(counts.fail) fail, \(counts.info) info (seed \(r.record.seed))\n"
        if !r.record.latencyPerNode.isEmpty {
            var lat = [["NODE", "OK OPS", "P50", "P99", "MAX"]]
            for n in r.record.latencyPerNode.keys.sorted() {
                let s = r.record.latencyPerNode[n]!
                lat.append([n, String(s.operations)] + [s.p50Ns, s.p99Ns, s.maxNs].map { DurationParser.readable(nanoseconds: $0) })
            }
            out += "latency per node (ok operations, whole run):\n" + TextTable.render(lat) + "\n\n"
        }
        if let load = r.record.keyLoad, load.operations > 0 {
            let top = load.topKeys.prefix(3).map { "\($0.key) \(String(format: "%.1f%%", 100 * $0.share))" }.joined(separator: ", ")
            let shares = load.perNode.keys.sorted().map { "\($0) \(String(format: "%.1f%%", 100 * load.perNode[$0]!.share))" }.joined(separator: ", ")
            out += "key distribution: \(shares); skew \(String(format: "%.2f", load.skew)); top keys \(top)\n\n"
        }
        if let d = r.record.divergence {
            let ms = { (ns: Int64) in DurationParser.readable(nanoseconds: ns) }
            let worst = d.perKey.first.map { "; longest total \($0.key) \(ms($0.totalNs))" } ?? ""
            out += "divergence between regions \(d.regions.joined(separator: ", ")): \(d.episodes) episodes over \(d.keys) keys, max \(ms(d.maxNs)), p99 \(ms(d.p99Ns)), total \(ms(d.totalNs))\(worst)\n\n"
        }
        out += TextTable.render(rows) + "\n"
        for o in r.outcomes where o.verdict == .invalid {
            if let a = o.result?.anomalies.first {
                out += "\nfirst anomaly of '\(o.spec.name)': \(a.message)\n"
                out += OperationTable.render(a.operations, roles: a.roles, indent: "  ")
            }
        }
        let failed = r.outcomes.filter { $0.verdict == .invalid }.count
        let undecided = r.outcomes.filter { $0.verdict == .unknown }.count
        for failure in r.record.agentFailures { out += "\nagent stopped answering: \(failure)" }
        if r.record.interrupted {
            out += "\nverdict: INTERRUPTED (no verdict)"
        } else if !r.record.agentFailures.isEmpty {
            out += "\nverdict: UNKNOWN - \(r.record.agentFailures.count) agent(s) stopped answering, so what the network did is not known"
                + " (healed and cleaned up on the agents that answer)"
        } else if !r.record.actionFailures.isEmpty {
            out += "\nverdict: UNKNOWN - \(r.record.actionFailures.count) node action(s) failed, so what the fleet did is not known: "
                + r.record.actionFailures.joined(separator: "; ")
        } else if failed > 0 {
            out += "\nverdict: FAIL - \(failed) of \(r.outcomes.count) checks do not hold"
        } else if undecided > 0 {
            out += "\nverdict: UNKNOWN - \(undecided) of \(r.outcomes.count) checks could not be decided (exit 1: not shown to hold)"
        } else if r.outcomes.isEmpty {
            out += "\nverdict: UNKNOWN - the scenario has no check (exit 1: nothing is shown to hold)"
        } else {
            out += "\nverdict: PASS - all \(r.outcomes.count) checks hold"
        }
        out += "\nrun folder: \(r.directory) (history.jsonl, result.json, the servers' logs in nodes/)"
        out += "\nreport: \(r.reportPath)"
        return out
    }
}
