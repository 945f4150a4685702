import NIOCore

/// Every fault type Rift knows, listed explicitly: one line per stage file.
public enum FaultRegistry {
    public static let types: [any FaultStageConfig.Type] = [
        LatencyConfig.self,
        BandwidthConfig.self,
        SlowCloseConfig.self,
        SlicerConfig.self,
        LimitDataConfig.self,
        TimeoutConfig.self,
        ResetPeerConfig.self,
        BlackholeConfig.self,
        DownConfig.self,
        LossConfig.self,
        PacketLossConfig.self,
        DropFrameConfig.self,
        DelayFrameConfig.self,
        ErrorReplyConfig.self,
        ReorderConfig.self,
        ReplayConfig.self,
    ]

    /// The config type for a wire name, case-insensitively.
    public static func type(named name: String) -> (any FaultStageConfig.Type)? {
        types.first { $0.type == name.lowercased() }
    }

    /// Builds a config from a type name and attributes.
    /// - Parameter strict: reject unknown attribute names (config files) instead of ignoring
    ///   them (the Toxiproxy-compatible API ignores them, as Toxiproxy does).
    public static func makeConfig(type name: String, attributes: FaultAttributes, strict: Bool) throws(FaultConfigError) -> any FaultStageConfig {
        guard let type = type(named: name) else {
            throw FaultConfigError(field: "type", reason: "unknown fault type '\(name)' (known: \(types.map { $0.type }.joined(separator: ", ")))")
        }
        if strict {
            for key in attributes.keys.sorted() where !type.attributeNames.contains(key) {
                throw FaultConfigError(field: key, reason: "unknown attribute for \(type.type) (known: \(type.attributeNames.joined(separator: ", ")))")
            }
        }
        return try type.init(attributes: attributes)
    }
}
