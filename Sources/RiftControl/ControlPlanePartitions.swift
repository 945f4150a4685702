import Foundation
import NIOConcurrencyHelpers
import RiftCore
import RiftFaults
import RiftProxy

extension ControlPlane {
    // MARK: - Partitions

    public func listPartitions() -> JSONValue {
        .array(server.partitions.map(partitionJSON))
    }

    public func createPartition(_ body: JSONValue) async throws(APIError) -> JSONValue {
        let r = try BodyReader(body)
        guard case .array(let rawGroups)? = body["groups"] else { throw APIError(.badRequest, "missing required field: groups") }
        var groups: [[String]] = []
        for raw in rawGroups {
            guard case .array(let names) = raw else { throw APIError(.badRequest, "bad request body: groups must be an array of arrays of node names") }
            groups.append(try names.map { (n) throws(APIError) -> String in
                guard case .string(let s) = n else { throw APIError(.badRequest, "bad request body: node names must be strings") }
                return s
            })
        }
        let modeText = try r.string("mode") ?? "blackhole"
        guard let mode = PartitionMode(rawValue: modeText.lowercased()) else {
            throw APIError(.badRequest, "bad request body: mode must be one of \(PartitionMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let oneWay = try r.bool("one_way") ?? false
        let duration = try r.milliseconds("duration_ms")
        let partition: Partition
        partition = try await recordingDisables(server.proxies) { try await server.partition(groups: groups, mode: mode, oneWay: oneWay) }
        if let duration { schedulePartitionHeal(partition.id, afterMs: duration) }
        let json = partitionJSON(partition)
        events.record("partition.create", partition: partition.id, detail: json)
        return json
    }

    /// Heals one partition, or all of them when `id` is nil.
    public func heal(_ id: String?) async throws(APIError) {
        let ids = id.map { [$0] } ?? server.partitions.map(\.id)
        try await recordingDisables(server.proxies) { try await server.heal(id: id) }
        for healed in ids {
            cancelTimer("partition:" + healed)
            events.record("partition.heal", partition: healed)
        }
    }
}
