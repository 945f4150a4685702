import Foundation

/// Bad command-line input for `rift check` (exit status 2).
struct CheckUsageError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

enum CheckOutput {
    /// One line on standard error, prefixed like other tools' diagnostics.
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("rift check: \(message)\n".utf8))
    }
}
