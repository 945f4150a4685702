/// toxiproxy-server's own flags (`-host 0.0.0.0`, `-config=FILE`), so that `rift` runs where
/// `toxiproxy-server` did: Testcontainers' Toxiproxy modules and existing scripts pass them.
///
/// swift-argument-parser reads `-host` as the short flags `-h -o -s -t`, so these exact names
/// are rewritten to their `--` forms before parsing, and only for `rift server`. An argument
/// list that starts with one of them (a container started with the image's entrypoint and
/// Testcontainers' command) is `rift server` too.
enum ToxiproxyFlags {
    /// Flags that take a value, as `-name value` or `-name=value`.
    static let valued: Set<String> = ["host", "port", "config", "seed"]
    /// Boolean flags, as `-name` or `-name=BOOL` (Go's flag package form).
    static let boolean: Set<String> = ["proxy-metrics", "runtime-metrics"]
    /// What Go's `strconv.ParseBool` takes, so `-proxy-metrics=false` reads as toxiproxy-server reads it.
    private static let goBooleans: Set<String> = ["1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"]

    /// `arguments` without the program name; returns what the parser should see. A single-dash
    /// word that is none of these flags (`-hosts`) is refused here with its name, since the
    /// parser would report it as an unknown short option `-h`.
    static func rewrite(_ arguments: [String]) throws(CLIFailure) -> [String] {
        guard let first = arguments.first else { return arguments }
        if first == "server" { return try ["server"] + arguments.dropFirst().map(rewriteOne) }
        if isToxiproxyFlag(first) { return try ["server"] + arguments.map(rewriteOne) }
        return arguments
    }

    /// The name of `-name` or `-name=value`, nil for anything else (`--long`, `-h`, `-`, values).
    private static func singleDashWord(_ argument: String) -> String? {
        guard argument.hasPrefix("-"), !argument.hasPrefix("--") else { return nil }
        let name = argument.dropFirst().prefix { $0 != "=" }
        guard name.count > 1, name.first?.isLetter == true,
              name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        else { return nil }
        return String(name)
    }

    private static func isToxiproxyFlag(_ argument: String) -> Bool {
        guard let name = singleDashWord(argument) else { return false }
        return valued.contains(name) || boolean.contains(name)
    }

    private static func rewriteOne(_ argument: String) throws(CLIFailure) -> String {
        guard let name = singleDashWord(argument) else { return argument }
        if valued.contains(name) { return "-" + argument }
        if name == "help" { return "--help" }  // Go's flag package prints its usage for -help
        if boolean.contains(name) {
            guard let equals = argument.firstIndex(of: "=") else { return "--" + name }
            let value = String(argument[argument.index(after: equals)...])
            guard goBooleans.contains(value) else {
                throw CLIFailure.badInput("-\(name)=\(value): not a boolean (true or false)")
            }
            // The value is accepted and ignored: rift serves /metrics either way.
            return "--" + name
        }
        throw CLIFailure.badInput(
            "unknown flag -\(name) (toxiproxy-server's flags are -host, -port, -config, -seed, -proxy-metrics, -runtime-metrics; rift's own take two dashes)")
    }
}
