import ArgumentParser
import Foundation
import Rift
import RiftControl

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the proxies, their faults and the partitions of a running rift server.",
        discussion: "Example:\n  RIFT_API=http://127.0.0.1:8474 rift status")
    @OptionGroup var server: APIOptions

    func run() async throws {
        let client = try server.client()
        let proxies = try await client.call("GET", "/proxies")
        let partitions = try await client.call("GET", "/rift/partitions")
        say(StatusTables.proxies(proxies))
        say("")
        say(StatusTables.toxics(proxies))
        say("")
        say(StatusTables.partitions(partitions))
    }
}

/// The API's JSON as readable tables.
enum StatusTables {
    static func sortedProxies(_ proxies: JSONValue?) -> [JSONValue] {
        (proxies?.objectValue ?? [:]).sorted { $0.key < $1.key }.map(\.value)
    }

    static func proxies(_ proxies: JSONValue?) -> String {
        var rows = [["PROXY", "LISTEN", "UPSTREAM", "LINK", "ENABLED", "FAULTS"]]
        for p in sortedProxies(proxies) {
            let link = p["from"].map { "\($0.plain) -> \(p["to"]?.plain ?? "?")" } ?? "-"
            let faults = p["toxics"]?.arrayValue?.count ?? 0
            rows.append([p["name"]?.plain ?? "?", p["listen"]?.plain ?? "?", p["upstream"]?.plain ?? "?", link,
                         p["enabled"]?.boolValue == false ? "no" : "yes", String(faults)])
        }
        return rows.count == 1 ? "no proxies" : TextTable.render(rows)
    }

    static func toxics(_ proxies: JSONValue?) -> String {
        var rows = [["PROXY", "FAULT", "TYPE", "STREAM", "TOXICITY", "ATTRIBUTES"]]
        for p in sortedProxies(proxies) {
            for t in p["toxics"]?.arrayValue ?? [] {
                rows.append([p["name"]?.plain ?? "?", t["name"]?.plain ?? "?", t["type"]?.plain ?? "?",
                             t["stream"]?.plain ?? "?", t["toxicity"]?.plain ?? "1", attributes(t)])
            }
        }
        return rows.count == 1 ? "no faults" : TextTable.render(rows)
    }

    static func partitions(_ partitions: JSONValue?) -> String {
        var rows = [["PARTITION", "GROUPS", "MODE", "ONE-WAY"]]
        for p in partitions?.arrayValue ?? [] {
            rows.append([p["id"]?.plain ?? "?", groups(p), p["mode"]?.plain ?? "?", p["one_way"]?.boolValue == true ? "yes" : "no"])
        }
        return rows.count == 1 ? "no partitions" : TextTable.render(rows)
    }

    static func attributes(_ toxic: JSONValue) -> String {
        let attrs = (toxic["attributes"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.plain)" }
        return attrs.isEmpty ? "-" : attrs.joined(separator: " ")
    }

    static func groups(_ partition: JSONValue) -> String {
        (partition["groups"]?.arrayValue ?? []).map { "[" + $0.plain + "]" }.joined(separator: " | ")
    }

    static func describeToxic(_ toxic: JSONValue) -> String {
        "\(toxic["name"]?.plain ?? "?") (\(toxic["type"]?.plain ?? "?") \(toxic["stream"]?.plain ?? "?") \(attributes(toxic)))"
    }

    static func describePartition(_ partition: JSONValue) -> String {
        "\(groups(partition)) \(partition["mode"]?.plain ?? "?")\(partition["one_way"]?.boolValue == true ? " one-way" : "")"
    }
}
