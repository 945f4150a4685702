import Foundation
import RiftCore
import RiftFaults
import RiftProxy

extension ControlPlane {
    // MARK: - Partitions

    public func listPartitions() -> JSONValue {
        .array(server.partitions.map(partitionJSON))
    }

    public func createPartition(_ body: JSONValue) async throws(APIError) -> JSONValue {
        let request = try PartitionRequest(body)
        let partition = try await recordingDisables(server.proxies) { try await server.partition(groups: request.groups, mode: request.mode, oneWay: request.oneWay) }
        if let duration = request.durationMs { schedulePartitionHeal(partition.id, afterMs: duration) }
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
