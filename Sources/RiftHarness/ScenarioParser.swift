import Foundation
import RiftChecker
import RiftCore
import RiftFaults
import RiftHistory
import RiftProxy

/// Reads scenario and topology files; every error is a `ConfigFileError` (`FILE:LINE:COL: field: message`).
public enum ScenarioParser {
    public static func load(path: String) throws -> (Scenario, Topology) {
        try load(text: try read(path), path: path)
    }

    /// A scenario's text (as read from `path`, or edited: `rift compare`), its topology found
    /// beside `path` or built in (`topologySource`), validated against it.
    public static func load(text: String, path: String) throws -> (Scenario, Topology) {
        let scenario = try parseScenario(text, file: path)
        let topology: Topology
        switch topologySource(scenario.topology, scenarioFile: path) {
        case .file(let file): topology = try parseTopology(try read(file), file: file)
        case .builtin(let name): topology = try parseTopology(BuiltinTopologies.files[name]!, file: "(built-in topology \(name))")
        case .missing(let looked):
            throw ConfigFileError(file: path, line: scenario.topologyLine, column: 0, field: "topology", message: looked)
        }
        try validate(scenario, against: topology)
        if let missing = topology.kind.missingProgram() {
            throw ConfigFileError(file: path, line: scenario.topologyLine, column: 0, field: "topology", message: "\(topology.name): \(missing)")
        }
        return (scenario, topology)
    }

    /// Where a scenario's `topology:` comes from.
    public enum TopologySource: Equatable, Sendable {
        case file(String)
        case builtin(String)
        /// What was looked for, for the error.
        case missing(String)
    }

    /// A path (`./my-topology.yaml`, any value ending .yaml, .yml or .json) is relative to the
    /// scenario's directory. A name is `harness/<name>.yaml` beside the scenario's directory
    /// (`<dir>/../harness/`, the repository's layout) when that file exists, else the built-in
    /// topology of that name, so an installed `rift` runs scenarios from any directory.
    public static func topologySource(_ topology: String, scenarioFile: String) -> TopologySource {
        let dir = (scenarioFile as NSString).deletingLastPathComponent
        if topology.hasSuffix(".yaml") || topology.hasSuffix(".yml") || topology.hasSuffix(".json") {
            let file = topology.hasPrefix("/") ? topology : (dir.isEmpty ? topology : dir + "/" + topology)
            return FileManager.default.fileExists(atPath: file) ? .file(file) : .missing("no topology file \(file)")
        }
        let beside = (dir.isEmpty ? "." : dir) + "/../harness/\(topology).yaml"
        if FileManager.default.fileExists(atPath: beside) { return .file(beside) }
        if BuiltinTopologies.files[topology] != nil { return .builtin(topology) }
        return .missing("no topology '\(topology)': not built in (\(BuiltinTopologies.names.joined(separator: ", "))) "
            + "and no file \(beside); give a path to your own (topology: ./my-topology.yaml)")
    }

