import RiftFaults

/// The field a config rejects `attributes` for, or nil when it accepts them.
func rejectedField<C: FaultStageConfig>(_ type: C.Type, _ attributes: FaultAttributes) -> String? {
    do {
        _ = try C(attributes: attributes)
        return nil
    } catch {
        return error.field
    }
}

/// Builds a config that must be valid.
func config<C: FaultStageConfig>(_ type: C.Type, _ attributes: FaultAttributes = [:]) throws -> C {
    try C(attributes: attributes)
}
