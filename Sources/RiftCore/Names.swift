/// Names of proxies, faults, nodes and scenarios: what the API, the CLI and files may use.
public enum RiftName {
    public struct Invalid: Error, Equatable, CustomStringConvertible, Sendable {
        public var name: String
        public var reason: String
        public var description: String { "invalid name '\(name)': \(reason)" }
    }

    /// Letters, digits, `-`, `_`, `.` and `:`; 1 to 128 characters. Keeps names safe in URLs,
    /// file names, metric labels and pipeline handler names.
    public static func validate(_ name: String) throws(Invalid) {
        guard !name.isEmpty else { throw Invalid(name: name, reason: "empty") }
        guard name.count <= 128 else { throw Invalid(name: name, reason: "longer than 128 characters") }
        for ch in name.unicodeScalars {
            let ok = (ch >= "a" && ch <= "z") || (ch >= "A" && ch <= "Z") || (ch >= "0" && ch <= "9")
                || ch == "-" || ch == "_" || ch == "." || ch == ":"
            if !ok { throw Invalid(name: name, reason: "character '\(ch)' not allowed (use letters, digits, - _ . :)") }
        }
    }
}
