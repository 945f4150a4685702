import ArgumentParser
import Foundation
import Rift
import RiftControl

struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Add, list, show, remove, enable and disable the proxies of a running rift server.",
        discussion: """
            Examples:
              rift proxy add redis-n1 --listen 127.0.0.1:26379 --upstream 127.0.0.1:6379 \\
                --from client --to n1
              rift proxy list
              rift proxy disable redis-n1
            """,
        subcommands: [Add.self, List.self, Show.self, Remove.self, Enable.self, Disable.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Create a proxy.",
            discussion: """
                --from and --to label the link with the nodes at its ends, for `rift partition`.

                Example:
                  rift proxy add redis-n1 --listen 127.0.0.1:26379 --upstream 127.0.0.1:6379 \\
                    --from client --to n1
                """)
        @OptionGroup var server: APIOptions
        @Argument(help: "The proxy's name (letters, digits, - _ . :).") var name: String
        @Option(help: "HOST:PORT to listen on (port 0 picks a free one).") var listen: String = "127.0.0.1:0"
        @Option(help: "HOST:PORT of the real server.") var upstream: String
        @Option(help: "The node on the client side of the link.") var from: String?
        @Option(help: "The node on the server side of the link.") var to: String?
        @Flag(help: "Create it disabled (not listening).") var disabled = false

        func run() async throws {
            if (from == nil) != (to == nil) { throw CLIFailure.badInput("give both --from and --to, or neither (e.g. --from client --to n1)") }
            var body: [String: JSONValue] = [
                "name": .string(name), "listen": .string(listen), "upstream": .string(upstream), "enabled": .bool(!disabled),
            ]
            if let from, let to { body["from"] = .string(from); body["to"] = .string(to) }
            let proxy = try await server.client().call("POST", "/proxies", body: .object(body))
            say("\(name): listening on \(proxy?["listen"]?.plain ?? "?") -> \(upstream)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the proxies as a table.",
            discussion: "Example:\n  rift proxy list --api http://127.0.0.1:8474")
        @OptionGroup var server: APIOptions
        func run() async throws {
            let proxies = try await server.client().call("GET", "/proxies")
            say(StatusTables.proxies(proxies))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show one proxy as JSON.", discussion: "Example:\n  rift proxy show redis-n1")
        @OptionGroup var server: APIOptions
        @Argument(help: "The proxy's name.") var name: String
        func run() async throws {
            say(try await server.client().call("GET", "/proxies/\(pathSegment(name))")?.pretty ?? "")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a proxy (its connections are closed).", discussion: "Example:\n  rift proxy rm redis-n1")
        @OptionGroup var server: APIOptions
        @Argument(help: "The proxy's name.") var name: String
        func run() async throws {
            try await server.client().call("DELETE", "/proxies/\(pathSegment(name))")
            say("\(name): removed")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enable", abstract: "Listen again.", discussion: "Example:\n  rift proxy enable redis-n1")
        @OptionGroup var server: APIOptions
        @Argument(help: "The proxy's name.") var name: String
        func run() async throws {
            try await server.client().call("POST", "/proxies/\(pathSegment(name))", body: .object(["enabled": .bool(true)]))
            say("\(name): enabled")
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disable", abstract: "Stop listening and close every connection.",
            discussion: "Example:\n  rift proxy disable redis-n1")
        @OptionGroup var server: APIOptions
        @Argument(help: "The proxy's name.") var name: String
        func run() async throws {
            try await server.client().call("POST", "/proxies/\(pathSegment(name))", body: .object(["enabled": .bool(false)]))
            say("\(name): disabled")
        }
    }
}
