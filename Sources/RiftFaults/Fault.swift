import NIOCore
import RiftCore
import Synchronization

/// Which way bytes flow through a fault. Toxiproxy's words: `upstream` is client to server,
/// `downstream` is server to client.
public enum StreamDirection: String, Sendable, Hashable, CaseIterable, Codable {
    case upstream
    case downstream

    /// Reads a direction case-insensitively, as Toxiproxy's API does.
    public init?(lenient text: String) {
        switch text.lowercased() {
        case "upstream": self = .upstream
        case "downstream": self = .downstream
        default: return nil
        }
    }
}

/// One attribute value of a fault, as JSON or YAML carry it.
public enum AttributeValue: Sendable, Hashable, CustomStringConvertible {
    case int(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .string(let v): return v
        case .bool(let v): return String(v)
        }
    }
}

/// The attributes of a fault, keyed by their wire names (`latency`, `jitter`, `rate`...).
public typealias FaultAttributes = [String: AttributeValue]

/// A fault's configuration was rejected. `field` names the attribute so that a config file,
/// an API body or a CLI argument can point at the exact place.
public struct FaultConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    public var field: String
    public var reason: String
    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }
    public var description: String { field.isEmpty ? reason : "\(field): \(reason)" }
}

/// What a fault does to the proxy's listener rather than to the bytes of a connection.
public enum ListenerEffect: Sendable, Equatable {
    /// Nothing: the fault acts on connections only.
    case none
    /// New connections are refused (the listening socket is closed); live connections stay.
    case refuseNew
}

/// Per-connection facts a stage may use when it is built.
public struct FaultStageEnvironment: Sendable {
    /// The random source for this fault on this connection and direction.
    public var random: SeededRandom
    /// The direction this stage acts on.
    public var direction: StreamDirection
    /// The proxy's connection number (for logs and labels).
    public var connectionID: UInt64
    /// The fault's name: stages of one fault on different connections meet under it in `shared`.
    public var faultName: String
    /// What the stages of one proxy share across its connections.
    public var shared: ProxyFaultState

    public init(random: SeededRandom, direction: StreamDirection, connectionID: UInt64, faultName: String = "", shared: ProxyFaultState = ProxyFaultState()) {
        self.random = random
        self.direction = direction
        self.connectionID = connectionID
        self.faultName = faultName
        self.shared = shared
    }
}

/// State one proxy's fault stages share across its connections, which live on different
/// event loops: one object per fault name, made on first use and kept while the proxy lives
/// (a few bytes each; names are bounded by the faults a user adds).
public final class ProxyFaultState: Sendable {
    private let overtakes = Mutex<[String: OvertakeCoordinator]>([:])

    public init() {}

    /// The coordinator the `reorder` stages of fault `name` share.
    public func overtakeCoordinator(for name: String) -> OvertakeCoordinator {
        overtakes.withLock { all in
            if let existing = all[name] { return existing }
            let made = OvertakeCoordinator()
            all[name] = made
            return made
        }
    }
}

/// A fault stage's configuration: a value type whose stored properties are its API.
///
/// The contract every stage keeps (see `FaultStageHandler`):
/// - bytes leave in the order they came, unless reordering is the stage's documented job;
/// - EOF (half-close) and channel inactivity travel in order behind the data before them;
/// - on removal, every byte the stage holds is passed on at once, never dropped;
/// - a stage that holds bytes stops asking for more above its high-water mark (backpressure).
public protocol FaultStageConfig: Sendable, Equatable {
    /// The wire name of the type (`latency`, `bandwidth`...).
    static var type: String { get }
    /// The attribute names the type accepts; anything else is ignored by the API and rejected
    /// in config files, where a typo should be loud.
    static var attributeNames: [String] { get }
    /// Builds and validates a config from attributes; missing attributes take their defaults.
    init(attributes: FaultAttributes) throws(FaultConfigError)
    /// Every attribute with its current value, for the API to echo.
    var attributes: FaultAttributes { get }
    /// What this fault does to the listener (most stages: nothing).
    var listenerEffect: ListenerEffect { get }
    /// A handler for one connection and direction, or nil when the fault has no per-connection stage.
    func makeHandler(_ environment: FaultStageEnvironment) -> (any ChannelHandler & RemovableChannelHandler)?
}

extension FaultStageConfig {
    public var listenerEffect: ListenerEffect { .none }
}

/// A fault as the proxy holds it: a name, a direction, a toxicity and a typed config.
public struct Fault: Sendable, CustomStringConvertible {
    public var name: String
    public var stream: StreamDirection
    /// The probability (0 to 1) that the fault applies to a given connection and direction,
    /// decided once when the stage meets the connection.
    public var toxicity: Double
    public var config: any FaultStageConfig

    public var type: String { Swift.type(of: config).type }

    public init(name: String? = nil, stream: StreamDirection = .downstream, toxicity: Double = 1, config: any FaultStageConfig) {
        self.name = name ?? "\(Swift.type(of: config).type)_\(stream.rawValue)"
        self.stream = stream
        self.toxicity = toxicity
        self.config = config
    }

    public var description: String {
        let attrs = config.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "\(name) [\(type) \(stream.rawValue) toxicity=\(toxicity)\(attrs.isEmpty ? "" : " " + attrs)]"
    }

    /// Two faults are the same when every field and every attribute is.
    public func isSame(as other: Fault) -> Bool {
        name == other.name && stream == other.stream && toxicity == other.toxicity && type == other.type
            && config.attributes == other.config.attributes
    }
}

/// Directives a stage sends toward the connection glue at the end of its pipeline, as user
/// inbound events. The stage decides; the glue, which owns both sockets, acts.
public enum FaultDirective: Sendable, Equatable {
    /// Close the connection on both sides with an orderly FIN.
    case close
    /// Reset the side this direction writes to (the client for downstream, the server for
    /// upstream) with a TCP RST, and close the other side.
    case reset
}
