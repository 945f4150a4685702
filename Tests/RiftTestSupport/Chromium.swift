import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium for the report tests: the page as a browser draws it.
public enum Chromium {
    public static func find() -> String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { access($0, X_OK) == 0 }
    }

    public struct Run: Sendable {
        public var stdout: String
        public var seconds: Double
        /// Killed after the time limit.
        public var timedOut: Bool
    }

    /// Runs `exe` headless on `page` with `flags` (`--dump-dom`, `--screenshot=PATH`), a window of
    /// 1280x2600 and its own profile folder; stops it after `limit` seconds.
    public static func run(_ exe: String, _ flags: [String], page: String, profile: String, limit: Double = 90) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                       "--user-data-dir=\(profile)", "--window-size=1280,2600"] + flags + ["file://" + page]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        let start = Date()
        try p.run()
        final class Box: @unchecked Sendable { var data = Data() }  // written by the reader thread, read after it finished
        let box = Box()
        let reader = Thread { box.data = out.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let deadline = start.addingTimeInterval(limit)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        let timedOut = p.isRunning
        if timedOut { p.terminate() }
        p.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        while !reader.isFinished { usleep(10_000) }
        return Run(stdout: String(decoding: box.data, as: UTF8.self), seconds: seconds, timedOut: timedOut)
    }

    /// Width and height from a PNG's IHDR chunk, or nil if it is not a PNG.
    public static func pngSize(_ d: Data) -> (Int, Int)? {
        let b = [UInt8](d.prefix(24))
        guard b.count == 24, b[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], b[12..<16] == Array("IHDR".utf8)[...] else { return nil }
        func be(_ i: Int) -> Int { b[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (be(16), be(20))
    }
}
