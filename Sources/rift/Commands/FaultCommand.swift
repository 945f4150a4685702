import ArgumentParser
import Foundation
import Rift
import RiftControl

struct FaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault",
        abstract: "Add, update, remove and list the faults (toxics) of a proxy.",
        discussion: """
            Fault types are Toxiproxy's toxics plus Rift's own (\(FaultRegistry.types.map { $0.type }.joined(separator: ", "))). \
            Attributes are key=value; a value with a time unit (100ms, 2s) is sent in milliseconds.

            Examples:
              rift fault add redis-n1 latency latency=100ms jitter=10ms --for 30s
              rift fault update redis-n1 latency_downstream latency=250
              rift fault list redis-n1
              rift fault rm redis-n1 latency_downstream
            """,
        subcommands: [Add.self, Update.self, Remove.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add a fault to a proxy.",
            discussion: """
                --stream both adds one fault per direction, named <name>_upstream and <name>_downstream.

                Examples:
                  rift fault add redis-n1 latency latency=100ms --stream upstream
                  rift fault add redis-n1 latency latency=1s --toxicity 0.5 --for 10s
                """)
        @OptionGroup var server: APIOptions
        @Argument(help: "The proxy's name.") var proxy: String
        @Argument(help: "The fault type (latency, ...).") var type: String
        @Argument(help: "Attributes as key=value.") var attributes: [String] = []
        @Option(help: "The fault's name (default: <type>_<stream>).") var name: String?
        @Option(help: "upstream (client to server), downstream (default) or both.") var stream: String = "downstream"
        @Option(help: "Probability from 0 to 1 that a connection is affected.") var toxicity: Double?
        @Option(name: .customLong("for"), help: "Remove it after this long (250ms, 10s, 2m).") var duration: String?

        func run() async throws {
            let attrs = try parseAttributes(attributes)
            let ms = try duration.map { try milliseconds($0, option: "--for") }
            let streams: [String]
            switch stream.lowercased() {
            case "both": streams = ["upstream", "downstream"]
            case "upstream", "downstream": streams = [stream.lowercased()]
            default: throw CLIFailure.badInput("--stream '\(stream)': write upstream, downstream or both")
            }
            let client = try server.client()
            for s in streams {
                var body: [String: JSONValue] = ["type": .string(type), "stream": .string(s), "attributes": .object(attrs)]
                if let name { body["name"] = .string(streams.count > 1 ? "\(name)_\(s)" : name) }
                if let toxicity { body["toxicity"] = .number(toxicity) }
                if let ms { body["duration_ms"] = .number(Double(ms)) }
                let fault = try await client.call("POST", "/proxies/\(pathSegment(proxy))/toxics", body: .object(body))
                say("\(proxy): added \(fault.map(StatusTables.describeToxic) ?? type)\(duration.map { " for \($0)" } ?? "")")
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update", abstract: "Change a fault's attributes, toxicity or time left.",
            discussion: """
                Attributes not given keep their values.

                Example:
                  rift fault update redis-n1 latency_downstream latency=500ms --for 1m
                """)
        @OptionGroup var server: APIOptions
        @Argument(help: "The proxy's name.") var proxy: String
        @Argument(help: "The fault's name.") var name: String
        @Argument(help: "Attributes as key=value.") var attributes: [String] = []
        @Option(help: "Probability from 0 to 1 that a connection is affected.") var toxicity: Double?
        @Option(name: .customLong("for"), help: "Remove it after this long from now (250ms, 10s, 2m).") var duration: String?

        func run() async throws {
            var body: [String: JSONValue] = ["attributes": .object(try parseAttributes(attributes))]
            if let toxicity { body["toxicity"] = .number(toxicity) }
            if let duration { body["duration_ms"] = .number(Double(try milliseconds(duration, option: "--for"))) }
            let fault = try await server.client().call(
                "POST", "/proxies/\(pathSegment(proxy))/toxics/\(pathSegment(name))", body: .object(body))
            say("\(proxy): updated \(fault.map(StatusTables.describeToxic) ?? name)")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a fault; what it held flows on at once.",
            discussion: "Example:\n  rift fault rm redis-n1 latency_downstream")
        @OptionGroup var server: APIOptions
        @Argument(help: "The proxy's name.") var proxy: String
        @Argument(help: "The fault's name.") var name: String
        func run() async throws {
            try await server.client().call("DELETE", "/proxies/\(pathSegment(proxy))/toxics/\(pathSegment(name))")
            say("\(proxy): removed \(name)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the faults of one proxy, or of all.",
            discussion: "Examples:\n  rift fault list\n  rift fault list redis-n1")
        @OptionGroup var server: APIOptions
        @Argument(help: "The proxy's name (default: every proxy).") var proxy: String?
        func run() async throws {
            let proxies = try await server.client().call("GET", proxy.map { "/proxies/\(pathSegment($0))" } ?? "/proxies")
            let list = proxy == nil ? proxies : .object([proxy!: proxies ?? .null])
            say(StatusTables.toxics(list))
        }
    }
}

/// `key=value` arguments as JSON attributes: numbers as numbers, `true`/`false` as booleans,
/// durations (`100ms`, `2s`) as whole milliseconds, anything else as a string.
func parseAttributes(_ pairs: [String]) throws -> [String: JSONValue] {
    var out: [String: JSONValue] = [:]
    for pair in pairs {
        guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
            throw CLIFailure.badInput("attribute '\(pair)': write key=value, e.g. latency=100ms")
        }
        let key = String(pair[..<eq]), value = String(pair[pair.index(after: eq)...])
        if let d = Double(value) { out[key] = .number(d) }
        else if value == "true" || value == "false" { out[key] = .bool(value == "true") }
        else if value.first?.isNumber == true, let ns = try? DurationParser.nanoseconds(value) { out[key] = .number(Double(ns / 1_000_000)) }
        else { out[key] = .string(value) }
    }
    return out
}
