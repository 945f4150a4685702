import ArgumentParser
import Foundation
import Rift
import RiftControl

struct PartitionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition",
        abstract: "Cut the links between groups of nodes (the --from/--to labels of proxies).",
        discussion: """
            The nodes named first form one group, --from names the other. Without --from, the \
            first group is cut from every other node. Prints the partition's id, for `rift heal ID`.

            Modes: blackhole (bytes stop, as on a silent network; default), reset (connections \
            are reset), refuse (new connections are refused, live ones reset). \
            --one-way cuts only traffic that leaves the first group.

            Examples:
              rift partition n1 --from n2,n3 --for 10s
              rift partition n1 --mode reset
              rift partition n1,n2 --from n3 --one-way
            """)

    @OptionGroup var server: APIOptions
    @Argument(help: "The nodes of the first group (comma-separated or several arguments).") var nodes: [String]
    @Option(help: "The nodes of the other group, comma-separated.") var from: String?
    @Option(help: "blackhole, reset or refuse.") var mode: String = "blackhole"
    @Flag(name: .customLong("one-way"), help: "Cut only traffic leaving the first group.") var oneWay = false
    @Option(name: .customLong("for"), help: "Heal by itself after this long (250ms, 10s, 2m).") var duration: String?

    static func split(_ list: [String]) -> [String] {
        list.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() async throws {
        if Self.split(nodes).isEmpty { throw CLIFailure.badInput("name at least one node, e.g. rift partition n1 --from n2,n3") }
        if !["blackhole", "reset", "refuse"].contains(mode.lowercased()) {
            throw CLIFailure.badInput("--mode '\(mode)': write blackhole, reset or refuse")
        }
        var groups: [JSONValue] = [.array(Self.split(nodes).map(JSONValue.string))]
        if let from {
            let other = Self.split([from])
            if other.isEmpty { throw CLIFailure.badInput("--from '\(from)': name at least one node, e.g. --from n2,n3") }
            groups.append(.array(other.map(JSONValue.string)))
        }
        var body: [String: JSONValue] = ["groups": .array(groups), "mode": .string(mode.lowercased()), "one_way": .bool(oneWay)]
        if let duration { body["duration_ms"] = .number(Double(try milliseconds(duration, option: "--for"))) }
        let partition = try await server.client().call("POST", "/rift/partitions", body: .object(body))
        say("\(partition?["id"]?.plain ?? "?"): \(partition.map(StatusTables.describePartition) ?? "")\(duration.map { " for \($0)" } ?? "")")
    }
}

struct HealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heal",
        abstract: "Heal one partition, or all of them.",
        discussion: """
            Examples:
              rift heal        heal every partition
              rift heal p1     heal partition p1 only
            """)
    @OptionGroup var server: APIOptions
    @Argument(help: "The partition's id (see `rift status`).") var id: String?

    func run() async throws {
        try await server.client().call("DELETE", "/rift/partitions" + (id.map { "/\(pathSegment($0))" } ?? ""))
        say(id.map { "\($0): healed" } ?? "every partition healed")
    }
}

struct ResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Enable every proxy and remove every fault (as Toxiproxy's reset; partitions stay, see `rift heal`).",
        discussion: "Example:\n  rift reset --api http://127.0.0.1:8474")
    @OptionGroup var server: APIOptions

    func run() async throws {
        try await server.client().call("POST", "/reset")
        say("every proxy enabled, every fault removed")
    }
}
