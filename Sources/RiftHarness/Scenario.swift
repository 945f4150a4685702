import RiftChecker
import RiftCore
import RiftFaults
import RiftHistory
import RiftProxy

/// A scenario file (`faults/*.yaml`): which fleet, which workload, what goes wrong when, and
/// what must still hold. Times are nanoseconds from the start of the workload.
public struct Scenario: Sendable {
    public var name: String
    public var file: String
    /// The topology's name (`harness/<name>.yaml`) or a path ending in `.yaml`.
    public var topology: String
    public var seed: UInt64?
    public var durationNs: Int64
    public var workload: WorkloadSpec
    public var timeline: [TimelineStep]
    public var checks: [CheckSpec]
    /// Line of the `topology` field, for messages about the topology file.
    public var topologyLine = 0
    /// Line of the `workload` field, for messages about it against the topology.
    public var workloadLine = 0

    public init(name: String, file: String = "", topology: String, seed: UInt64? = nil, durationNs: Int64,
                workload: WorkloadSpec = WorkloadSpec(), timeline: [TimelineStep] = [], checks: [CheckSpec] = []) {
        self.name = name
        self.file = file
        self.topology = topology
        self.seed = seed
        self.durationNs = durationNs
        self.workload = workload
        self.timeline = timeline
        self.checks = checks
    }
}

/// Where reads go.
public enum ReadTarget: String, Sendable, CaseIterable {
    /// Any node, chosen per read.
    case any
    case primary
    /// Replicas only (the primary when there are none).
    case replicas

    /// Where a read may go among a primary and its replicas, as this target allows; of those,
    /// only the ones in `local` (a client's region) when any is, else all of them. Every Redis
    /// client picks from these per read (ReplicatedClient, SentinelClient, ClusterClient).
    func targets(primary: CacheTarget, replicas: [CacheTarget], local: Set<String> = []) -> [CacheTarget] {
        let allowed = switch self {
        case .any: [primary] + replicas
        case .primary: [primary]
        case .replicas: replicas.isEmpty ? [primary] : replicas
        }
        let near = allowed.filter { local.contains($0.node) }
        return near.isEmpty ? allowed : near
    }
}

/// How keys are picked.
public enum KeyDistribution: Sendable, Equatable {
    case uniform
    /// Key i (from 0) with probability proportional to 1 / (i + 1)^skew: a few hot keys.
    case zipf(skew: Double)
}

/// Which workload a scenario runs (`type:`).
public enum WorkloadKind: String, Sendable, CaseIterable {
    /// `RegisterWorkload`.
    case register
    /// `NearCacheWorkload`: Redis client-side caching; reads from the primary only.
    case nearCache = "near-cache"
    /// `CacheAsideWorkload`: a cache fleet in front of Rift's origin; `WorkloadSpec.cacheAside`.
    case cacheAside = "cache-aside"
    /// `SetWorkload`: Jepsen's set test, unique elements added to sets and a final read of each
    /// (the `lost_writes` check); Redis kinds only.
    case set
}

/// The `register` workload: single-key reads and writes of unique, per-key increasing integers.
/// `near-cache` takes the same fields; `set` all but `writes` and `reads` (it only adds, and its
/// final read goes where writes go).
public struct WorkloadSpec: Sendable, Equatable {
    public var kind: WorkloadKind = .register
    public var processes: Int = 4
    /// Operations per second over all processes.
    public var rate: Int = 200
    public var keys: Int = 3
    /// Fraction of operations that are writes (to the primary).
    public var writeFraction: Double = 0.3
    public var reads: ReadTarget = .any
    public var distribution: KeyDistribution = .uniform
    /// memcached pools: eject a node from the client's ring after `failureLimit` failures in a
    /// row, for `retryTimeoutNs` (libmemcached's auto-eject).
    public var autoEject = false
    public var failureLimit = 2
    public var retryTimeoutNs: Int64 = 1_000_000_000
    public var timeoutNs: Int64 = 500_000_000
    /// Set for `type: cache-aside`; nil otherwise.
    public var cacheAside: CacheAsideSpec?
    /// `clients: {us: 4, eu: 4}`: how many processes live in each region, in file order
    /// (processes 0-3 in us, 4-7 in eu); empty: the clients have no region.
    public var clientRegions: [ClientRegion] = []

    public struct ClientRegion: Sendable, Equatable {
        public var region: String
        public var processes: Int
        public init(region: String, processes: Int) {
            self.region = region
            self.processes = processes
        }
    }

    public init() {}

    /// The home region of workload process `process`; nil when clients have no region.
    public func region(ofProcess process: Int) -> String? {
        var first = 0
        for r in clientRegions {
            if process < first + r.processes { return r.region }
            first += r.processes
        }
        return nil
    }
}

/// One line of the timeline: at a time, one directive.
public struct TimelineStep: Sendable, Equatable {
    public var atNs: Int64
    public var directive: Directive
    /// Where the step is written, for messages (`file:line:column`).
    public var line: Int
    public var column: Int

