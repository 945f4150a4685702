import Foundation
import RiftHistory

/// A run's result.json: what ran, each check as it ran with its report, and what the run
/// measured beside its history. `rift run` writes it and `rift report` reads it back, with this
/// one Codable type, so a report re-runs exactly the run's checks.
public struct RunRecord: Sendable, Codable {
    public struct OperationCounts: Sendable, Codable, Equatable {
        public var ok = 0
        public var fail = 0
        public var info = 0
        public var total: Int { ok + fail + info }
        public init(ok: Int = 0, fail: Int = 0, info: Int = 0) {
            self.ok = ok
            self.fail = fail
            self.info = info
        }
    }

    /// One timeline step as it was carried out.
    public struct Step: Sendable, Codable, Equatable {
        public var atNs: Int64
        public var directive: String
        /// The nemesis event's `f`: `start` or `stop`.
        public var f: String
        public init(atNs: Int64, directive: String, f: String) {
            self.atNs = atNs
            self.directive = directive
            self.f = f
        }
        enum CodingKeys: String, CodingKey {
            case atNs = "at_ns", directive, f
        }
    }

    public var scenario: String
    public var file: String?
    public var topology: String
    /// The topology's nodes in its order (the report's lanes).
    public var nodes: [String]
    public var seed: UInt64
    public var scale: Double
    public var durationNs: Int64
    public var interrupted: Bool
    /// Node actions whose command failed (an external fleet's): the verdict is then unknown.
    public var actionFailures: [String]
    /// Agents (on other hosts) that stopped answering, each with what Rift created there that
    /// may remain: the verdict is then unknown.
    public var agentFailures: [String]
    public var operations: OperationCounts
    public var timeline: [Step]
    /// The history's file name, beside result.json.
    public var history: String
    /// Latency of the `ok` operations per node over the whole run.
    public var latencyPerNode: [String: LatencyChecker.Stats]
    /// Operations per node and per key (`key_distribution`); nil in a record written before it.
    public var keyLoad: KeyLoad?
    /// How long the client regions' observed values differed per key; nil without regions.
    public var divergence: Divergence?
    public var logs: [String]
    /// The cache-aside workload's counts and origin load; nil for other workloads.
    public var cacheAside: CacheAsideRecord?
    /// nutcracker's counters at the end of the run; nil for fleets without twemproxy.
    public var twemproxy: TwemproxyStats?
    public var checks: [CheckOutcome]

    public init(scenario: String, file: String? = nil, topology: String, nodes: [String] = [], seed: UInt64, scale: Double = 1,
                durationNs: Int64 = 0, interrupted: Bool = false, actionFailures: [String] = [], agentFailures: [String] = [], operations: OperationCounts = .init(), timeline: [Step] = [],
                history: String = "history.jsonl", latencyPerNode: [String: LatencyChecker.Stats] = [:], keyLoad: KeyLoad? = nil, divergence: Divergence? = nil, logs: [String] = [],
                cacheAside: CacheAsideRecord? = nil, twemproxy: TwemproxyStats? = nil, checks: [CheckOutcome] = []) {
        self.scenario = scenario
        self.file = file
        self.topology = topology
        self.nodes = nodes
        self.seed = seed
        self.scale = scale
        self.durationNs = durationNs
        self.interrupted = interrupted
        self.actionFailures = actionFailures
        self.agentFailures = agentFailures
        self.operations = operations
        self.timeline = timeline
        self.history = history
        self.latencyPerNode = latencyPerNode
        self.keyLoad = keyLoad
        self.divergence = divergence
        self.logs = logs
        self.cacheAside = cacheAside
        self.twemproxy = twemproxy
        self.checks = checks
    }

    /// Valid only when every check is valid and the run was not interrupted; no check is unknown.
    public var verdict: Verdict { interrupted || !actionFailures.isEmpty || !agentFailures.isEmpty ? .unknown : Verdict.combine(checks.map(\.verdict)) }

    /// What the run measured beside its history, for the checks that read it.
    public var series: CheckSeries { CheckSeries(originInFlight: cacheAside?.samples) }

