/// toxiproxy-server's own flags (`-host 0.0.0.0`, `-config=FILE`), so that `rift` runs where
/// `toxiproxy-server` did: Testcontainers' Toxiproxy modules and existing scripts pass them.
///
/// swift-argument-parser reads `-host` as the short flags `-h -o -s -t`, so these exact names
/// are rewritten to their `--` forms before parsing, and only for `rift server`. An argument list
/// that starts with one of them (a container started with the image's entrypoint and
/// Testcontainers' command) is `rift server` too.
enum ToxiproxyFlags {
    /// Flags that take a value, as `-name value` or `-name=value`.
    static let valued: Set<String> = ["host", "port", "config", "seed"]
    /// Boolean flags, as `-name` or `-name=true|false` (Go's flag package form).
    static let boolean: Set<String> = ["proxy-metrics", "runtime-metrics"]

    /// `arguments` without the program name; returns what the parser should see.
    static func rewrite(_ arguments: [String]) -> [String] {
        guard let first = arguments.first else { return arguments }
        if first == "server" { return ["server"] + arguments.dropFirst().map(rewriteOne) }
        if rewriteOne(first) != first { return ["server"] + arguments.map(rewriteOne) }
        return arguments
    }

    private static func rewriteOne(_ argument: String) -> String {
        guard argument.hasPrefix("-"), !argument.hasPrefix("--") else { return argument }
        let body = argument.dropFirst()
        let name = body.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
        let hasValue = body.contains("=")
        if valued.contains(name) { return "-" + argument }
        if boolean.contains(name) {
            // `--flag=value` is not a form the parser takes for a flag; Go takes these.
            let value = hasValue ? String(body.drop(while: { $0 != "=" }).dropFirst()) : "true"
            return ["true", "false", "1", "0", "t", "f", "TRUE", "FALSE", "True", "False"].contains(value)
                ? "--" + name : argument
        }
        return argument
    }
}