    public init(atNs: Int64, directive: Directive, line: Int = 0, column: Int = 0) {
        self.atNs = atNs
        self.directive = directive
        self.line = line
        self.column = column
    }
}

/// Which keys a `rebalance` step moves.
public enum RebalanceKeys: Sendable, Equatable {
    /// The workload's keys that its distribution makes hotter than an even share (one over
    /// the number of keys) and that live on the step's node when it runs.
    case hot
    /// These keys (those of them that live on the step's node when it runs).
    case named([String])
}

/// What the timeline tells the runner to do. The runner carries these out; deciding when is pure.
public enum Directive: Sendable, Equatable {
    /// Cut the links between groups of nodes. Client links are cut only when `client` is named
    /// in a group; otherwise clients keep reaching every node (the usual replica-lag question).
    case partition(groups: [[String]], mode: PartitionMode)
    /// A fault on one proxy, by proxy name.
    case fault(proxy: String, type: String, stream: StreamDirection, attributes: [String: AttributeValue])
    /// Heal every partition and remove every fault the timeline added.
    case heal
    case kill(node: String)
    case pause(node: String)
    case resume(node: String)
    /// `keepData` true: the node saves its dataset and starts again from it (a clean restart,
    /// Redis only); false: it comes back empty (its RDB file is removed first); nil: it starts
    /// again from whatever its folder holds (a replica's last synced RDB).
    case restart(node: String, keepData: Bool? = nil)
    /// Redis: make a replica a primary (`REPLICAOF NO ONE`), as a failover would.
    case promote(node: String)
    /// Redis: make `node` a replica of `primary` (`REPLICAOF` to its own port, not through a
    /// proxy) and wait until it reads back a write made on `primary`: an old primary rejoining
    /// after a failover.
    case replicaOf(node: String, primary: String)
    /// Move keys from `node` to `to` under load (a Redis cluster migrates their slots: clients
    /// meet ASK while a slot is in migration and MOVED after), as a team rebalances a hot
    /// partition. `holdNs`: how long each slot stays in migration once its keys have moved, as
    /// a big slot's migration would.
    case rebalance(node: String, to: String, keys: RebalanceKeys, holdNs: Int64 = 0)

    /// `start` for a fault coming on, `stop` for a recovery, `rebalance` for keys moved: the
    /// nemesis event's `f`, which the checker's windows (`start+1s`, `heal+2s`,
    /// `rebalance+2s`) refer to.
    public var nemesisF: String {
        switch self {
        case .partition, .fault, .kill, .pause, .promote: "start"
        case .heal, .resume, .restart, .replicaOf: "stop"
        case .rebalance: "rebalance"
        }
    }

    /// A short label for progress lines and history values.
    public var label: String {
        switch self {
        case .partition(let groups, let mode): "partition \(groups.map { $0.joined(separator: ",") }.joined(separator: " | ")) (\(mode.rawValue))"
        case .fault(let proxy, let type, let stream, _): "\(type) on \(proxy) \(stream.rawValue)"
        case .heal: "heal"
        case .kill(let n): "kill \(n)"
        case .pause(let n): "pause \(n)"
        case .resume(let n): "resume \(n)"
        case .restart(let n, let keep): "restart \(n)" + (keep.map { $0 ? " (data kept)" : " (data lost)" } ?? "")
        case .promote(let n): "promote \(n)"
        case .replicaOf(let n, let p): "\(n) replicaof \(p)"
        case .rebalance(let n, let to, let keys, _):
            switch keys {
            case .hot: "rebalance \(n) -> \(to) (hot keys)"
            case .named(let names): "rebalance \(n) -> \(to) (\(names.joined(separator: ", ")))"
            }
        }
    }
}

extension WorkloadSpec {
    /// The workload's key names, from its most to its least frequent.
    public var keyNames: [String] {
        (0..<keys).map { i in
            switch kind {
            case .register, .nearCache: RegisterWorkload.key(i)
            case .set: SetWorkload.key(i)
            case .cacheAside: CacheAsideWorkload.key(i)
            }
        }
    }

    /// The keys the distribution makes hotter than an even share (one over the number of
    /// keys): what `rebalance` with `keys: hot` moves. None under a uniform distribution.
    public var hotKeys: [String] {
        let picker = KeyPicker(count: keys, distribution: distribution)
        let names = keyNames
        return picker.cdf.indices.filter { i in picker.cdf[i] - (i > 0 ? picker.cdf[i - 1] : 0) > 1 / Double(keys) + 1e-12 }.map { names[$0] }
    }
}

extension Scenario {
    /// The scenario with every time scaled by `factor` (timeline, duration, and the bounds of
    /// checks marked `scaled`).
    public func scaled(by factor: Double) -> Scenario {
        var s = self
        s.checks = checks.map { $0.scaled(by: factor) }
        s.durationNs = Int64((Double(durationNs) * factor).rounded())
        s.timeline = timeline.map { TimelineStep(atNs: Int64((Double($0.atNs) * factor).rounded()), directive: $0.directive, line: $0.line, column: $0.column) }
        return s
    }
}