    enum CodingKeys: String, CodingKey {
        case scenario, file, topology, nodes, seed, scale, interrupted, operations, timeline, history, logs, checks, valid, twemproxy, divergence
        case actionFailures = "action_failures", agentFailures = "agent_failures"
        case durationNs = "duration_ns", latencyPerNode = "latency_per_node", keyLoad = "key_distribution", cacheAside = "cache_aside"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scenario = try c.decode(String.self, forKey: .scenario)
        file = try c.decodeIfPresent(String.self, forKey: .file)
        topology = try c.decode(String.self, forKey: .topology)
        nodes = try c.decodeIfPresent([String].self, forKey: .nodes) ?? []
        seed = try c.decode(UInt64.self, forKey: .seed)
        scale = try c.decodeIfPresent(Double.self, forKey: .scale) ?? 1
        durationNs = try c.decodeIfPresent(Int64.self, forKey: .durationNs) ?? 0
        interrupted = try c.decodeIfPresent(Bool.self, forKey: .interrupted) ?? false
        actionFailures = try c.decodeIfPresent([String].self, forKey: .actionFailures) ?? []
        agentFailures = try c.decodeIfPresent([String].self, forKey: .agentFailures) ?? []
        operations = try c.decodeIfPresent(OperationCounts.self, forKey: .operations) ?? .init()
        timeline = try c.decodeIfPresent([Step].self, forKey: .timeline) ?? []
        history = try c.decodeIfPresent(String.self, forKey: .history) ?? "history.jsonl"
        latencyPerNode = try c.decodeIfPresent([String: LatencyChecker.Stats].self, forKey: .latencyPerNode) ?? [:]
        keyLoad = try c.decodeIfPresent(KeyLoad.self, forKey: .keyLoad)
        divergence = try c.decodeIfPresent(Divergence.self, forKey: .divergence)
        logs = try c.decodeIfPresent([String].self, forKey: .logs) ?? []
        cacheAside = try c.decodeIfPresent(CacheAsideRecord.self, forKey: .cacheAside)
        twemproxy = try c.decodeIfPresent(TwemproxyStats.self, forKey: .twemproxy)
        checks = try c.decode([CheckOutcome].self, forKey: .checks)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(scenario, forKey: .scenario)
        try c.encodeIfPresent(file, forKey: .file)
        try c.encode(topology, forKey: .topology)
        try c.encode(nodes, forKey: .nodes)
        try c.encode(seed, forKey: .seed)
        try c.encode(scale, forKey: .scale)
        try c.encode(durationNs, forKey: .durationNs)
        try c.encode(verdict.jsonValue, forKey: .valid)
        try c.encode(interrupted, forKey: .interrupted)
        if !actionFailures.isEmpty { try c.encode(actionFailures, forKey: .actionFailures) }
        if !agentFailures.isEmpty { try c.encode(agentFailures, forKey: .agentFailures) }
        try c.encode(operations, forKey: .operations)
        try c.encode(timeline, forKey: .timeline)
        try c.encode(history, forKey: .history)
        try c.encode(latencyPerNode, forKey: .latencyPerNode)
        try c.encodeIfPresent(keyLoad, forKey: .keyLoad)
        try c.encodeIfPresent(divergence, forKey: .divergence)
        try c.encode(logs, forKey: .logs)
        try c.encodeIfPresent(cacheAside, forKey: .cacheAside)
        try c.encodeIfPresent(twemproxy, forKey: .twemproxy)
        try c.encode(checks, forKey: .checks)
    }
}

/// A cache-aside run's own results: the cache's counts and the origin's load over time (the
/// series the `origin_load` check reads and the report draws).
public struct CacheAsideRecord: Sendable, Codable, Equatable {
    public struct Counts: Sendable, Codable, Equatable {
        public var hits = 0
        public var misses = 0
        public var cacheErrors = 0
        public var staleServed = 0
        public var originReads = 0
        public var originWrites = 0
        /// Origin requests not sent: no permit (over the cap).
        public var overCap = 0
        public var fills = 0
        public var fillErrors = 0
        public var invalidations = 0
        public var invalidationErrors = 0
        /// The invalidation bus (`invalidation: {mode: bus}`): changes the origin published and
        /// could not send, changes the invalidators found missing (gaps) or read late, times a
        /// channel fell silent, times the lag remedy cut a family's entries to the short TTL, and
        /// reads whose fill used it. All 0 without a bus.
        public var busPublished = 0
        public var busLost = 0
        public var busMissed = 0
        public var busLate = 0
        public var busSilences = 0
        public var ttlShortenings = 0
        public var shortTtlFills = 0
        public init() {}