    static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigFileError(file: path, line: 0, column: 0, field: "", message: "cannot read the file (missing or not readable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigFileError(file: path, line: 0, column: 0, field: "", message: "the file is not UTF-8 text")
        }
        return text
    }

    // MARK: Topology

    /// The file's `kind:` (default `redis`) picks the kind in `TopologyRegistry`, which reads the rest.
    public static func parseTopology(_ text: String, file: String) throws -> Topology {
        let root = try LocatedNode.parse(text, file: file)
        var kind: any TopologyKind.Type = TopologyRegistry.all[0]
        if let value = try root.mapping().first(where: { $0.key == "kind" })?.value {
            guard let k = TopologyRegistry.kind(named: try value.string()) else {
                throw value.error("unknown kind (known: \(TopologyRegistry.names.joined(separator: ", ")))")
            }
            kind = k
        }
        return try kind.parse(root)
    }

    /// A topology file of `name`, `kind` and `nodes` (each a `name` and an optional
    /// `replicaof`), for kinds that list their nodes: the name, the nodes and the `nodes` field.
    /// `settings` are the kind's own keys, allowed here and left to the kind to read.
    static func parseNodeList(_ root: LocatedNode, settings: [String] = []) throws -> (name: String, nodes: [Topology.Node], field: LocatedNode) {
        var name: String?, nodes: [Topology.Node] = []
        var nodesNode: LocatedNode?
        for (key, value) in try root.mapping(allowedKeys: ["name", "kind", "nodes"] + settings) {
            switch key {
            case "name": name = try value.string()
            case "nodes":
                nodesNode = value
                for n in try value.sequence() {
                    var nodeName: String?, replicaOf: String?
                    for (k, v) in try n.mapping(allowedKeys: ["name", "replicaof"]) {
                        if k == "name" {
                            nodeName = try v.string()
                            do { try RiftName.validate(nodeName!) } catch { throw v.error("\(error)") }
                            if nodeName == Topology.client { throw v.error("'client' names the clients' side of links; pick another node name") }
                            if nodes.contains(where: { $0.name == nodeName }) { throw v.error("node name '\(nodeName!)' is used twice") }
                        } else {
                            replicaOf = try v.string()
                        }
                    }
                    guard let nodeName else { throw n.error("missing required field: name", field: n.path + ".name") }
                    nodes.append(Topology.Node(name: nodeName, replicaOf: replicaOf))
                }
            default: break
            }
        }
        guard let name else { throw root.error("missing required field: name", field: "name") }
        guard let nodesNode, !nodes.isEmpty else { throw root.error("a topology needs at least one node", field: "nodes") }
        return (name, nodes, nodesNode)
    }

    /// `regions: {us: [n1, n2], eu: [n3]}` (every node in exactly one) and `wan: {latency:
    /// 40ms, jitter: 5ms, distribution: normal}` (needs regions) of a topology file whose
    /// nodes are `nodes`. `others` are the kind's own processes, placed as the nodes are (a
    /// Sentinel fleet's `sentinels: [s1, s2, s3]`); a region may hold only those.
    static func parseRegions(_ root: LocatedNode, nodes: [Topology.Node], others: (noun: String, names: [String])? = nil) throws -> (regions: [Topology.Region], wan: LatencyConfig?) {
        var regions: [Topology.Region] = [], wan: LatencyConfig?, wanNode: LocatedNode?
        let members = nodes.map(\.name) + (others?.names ?? [])
        let what = others.map { "node or \($0.noun)" } ?? "node"
        for (key, value) in try root.mapping() {
            if key == "regions" {
                var placed: [String: String] = [:]
                for (region, list) in try value.mapping() {
                    do { try RiftName.validate(region) } catch { throw value.error("region '\(region)': \(error)") }
                    if region == Topology.client { throw value.error("'client' names the clients' side of links; pick another region name") }
                    if members.contains(region) { throw value.error("region '\(region)' is also a \(what)'s name, which a partition group could not tell apart; pick another") }
                    let names = try list.sequence().map { try $0.string() }
                    if names.isEmpty { throw list.error("a region needs at least one \(what)") }
                    for n in names {
                        guard members.contains(n) else {
                            throw list.error("no \(what) '\(n)' (nodes: \(nodes.map(\.name).joined(separator: ", "))"
                                + (others.map { "; \($0.noun)s: \($0.names.joined(separator: ", "))" } ?? "") + ")")
                        }
                        if let other = placed[n] { throw list.error("\(n) is placed in both \(other) and \(region)") }
                        placed[n] = region
                    }
                    regions.append(.init(name: region, nodes: names))
                }
                if let n = members.first(where: { placed[$0] == nil }) { throw value.error("\(n) is in no region: place every node" + (others.map { " and \($0.noun)" } ?? "")) }
            } else if key == "wan" {
                wanNode = value
                var w = LatencyConfig(latencyMs: 0)
                for (k, v) in try value.mapping(allowedKeys: ["latency", "jitter", "distribution"]) {
                    switch k {
                    case "latency", "jitter":
                        let ns = try duration(v)
                        if ns < 0 || ns > 60_000_000_000 { throw v.error("expected 0 to 60s") }
                        if k == "latency" { w.latencyMs = ns / 1_000_000 } else { w.jitterMs = ns / 1_000_000 }
                    default:
                        let d = try v.string()
                        guard LatencyConfig.distributions.contains(d) else {
                            throw v.error("expected one of: \(LatencyConfig.distributions.joined(separator: ", "))")
                        }
                        w.distribution = d
                    }
                }
                wan = w
            }
        }
        if let wanNode, regions.isEmpty { throw wanNode.error("wan needs regions: the links between regions are the ones it delays") }
        return (regions, wan)
    }

    // MARK: Scenario

    public static func parseScenario(_ text: String, file: String) throws -> Scenario {
        let root = try LocatedNode.parse(text, file: file)
        var name: String?, topology: String?, topologyLine = 0, workloadLine = 0, seed: UInt64?, duration: Int64?
        var workload = WorkloadSpec(), timeline: [TimelineStep] = [], checks: [CheckSpec] = []
        for (key, value) in try root.mapping(allowedKeys: ["name", "topology", "seed", "duration", "workload", "timeline", "checks"]) {
            switch key {
            case "name":
                name = try value.string()
                do { try RiftName.validate(name!) } catch { throw value.error("\(error)") }
            case "topology":
                topology = try value.string()
                topologyLine = (value.node.mark?.line ?? 0)
            case "seed": seed = try value.uint64()
            case "duration":
                duration = try positiveDuration(value)
            case "workload":
                workload = try parseWorkload(value)
                workloadLine = value.node.mark?.line ?? 0
            case "timeline": timeline = value.isNull ? [] : try value.sequence().map(parseStep)
            default: checks = value.isNull ? [] : try value.sequence().map(parseCheck)
            }
        }
        guard let name else { throw root.error("missing required field: name", field: "name") }
        guard let topology else { throw root.error("missing required field: topology", field: "topology") }
        guard let duration else { throw root.error("missing required field: duration", field: "duration") }
        if workload.cacheAside == nil, let c = checks.first(where: { $0.check is OriginLoadCheck }) {
            throw ConfigFileError(file: file, line: c.line, column: c.column, field: "checks.check", message: "origin_load needs workload type: cache-aside (the origin is its)")
        }
        var s = Scenario(name: name, file: file, topology: topology, seed: seed, durationNs: duration, workload: workload, timeline: timeline, checks: checks)
        s.topologyLine = topologyLine
        s.workloadLine = workloadLine
        for step in timeline where step.atNs >= duration {
            throw ConfigFileError(file: file, line: step.line, column: step.column, field: "timeline",
                                  message: "at \(DurationParser.readable(nanoseconds: step.atNs)) is not before the end of the run (duration \(DurationParser.readable(nanoseconds: duration)))")
        }
        return s
    }

    static func duration(_ node: LocatedNode) throws -> Int64 {
        do { return try DurationParser.nanoseconds(try node.string()) } catch let e as DurationParser.Failure { throw node.error(e.description) }
    }

    static func positiveDuration(_ node: LocatedNode) throws -> Int64 {
        let ns = try duration(node)
        if ns <= 0 { throw node.error("must be more than 0") }
        return ns
    }

    static func parseWorkload(_ node: LocatedNode) throws -> WorkloadSpec {
        var w = WorkloadSpec()
        var skew: Double?, zipf = false, skewNode: LocatedNode?, typeNode: LocatedNode?
        var cacheAside = CacheAsideSpec(), cacheAsideFields: [String: LocatedNode] = [:], cacheAsideField: LocatedNode?, processesNode: LocatedNode?
        var readsOrWrites: LocatedNode?, clientsNode: LocatedNode?
        for (key, value) in try node.mapping(allowedKeys: ["type", "processes", "clients", "rate", "keys", "writes", "reads", "timeout", "distribution", "skew", "auto_eject", "failure_limit", "retry_timeout"] + cacheAsideKeys) {
            if try parseCacheAsideOption(key, value, into: &cacheAside) {
                cacheAsideField = cacheAsideField ?? value
                cacheAsideFields[key] = value
                continue
            }
            switch key {
            case "type":
                guard let kind = WorkloadKind(rawValue: try value.string()) else {
                    throw value.error("unknown workload (known: \(WorkloadKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                w.kind = kind
                if kind == .nearCache { typeNode = value }
            case "processes":
                w.processes = Int(try value.int(range: 1...1024))
                processesNode = value
            case "clients":
                // clients: {us: 4, eu: 4}: processes per home region.
                clientsNode = value
                for (region, count) in try value.mapping() {
                    do { try RiftName.validate(region) } catch { throw value.error("region '\(region)': \(error)") }
                    w.clientRegions.append(.init(region: region, processes: Int(try count.int(range: 1...1024))))
                }
                if w.clientRegions.isEmpty { throw value.error("expected a region and its process count, e.g. {us: 4, eu: 4}") }
            case "rate": w.rate = Int(try value.int(range: 1...100_000))
            case "keys": w.keys = Int(try value.int(range: 1...100_000))
            case "writes":
                w.writeFraction = try value.double(range: 0...1)
                readsOrWrites = value
            case "reads":
                readsOrWrites = value
                guard let r = ReadTarget(rawValue: try value.string()) else {
                    throw value.error("expected one of: \(ReadTarget.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                w.reads = r
            case "distribution":
                switch try value.string() {
                case "uniform": zipf = false
                case "zipf": zipf = true
                default: throw value.error("expected uniform or zipf")
                }
            case "auto_eject": w.autoEject = try value.bool()
            case "failure_limit": w.failureLimit = Int(try value.int(range: 1...1000))
            case "retry_timeout": w.retryTimeoutNs = try positiveDuration(value)
            case "skew":
                skew = try value.double(range: 0.01...10)
                skewNode = value
            default: w.timeoutNs = try positiveDuration(value)
            }
        }
        if w.kind == .cacheAside {
            try checkCacheAsideOptions(cacheAside, fields: cacheAsideFields)
            w.cacheAside = cacheAside
        } else if let cacheAsideField {
            throw cacheAsideField.error("applies only to type: cache-aside")
        } else if w.processes > 256, let processesNode {
            throw processesNode.error("expected at most 256 for type: \(w.kind.rawValue)")
        }
        if w.kind == .set, let readsOrWrites {
            throw readsOrWrites.error("does not apply to type: set (every operation adds; the final read goes where writes go)")
        }
        if let clientsNode {
            if processesNode != nil { throw clientsNode.error("give processes or clients (processes per region), not both") }
            if w.kind != .register && w.kind != .set { throw clientsNode.error("clients by region apply to type: register and type: set") }
            w.processes = w.clientRegions.map(\.processes).reduce(0, +)
            if w.processes > 1024 { throw clientsNode.error("at most 1024 processes in all") }
        }
        if zipf {
            w.distribution = .zipf(skew: skew ?? 1)
        } else if let skewNode {
            throw skewNode.error("applies only to distribution: zipf")
        }
        if let typeNode, w.kind == .nearCache, w.reads != .primary || w.autoEject {
            throw typeNode.error("near-cache reads from the primary and has no ring: write reads: primary, no auto_eject")
        }
        return w
    }

    static func parseStep(_ node: LocatedNode) throws -> TimelineStep {
        let fields = try node.mapping(allowedKeys: ["at", "partition", "fault", "heal", "kill", "pause", "resume", "restart", "promote", "replicaof", "rebalance"])
        guard let at = fields.first(where: { $0.key == "at" }) else { throw node.error("missing required field: at", field: node.path + ".at") }
        let atNs = try duration(at.value)
        if atNs < 0 { throw at.value.error("must not be negative") }
        let actions = fields.filter { $0.key != "at" }
        guard actions.count == 1, let (key, value) = actions.first else {
            throw node.error("give exactly one of: partition, fault, heal, kill, pause, resume, restart, promote, replicaof, rebalance")
        }
        let directive: Directive
        switch key {
        case "partition": directive = try parsePartition(value)
        case "fault": directive = try parseFault(value)
        case "heal":
            if !value.isNull, case .mapping(let m) = value.node, !m.isEmpty { throw value.error("heal takes no options: write heal: {}") }
            directive = .heal
        case "kill": directive = .kill(node: try value.string())
        case "pause": directive = .pause(node: try value.string())
        case "resume": directive = .resume(node: try value.string())
        case "promote": directive = .promote(node: try value.string())
        case "replicaof":
            var node: String?, primary: String?
            for (k, v) in try value.mapping(allowedKeys: ["node", "of"]) {
                if k == "node" { node = try v.string() } else { primary = try v.string() }
            }
            guard let node else { throw value.error("missing required field: node", field: value.path + ".node") }
            guard let primary else { throw value.error("missing required field: of", field: value.path + ".of") }
            if node == primary { throw value.error("a node cannot replicate from itself") }
            directive = .replicaOf(node: node, primary: primary)
        case "rebalance": directive = try parseRebalance(value)
        default:
            // restart: n3, or restart: {node: n3, data: keep | lose}
            if case .mapping = value.node {
                var node: String?, keep: Bool?
                for (k, v) in try value.mapping(allowedKeys: ["node", "data"]) {
                    if k == "node" { node = try v.string(); continue }
                    switch try v.string() {
                    case "keep": keep = true
                    case "lose": keep = false
                    default: throw v.error("expected keep or lose")
                    }
                }
                guard let node else { throw value.error("missing required field: node", field: value.path + ".node") }
                directive = .restart(node: node, keepData: keep)
            } else {
                directive = .restart(node: try value.string())
            }
        }
        return TimelineStep(atNs: atNs, directive: directive, line: node.node.mark?.line ?? 0, column: node.node.mark?.column ?? 0)
    }

    /// The steps a window edge at `f`±D needs, for its error message.
    static func stepsWith(nemesisF f: String) -> String {
        switch f {
        case "stop": "heals or recovers (heal, resume, restart)"
        case "start": "starts a fault (partition, fault, kill, pause)"
        default: "moves keys (rebalance)"
        }
    }

    /// `rebalance: {node: n2, to: n1, keys: hot | [r0, r3], hold: 1s}` (keys: hot by default).
    static func parseRebalance(_ value: LocatedNode) throws -> Directive {
        var node: String?, to: String?, keys = RebalanceKeys.hot, hold: Int64 = 0
        for (k, v) in try value.mapping(allowedKeys: ["node", "to", "keys", "hold"]) {
            switch k {
            case "node": node = try v.string()
            case "to": to = try v.string()
            case "keys":
                if case .sequence = v.node {
                    let names = try v.sequence().map { try $0.string() }
                    if names.isEmpty { throw v.error("expected hot or a non-empty list of keys") }
                    keys = .named(names)
                } else if try v.string() != "hot" {
                    throw v.error("expected hot or a list of keys, e.g. [r0, r3]")
                }
            default:
                hold = try duration(v)
                if hold < 0 || hold > 60_000_000_000 { throw v.error("expected 0 to 60s") }
            }
        }
        guard let node else { throw value.error("missing required field: node", field: value.path + ".node") }
        guard let to else { throw value.error("missing required field: to", field: value.path + ".to") }
        if node == to { throw value.error("a node cannot rebalance onto itself") }
        return .rebalance(node: node, to: to, keys: keys, holdNs: hold)
    }

    static func parseGroups(_ node: LocatedNode) throws -> [[String]] {
        let groups = try node.sequence().map { try $0.sequence().map { try $0.string() } }
        if groups.isEmpty || groups.contains(where: \.isEmpty) { throw node.error("expected a list of non-empty groups, e.g. [[n1], [n2, n3]]") }
        return groups
    }

    static func parsePartition(_ node: LocatedNode) throws -> Directive {
        if case .sequence = node.node { return .partition(groups: try parseGroups(node), mode: .blackhole) }
        var groups: [[String]]?, mode = PartitionMode.blackhole
        for (key, value) in try node.mapping(allowedKeys: ["groups", "mode"]) {
            if key == "groups" {
                groups = try parseGroups(value)
            } else {
                guard let m = PartitionMode(rawValue: try value.string()) else {
                    throw value.error("expected one of: \(PartitionMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                mode = m
            }
        }
        guard let groups else { throw node.error("missing required field: groups", field: node.path + ".groups") }
        return .partition(groups: groups, mode: mode)
    }

    static func parseFault(_ node: LocatedNode) throws -> Directive {
        var proxy: String?, type: String?, typeNode: LocatedNode?, stream = StreamDirection.downstream
        var attributes: [String: AttributeValue] = [:], attributeNodes: [String: LocatedNode] = [:]
        for (key, value) in try node.mapping(allowedKeys: ["proxy", "type", "stream", "attributes"]) {
            switch key {
            case "proxy": proxy = try value.string()
            case "type": type = try value.string(); typeNode = value
            case "stream":
                guard let s = StreamDirection(lenient: try value.string()) else { throw value.error("expected upstream or downstream") }
                stream = s
            default:
                if value.isNull { continue }
                for (k, v) in try value.mapping() {
                    guard let (text, plain) = try v.attributeValue() else { throw v.error("expected a single value") }
                    attributes[k] = attributeValue(text, plain: plain)
                    attributeNodes[k] = v
                }
            }
        }
        guard let proxy else { throw node.error("missing required field: proxy", field: node.path + ".proxy") }
        guard let type, let typeNode else { throw node.error("missing required field: type", field: node.path + ".type") }
        do {
            _ = try FaultRegistry.makeConfig(type: type, attributes: attributes, strict: true)
        } catch {
            if error.field == "type" { throw typeNode.error(error.reason) }
            if let at = attributeNodes[error.field] { throw at.error(error.reason) }
            throw node.error(error.description)
        }
        return .fault(proxy: proxy, type: type, stream: stream, attributes: attributes)
    }

    static func attributeValue(_ text: String, plain: Bool) -> AttributeValue {
        if plain, let int = Int64(text) { return .int(int) }
        if plain, let double = Double(text), double.isFinite { return .double(double) }
        if plain, ["true", "false"].contains(text.lowercased()) { return .bool(text.lowercased() == "true") }
        return .string(text)
    }

    /// A check: `name`, `check` (a name in `CheckRegistry`), the window, `scaled`, and the
    /// check type's own fields, read as its `CheckField`s say.
    static func parseCheck(_ node: LocatedNode) throws -> CheckSpec {
        var allowed = ["name", "check", "from", "until", "scaled", "region"]
        for t in CheckRegistry.all { for f in t.scenarioFieldNames where !allowed.contains(f) { allowed.append(f) } }
        let fields = try node.mapping(allowedKeys: allowed)
        guard let kindNode = fields.first(where: { $0.0 == "check" })?.1 else {
            throw node.error("missing required field: check", field: node.path + ".check")
        }
        let kindName = try kindNode.string()
        guard let type = CheckRegistry.type(named: kindName) else {
            throw kindNode.error("unknown check (known: \(CheckRegistry.names.joined(separator: ", ")))")
        }
        var spec = try parseCheck(node, fields: fields, as: type)
        spec.line = node.node.mark?.line ?? 0
        spec.column = node.node.mark?.column ?? 0
        return spec
    }

    static func parseCheck<C: Check>(_ node: LocatedNode, fields: [(String, LocatedNode)], as type: C.Type) throws -> CheckSpec {
        var check = C()
        var name: String?, from: String?, until: String?, scaled = false, region: String?
        var nodes: [String: LocatedNode] = [:]
        let own = C.fields.filter(\.inScenario)
        for (key, value) in fields {
            switch key {
            case "check": continue
            case "name": name = try value.string()
            case "from", "until":
                let text = try value.string()
                do { _ = try WindowBound.parse(text) } catch { throw value.error(error.description) }
                if key == "from" { from = text } else { until = text }
            case "scaled": scaled = try value.bool()
            case "region": region = try value.string()
            default:
                guard let field = own.first(where: { $0.name == key }) else {
                    if let other = CheckRegistry.all.first(where: { t in t.scenarioFieldNames.contains(key) }) {
                        throw value.error("applies only to check: \(other.kind.rawValue)")
                    }
                    throw value.error("unknown field (known: \((["name", "check", "from", "until", "scaled", "region"] + own.map(\.name)).joined(separator: ", ")))")
                }
                nodes[field.jsonName] = value
                switch field.value {
                case .duration(let p, _): check[keyPath: p] = try duration(value)
                case .count(let p, let range): check[keyPath: p] = Int(try value.int(range: Int64(range.lowerBound)...Int64(range.upperBound)))
                case .number(let p, let range): check[keyPath: p] = try value.double(range: range)
                case .node(let p): check[keyPath: p] = try value.string()
                case .nodes(let p): check[keyPath: p] = try value.sequence().map { try $0.string() }
                case .value(let p):
                    guard let (text, plain) = try value.attributeValue() else { throw value.error("expected a single value (0, a string, or null)") }
                    check[keyPath: p] = value.isNull ? .null : (plain ? HistoryValue(scalarText: text) : .string(text))
                }
            }
        }
        do throws(CheckSettingsError) { try check.validate() } catch {
            throw nodes[error.field]?.error(error.message) ?? node.error(error.message, field: node.path + "." + error.field)
        }
        return CheckSpec(name: name, check: check, from: from, until: until, scaled: scaled, region: region)
    }

    // MARK: Cross-file validation

    /// Node and proxy names in the timeline must exist in the topology, and the topology's
    /// kind must take the workload and every timeline step (`TopologyKind.refusal`).
    public static func validate(_ scenario: Scenario, against topology: Topology) throws {
        if let why = topology.kind.refusal(of: scenario.workload) {
            throw ConfigFileError(file: scenario.file, line: scenario.topologyLine, column: 0, field: "topology", message: why)
        }
        let nodes = Set(topology.nodes.map(\.name))
        // The cache-aside workload's origin sits behind its own proxy, `client-origin`, and its
        // invalidation bus behind `origin-bus` and `invalidator-bus`.
        let workloadProxies = scenario.workload.cacheAside.map { [OriginServer.proxyName] + ($0.invalidation.mode == .bus ? InvalidationBus.proxyNames : []) } ?? []
        let allProxies = topology.links.map(\.proxy) + workloadProxies
        let proxies = Set(allProxies)
        func fail(_ step: TimelineStep, _ message: String) -> ConfigFileError {
            ConfigFileError(file: scenario.file, line: step.line, column: step.column, field: "timeline", message: message)
        }
        for step in scenario.timeline {
            if let why = topology.kind.refusal(of: step.directive) { throw fail(step, why) }
            switch step.directive {
            case .partition(let groups, _):
                // Any end of a link: the nodes, the clients, and a kind's own processes (nutcracker, the sentinels).
                var ends = topology.nodes.map(\.name)
                for l in topology.links { for e in [l.from, l.to] where !ends.contains(e) && e != Topology.client { ends.append(e) } }
                let regionNames = topology.regions.map(\.name)
                for n in groups.joined() where !ends.contains(n) && n != Topology.client && !regionNames.contains(n) {
                    throw fail(step, "partition names '\(n)', which is not a node of \(topology.name) (nodes: \(ends.joined(separator: ", "))"
                        + (regionNames.isEmpty ? ", or client)" : "; regions: \(regionNames.joined(separator: ", ")); or client)"))
                }
                let named = topology.expandingRegions(groups).joined()
                if let twice = named.first(where: { n in named.filter { $0 == n }.count > 1 }) {
                    throw fail(step, "partition puts '\(twice)' in more than one place (a region's name stands for its nodes and its clients)")
                }
            case .fault(let proxy, _, _, _):
                if !proxies.contains(proxy) {
                    throw fail(step, "no proxy '\(proxy)' in \(topology.name) (proxies: \(allProxies.joined(separator: ", ")))")
                }
            case .kill(let n), .pause(let n), .resume(let n), .restart(let n, _), .promote(let n):
                if !nodes.contains(n) { throw fail(step, "no node '\(n)' in \(topology.name) (nodes: \(topology.nodes.map(\.name).joined(separator: ", ")))") }
            case .replicaOf(let n, let p):
                for x in [n, p] where !nodes.contains(x) {
                    throw fail(step, "no node '\(x)' in \(topology.name) (nodes: \(topology.nodes.map(\.name).joined(separator: ", ")))")
                }
            case .rebalance(let n, let to, let keys, _):
                for x in [n, to] where !nodes.contains(x) {
                    throw fail(step, "no node '\(x)' in \(topology.name) (nodes: \(topology.nodes.map(\.name).joined(separator: ", ")))")
                }
                if keys == .hot, case .uniform = scenario.workload.distribution {
                    throw fail(step, "keys: hot needs a skewed workload (distribution: zipf): under a uniform one no key is hotter than another; name the keys instead")
                }
            case .heal: break
            }
        }
        let topologyRegions = topology.regions.map(\.name)
        for r in scenario.workload.clientRegions where !topologyRegions.contains(r.region) {
            throw ConfigFileError(file: scenario.file, line: scenario.workloadLine, column: 0, field: "workload.clients",
                                  message: topologyRegions.isEmpty ? "\(topology.name) places no nodes in regions (add regions: to it)"
                                      : "no region '\(r.region)' in \(topology.name) (regions: \(topologyRegions.joined(separator: ", ")))")
        }
        let clientRegions = scenario.workload.clientRegions.map(\.region)
        for check in scenario.checks {
            if let r = check.region, !clientRegions.contains(r) {
                throw ConfigFileError(file: scenario.file, line: check.line, column: check.column, field: "checks.region",
                                      message: clientRegions.isEmpty ? "the workload's clients have no region (give workload.clients, e.g. {\(r): 4})"
                                          : "no clients in region '\(r)' (workload.clients: \(clientRegions.joined(separator: ", ")))")
            }
        }
        for check in scenario.checks {
            for n in check.check.namedNodes where !nodes.contains(n) {
                throw ConfigFileError(file: scenario.file, line: check.line, column: check.column, field: "checks.node",
                                      message: "no node '\(n)' in \(topology.name) (nodes: \(topology.nodes.map(\.name).joined(separator: ", ")))")
            }
        }
        // A window edge at heal±D or start±D needs such a step, or the check could never run.
        let fs = Set(scenario.timeline.map(\.directive.nemesisF))
        for check in scenario.checks {
            for (field, text) in [("from", check.from), ("until", check.until)] {
                guard let text, case .nemesis(let f, _)? = try? WindowBound.parse(text), !fs.contains(f) else { continue }
                throw ConfigFileError(file: scenario.file, line: check.line, column: check.column, field: "checks.\(field)",
                                      message: "'\(text)' needs a timeline step that \(Self.stepsWith(nemesisF: f))")
            }
        }
    }
}
