/// What `body` throws, as its description; "no error" when it throws nothing (the exact text
/// of a file:line error, compared whole).
func errorText(_ body: () throws -> Void) -> String {
    do { try body(); return "no error" } catch { return "\(error)" }
}
