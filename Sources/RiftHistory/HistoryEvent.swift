/// Who issued an event: a client process (an integer, as Jepsen numbers them) or a named actor
/// such as the `nemesis` that injects faults.
public enum ProcessID: Hashable, Sendable, Comparable, CustomStringConvertible {
    case client(Int64)
    case named(String)

    public static let nemesis = ProcessID.named("nemesis")

    public var description: String {
        switch self {
        case .client(let n): String(n)
        case .named(let s): s
        }
    }
}

/// Jepsen's four event types. `fail` means the operation certainly did not take effect; `info`
/// means it may have taken effect at any time after its invocation, or never.
public enum EventType: String, Sendable, Hashable, CaseIterable {
    case invoke, ok, fail, info
}

/// One line of a history: an invocation or a completion, or a nemesis fault/heal.
///
/// `time` is integer nanoseconds from one monotonic clock for the whole history. `value` is what
/// the operation carries: the value written, `null` on a read's invoke and the value read on its
/// completion, `[expected, new]` for `cas`. A `cas` completed `ok` with value `false` means it ran
/// and its comparison failed (Porcupine's reading of a failed cas), which constrains the register.
public struct HistoryEvent: Hashable, Sendable {
    public var type: EventType
    public var process: ProcessID
    public var f: String
    public var key: String?
    public var value: HistoryValue
    public var time: Int64
    public var node: String?
    public var session: String?
    /// 1-based line in the source file (0 when built in memory); for messages only.
    public var line: Int

    public init(
        type: EventType, process: ProcessID, f: String, key: String? = nil, value: HistoryValue = .null,
        time: Int64, node: String? = nil, session: String? = nil, line: Int = 0
    ) {
        self.type = type
        self.process = process
        self.f = f
        self.key = key
        self.value = value
        self.time = time
        self.node = node
        self.session = session
        self.line = line
    }

    public var isNemesis: Bool { process == .nemesis }
}
