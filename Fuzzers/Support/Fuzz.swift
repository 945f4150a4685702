import Foundation

// libFuzzer's own driver: SwiftPM names an executable's entry point `<module>_main` and links
// `main` to it, so a target's top-level code starts libFuzzer itself (`LLVMFuzzerRunDriver`)
// instead of relying on libFuzzer's `main`.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The body of the running target; set once before libFuzzer starts, read on its thread only.
nonisolated(unsafe) private var fuzzBody: ((UnsafeRawBufferPointer) -> Void)?

/// libFuzzer's main (linked in by `-sanitize=fuzzer`) refers to this symbol; the driver above
/// calls it too.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzBody?(UnsafeRawBufferPointer(start: data, count: count))
    return 0
}

/// Runs libFuzzer with `body` as the target, passing on the process's arguments (`-runs=`,
/// corpus directories, ...). Never returns. A crash, a failed `precondition` or a leak in
/// `body` is a finding: libFuzzer saves the input.
public func fuzz(_ body: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
    fuzzBody = body
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv) { data, count in LLVMFuzzerTestOneInput(data, count) })
}

/// Reads fuzz input as a few small choices followed by the rest (a payload), so that one input
/// can pick a role, a format or chunk sizes and still mutate well.
public struct FuzzInput {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The next byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// Everything not read yet.
    public var rest: [UInt8] { position < bytes.count ? Array(bytes[position...]) : [] }

    /// Splits `rest` at every `separator` pair (e.g. frames in a packet stream).
    public func split(rest separator: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var current: [UInt8] = []
        let all = rest
        var i = 0
        while i < all.count {
            if i + separator.count <= all.count, Array(all[i..<(i + separator.count)]) == separator {
                out.append(current)
                current = []
                i += separator.count
            } else {
                current.append(all[i])
                i += 1
            }
        }
        out.append(current)
        return out
    }
}

/// Text of the fuzz input for parsers that take a `String`: invalid UTF-8 is repaired the way
/// a file read with `String(decoding:as:)` would be.
public func text(_ bytes: UnsafeRawBufferPointer) -> String {
    String(decoding: bytes, as: UTF8.self)
}
