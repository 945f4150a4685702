import Foundation
import RiftChecker

/// A fresh run folder under the temporary directory, for `rift run --out` (which creates it).
func runFolder() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("rift-run-\(UUID())").path
}

/// The result.json a run wrote in `out`.
func runRecord(_ out: String) throws -> RunRecord {
    try JSONDecoder().decode(RunRecord.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/result.json")))
}
