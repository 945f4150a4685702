import Foundation
import RiftCore
import RiftFaults

/// A `rift server --config` file: proxies with their initial faults, and the run seed.
///
/// ```yaml
/// seed: 42
/// proxies:
///   - name: redis-n1
///     listen: 127.0.0.1:26379
///     upstream: 127.0.0.1:6379
///     from: client          # the link this proxy stands on (for partitions)
///     to: n1
///     toxics:
///       - type: latency
///         stream: downstream
///         attributes: { latency: 100, jitter: 10 }
/// ```
/// Toxiproxy's own config (a JSON array of `{name, listen, upstream, enabled}`) reads too.
public struct ProxyConfigFile: Sendable {
    public struct Entry: Sendable {
        public var proxy: ProxyConfig
        public var faults: [Fault]
        public init(proxy: ProxyConfig, faults: [Fault] = []) {
            self.proxy = proxy
            self.faults = faults
        }
    }

    public var seed: UInt64?
    public var entries: [Entry]

    public init(seed: UInt64? = nil, entries: [Entry]) {
        self.seed = seed
        self.entries = entries
    }

    public static func load(path: String) throws -> ProxyConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigFileError(file: path, line: 0, column: 0, field: "", message: "cannot read the file (missing or not readable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigFileError(file: path, line: 0, column: 0, field: "", message: "the file is not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> ProxyConfigFile {
        let root = try LocatedNode.parse(text, file: file)
        var seed: UInt64?
        var proxyNodes: [LocatedNode] = []
        if case .sequence = root.node {
            proxyNodes = try root.sequence()
        } else {
            for (key, value) in try root.mapping(allowedKeys: ["seed", "proxies"]) {
                switch key {
                case "seed": seed = try value.uint64()
                default: proxyNodes = value.isNull ? [] : try value.sequence()
                }
            }
        }
        var entries: [Entry] = []
        var names: Set<String> = []
        for node in proxyNodes {
            let entry = try parseProxy(node)
            guard names.insert(entry.proxy.name).inserted else {
                throw node.error("proxy name '\(entry.proxy.name)' is used twice", field: node.path + ".name")
            }
            entries.append(entry)
        }
        return ProxyConfigFile(seed: seed, entries: entries)
    }

    private static func parseProxy(_ node: LocatedNode) throws -> Entry {
        var name: String?, listen: String?, upstream: String?, enabled = true, from: String?, to: String?
        var faults: [Fault] = []
        let fields = try node.mapping(allowedKeys: ["name", "listen", "upstream", "enabled", "from", "to", "toxics", "faults"])
        for (key, value) in fields {
            switch key {
            case "name": name = try value.string()
            case "listen":
                listen = try value.string()
                do { _ = try AddressParser.split(listen!) } catch { throw value.error(error.description) }
            case "upstream":
                upstream = try value.string()
                do { _ = try AddressParser.split(upstream!) } catch { throw value.error(error.description) }
            case "enabled": enabled = try value.bool()
            case "from": from = try value.string()
            case "to": to = try value.string()
            default:
                if !value.isNull {
                    for faultNode in try value.sequence() {
                        let fault = try parseFault(faultNode)
                        if faults.contains(where: { $0.name == fault.name }) {
                            throw faultNode.error("toxic name '\(fault.name)' is used twice on this proxy")
                        }
                        faults.append(fault)
                    }
                }
            }
        }
        guard let name else { throw node.error("missing required field: name", field: node.path + ".name") }
        guard let upstream else { throw node.error("missing required field: upstream", field: node.path + ".upstream") }
        do { try RiftName.validate(name) } catch { throw fields.first { $0.key == "name" }!.value.error("\(error)") }
        if (from == nil) != (to == nil) { throw node.error("give both 'from' and 'to' (the link's two nodes) or neither") }
        return Entry(
            proxy: ProxyConfig(name: name, listen: listen ?? "127.0.0.1:0", upstream: upstream, enabled: enabled, from: from, to: to),
            faults: faults)
    }

    private static func parseFault(_ node: LocatedNode) throws -> Fault {
        var type: String?, name: String?, stream = StreamDirection.downstream, toxicity = 1.0
        var attributes: FaultAttributes = [:]
        var attributeNodes: [String: LocatedNode] = [:]
        var typeNode: LocatedNode?
        for (key, value) in try node.mapping(allowedKeys: ["type", "name", "stream", "toxicity", "attributes"]) {
            switch key {
            case "type": type = try value.string(); typeNode = value
            case "name": name = try value.string()
            case "stream":
                guard let s = StreamDirection(lenient: try value.string()) else { throw value.error("expected upstream or downstream") }
                stream = s
            case "toxicity": toxicity = try value.double(range: 0...1)
            default:
                if value.isNull { continue }
                for (attrKey, attrValue) in try value.mapping() {
                    guard let (text, plain) = try attrValue.attributeValue() else { throw attrValue.error("expected a single value") }
                    attributes[attrKey] = AttributeValue(yamlScalar: text, plain: plain)
                    attributeNodes[attrKey] = attrValue
                }
            }
        }
        guard let type, let typeNode else { throw node.error("missing required field: type", field: node.path + ".type") }
        let config: any FaultStageConfig
        do {
            config = try FaultRegistry.makeConfig(type: type, attributes: attributes, strict: true)
        } catch {
            if error.field == "type" { throw typeNode.error(error.reason) }
            if let at = attributeNodes[error.field] { throw at.error(error.reason) }
            throw node.error(error.description)
        }
        let fault = Fault(name: name, stream: stream, toxicity: toxicity, config: config)
        do { try RiftName.validate(fault.name) } catch { throw node.error("\(error)", field: node.path + ".name") }
        return fault
    }
}

extension AttributeValue {
    /// A YAML scalar as the most specific value: plain integers and numbers stay numbers,
    /// quoted text stays text.
    init(yamlScalar text: String, plain: Bool) {
        if plain, let int = Int64(text) { self = .int(int); return }
        if plain, let double = Double(text), double.isFinite { self = .double(double); return }
        if plain, ["true", "false"].contains(text.lowercased()) { self = .bool(text.lowercased() == "true"); return }
        self = .string(text)
    }
}
