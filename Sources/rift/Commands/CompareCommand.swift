import ArgumentParser
import Foundation
import Synchronization
import Rift
import RiftHarness

/// `rift compare`: parse the variations, run each variant with `rift run`'s runner, write the
/// comparison and print its table.
struct CompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run a scenario's variants side by side and show the trade-offs: stale reads, nines, origin load, errors, p99.",
        discussion: """
            Each --vary PATH=V1,V2 sets a field of the scenario file by its path (mapping keys and \
            list indexes joined by dots; none unsets the field); the variants are every \
            combination of the values, and each runs on the same seeds (the file's seed, then the \
            next ones with --seeds N). Per variant: its settings, the verdict of each check, and \
            the median over seeds (and range) of stale reads, max staleness, the nines of reads \
            consistent within --within, origin requests in flight at peak (cache-aside), errors \
            (fail + info), p99 latency of ok operations, lost writes (a lost_writes check), and \
            with client regions the longest divergence between them and each region's nines.

            The output folder (--out, default runs/compare-<scenario>-<UTC time>) holds one run \
            folder per variant and seed, compare.json and compare.html.

            Exit status: 0 when every variant ran (whatever its verdict), 1 when a run could not \
            finish, 2 on a bad path, value or option (named).

            Examples:
              rift compare faults/outage-miss-storm.yaml \\
                --vary workload.cap_origin_concurrency=none,100 \\
                --vary workload.serve_stale_if_possible=false,true
              rift compare faults/replica-partition.yaml \\
                --vary timeline.0.partition.mode=blackhole,refuse --seeds 3 --duration 10s
            """)

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(name: .long, help: "PATH=V1,V2: a field of the scenario and its values (none: unset). Repeat for a cross product.")
    var vary: [String] = []

    @Option(name: .long, help: "Run each variant on this many seeds (the file's seed and the next ones).")
    var seeds: Int = 1

    @Option(name: .long, help: "Run each variant in this long (e.g. 6s); the timeline scales with it.")
    var duration: String?

    @Option(name: .long, help: "The window of the consistency nines: reads stale by at most this are consistent.")
    var within: String = "100ms"

    @Option(name: .long, help: "The output folder. Default: runs/compare-<scenario>-<UTC time>.")
    var out: String?

    func validate() throws {
        if vary.isEmpty { throw ValidationError("give at least one --vary PATH=V1,V2") }
        if !(1...100).contains(seeds) { throw ValidationError("--seeds must be in 1...100") }
    }

    func run() async throws {
        let varies: [ScenarioVariants.Vary]
        let withinNs: Int64
        do {
            varies = try vary.map { (text) throws(ScenarioVariants.Failure) in try ScenarioVariants.Vary(parsing: text) }
            withinNs = try DurationParser.nanoseconds(within)
        } catch let error as DurationParser.Failure {
            throw CLIFailure.badInput("--within: \(error.description)")
        } catch {
            throw CLIFailure.badInput("\(error)")
        }
        if Set(varies.map(\.path)).count != varies.count { throw CLIFailure.badInput("--vary: a path is given twice") }
        guard let text = FileManager.default.contents(atPath: scenario).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw CLIFailure.badInput("\(scenario): cannot read the file (missing or not readable)")
        }
        // Every variant is parsed and validated before any runs: a bad value stops at once.
        var plans: [(settings: [(path: String, value: String)], scenario: Scenario, topology: Topology)] = []
        for settings in ScenarioVariants.combinations(varies) {
            do {
                let (s, t) = try ScenarioVariants.load(text: text, path: scenario, settings: settings)
                plans.append((settings, s, t))
            } catch {
                throw CLIFailure.badInput("\(scenario): \(error)")
            }
        }
        let base = plans[0].scenario
        let factor = try RunCommand.scaleFactor(duration: duration, scale: nil, scenarioNs: base.durationNs)
        let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withYear, .withMonth, .withDay, .withTime])
        let folder = out ?? "runs/compare-\(base.name)-\(stamp)"
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw CLIFailure.badInput("--out \(folder): cannot create the folder: \(error.localizedDescription)")
        }
        let firstSeed = base.seed ?? 1
        let seedList = (0..<UInt64(seeds)).map { firstSeed &+ $0 }
        say("rift compare: \(base.name): \(plans.count) variants x \(seedList.count) seeds, into \(folder)")

        let cancelled = CancelFlag()
        let watcher = Task.detached {
            let signal = await SignalWaiter.wait(for: [SIGINT, SIGTERM])
            say("rift compare: \(signal == SIGINT ? "SIGINT" : "SIGTERM"), stopping after healing the current run")
            cancelled.cancel()
        }
        defer { watcher.cancel() }

        var variants: [Comparison.Variant] = []
        for (i, plan) in plans.enumerated() {
            var variant = Comparison.Variant(settings: plan.settings)
            for seed in seedList {
                let dir = "\(folder)/v\(i + 1)-seed\(seed)"
                let runner = ScenarioRunner(
                    scenario: plan.scenario, topology: plan.topology, options: RunOptions(seed: seed, scale: factor, outDirectory: dir))
                cancelled.onCancel { runner.cancel() }
                let result: RunResult
                do { result = try await runner.run() } catch {
                    throw CLIFailure.failed("variant \(i + 1) (\(variant.label)) seed \(seed): the run failed: \(error)")
                }
                if result.record.interrupted { throw CLIFailure.failed("variant \(i + 1) (\(variant.label)) seed \(seed): interrupted") }
                let history: PairedHistory
                do { history = try HistoryReader.read(path: dir + "/" + result.record.history).paired() } catch {
                    throw CLIFailure.failed("\(dir): cannot read the run's history back: \(error)")
                }
                let metrics = Comparison.Metrics.measure(result.record, history: history, withinNs: withinNs)
                variant.runs.append(Comparison.Run(
                    seed: seed, directory: dir, verdict: result.verdict,
                    checks: result.outcomes.map { ($0.spec.name, $0.verdict) }, metrics: metrics))
                let peak = metrics.originPeakInflight.map { ", origin peak \($0)" } ?? ""
                say("rift compare: variant \(i + 1)/\(plans.count) (\(variant.label)) seed \(seed): \(result.verdict.label), "
                    + "\(metrics.staleReads) stale reads\(peak), \(metrics.errors) errors, p99 \(DurationParser.readable(nanoseconds: metrics.p99Ns))")
            }
            variants.append(variant)
        }
        let comparison = Comparison(scenario: base.name, withinNs: withinNs, variants: variants)
        do {
            try comparison.json().write(toFile: folder + "/compare.json", atomically: true, encoding: .utf8)
            try comparison.html().write(toFile: folder + "/compare.html", atomically: true, encoding: .utf8)
        } catch {
            throw CLIFailure.failed("\(folder): cannot write the comparison: \(error.localizedDescription)")
        }
        say("\n" + TextTable.render(comparison.rows()))
        let absolute = URL(fileURLWithPath: folder).standardizedFileURL.path
        say("\ncompare: \(absolute)/compare.json, \(absolute)/compare.html")
    }
}

/// Set once by a signal; runners registered after it are cancelled at once.
final class CancelFlag: Sendable {
    private let state = Mutex<(cancelled: Bool, actions: [@Sendable () -> Void])>((false, []))

    func cancel() {
        let actions = state.withLock { s in
            s.cancelled = true
            defer { s.actions = [] }
            return s.actions
        }
        for a in actions { a() }
    }

    /// Runs `action` on cancel (now, if already cancelled).
    func onCancel(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { s in
            if !s.cancelled { s.actions = [action] }
            return s.cancelled
        }
        if now { action() }
    }
}