        enum CodingKeys: String, CodingKey {
            case hits, misses, fills, invalidations
            case cacheErrors = "cache_errors", staleServed = "stale_served", originReads = "origin_reads", originWrites = "origin_writes"
            case overCap = "over_cap", fillErrors = "fill_errors", invalidationErrors = "invalidation_errors"
            case busPublished = "bus_published", busLost = "bus_lost", busMissed = "bus_missed", busLate = "bus_late"
            case busSilences = "bus_silences", ttlShortenings = "ttl_shortenings", shortTtlFills = "short_ttl_fills"
        }

        /// A count absent from the file is 0 (result.json files written before it existed).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func n(_ k: CodingKeys) throws -> Int { try c.decodeIfPresent(Int.self, forKey: k) ?? 0 }
            (hits, misses, fills, invalidations) = (try n(.hits), try n(.misses), try n(.fills), try n(.invalidations))
            (cacheErrors, staleServed, originReads, originWrites) = (try n(.cacheErrors), try n(.staleServed), try n(.originReads), try n(.originWrites))
            (overCap, fillErrors, invalidationErrors) = (try n(.overCap), try n(.fillErrors), try n(.invalidationErrors))
            (busPublished, busLost, busMissed, busLate) = (try n(.busPublished), try n(.busLost), try n(.busMissed), try n(.busLate))
            (busSilences, ttlShortenings, shortTtlFills) = (try n(.busSilences), try n(.ttlShortenings), try n(.shortTtlFills))
        }
    }

    public var stats: Counts
    /// `[time_ns, in flight at the sample, peak since the previous sample]` in JSON.
    public var samples: [OriginLoadChecker.Sample]
    /// Samples over the origin's limit, not kept.
    public var droppedSamples: Int
    /// The origin's all-time peak of requests in flight (exact, not sampled).
    public var peakInFlight: Int
    public var cap: Int?
    public var serviceTimeNs: Int64
    /// The run cached under `<key>@v<version>` and `<key>@ver` (`versioned_keys`).
    public var versionedKeys = false

    public init(stats: Counts, samples: [OriginLoadChecker.Sample], droppedSamples: Int, peakInFlight: Int, cap: Int?, serviceTimeNs: Int64, versionedKeys: Bool = false) {
        self.stats = stats
        self.samples = samples
        self.droppedSamples = droppedSamples
        self.peakInFlight = peakInFlight
        self.cap = cap
        self.serviceTimeNs = serviceTimeNs
        self.versionedKeys = versionedKeys
    }

    enum CodingKeys: String, CodingKey {
        case samples = "origin_in_flight", droppedSamples = "origin_samples_dropped", peakInFlight = "origin_peak_in_flight"
        case cap = "cap_origin_concurrency", serviceTimeNs = "origin_service_time_ns", versionedKeys = "versioned_keys"
    }

    public init(from decoder: any Decoder) throws {
        stats = try Counts(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        samples = try c.decode([[Int64]].self, forKey: .samples).map { s in
            guard s.count == 3 else { throw DecodingError.dataCorruptedError(forKey: .samples, in: c, debugDescription: "a sample is [time_ns, in flight, peak]") }
            return OriginLoadChecker.Sample(timeNs: s[0], inFlight: Int(s[1]), peak: Int(s[2]))
        }
        droppedSamples = try c.decodeIfPresent(Int.self, forKey: .droppedSamples) ?? 0
        peakInFlight = try c.decode(Int.self, forKey: .peakInFlight)
        cap = try c.decodeIfPresent(Int.self, forKey: .cap)
        serviceTimeNs = try c.decode(Int64.self, forKey: .serviceTimeNs)
        versionedKeys = try c.decodeIfPresent(Bool.self, forKey: .versionedKeys) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        try stats.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(samples.map { [$0.timeNs, Int64($0.inFlight), Int64($0.peak)] }, forKey: .samples)
        try c.encode(droppedSamples, forKey: .droppedSamples)
        try c.encode(peakInFlight, forKey: .peakInFlight)
        try c.encodeIfPresent(cap, forKey: .cap)
        try c.encode(serviceTimeNs, forKey: .serviceTimeNs)
        if versionedKeys { try c.encode(true, forKey: .versionedKeys) }
    }
}

extension RunRecord {
    /// result.json's text (keys sorted, so runs diff cleanly).
    public func jsonData() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }

    /// Reads result.json; the error names the field.
    public static func read(_ data: Data) throws -> RunRecord {
        try JSONDecoder().decode(RunRecord.self, from: data)
    }
}
