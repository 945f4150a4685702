// swift-tools-version:6.0
// libFuzzer targets for every parser that reads outside input: built and run by `ci/fuzz`
// (never by the root package's build or ci/test). Each directory under Targets/ is one fuzz
// target, an executable made of one `main.swift` that calls `fuzz { bytes in ... }`: adding a
// target is adding that one file.
import Foundation
import PackageDescription

let targetsDirectory = URL(fileURLWithPath: Context.packageDirectory).appendingPathComponent("Targets")
let fuzzTargets = ((try? FileManager.default.contentsOfDirectory(atPath: targetsDirectory.path)) ?? [])
    .filter { FileManager.default.fileExists(atPath: targetsDirectory.appendingPathComponent("\($0)/main.swift").path) }
    .sorted()

// A path dependency is named after its directory (main, a worktree name, ...).
let rootIdentity = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "RiftFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
    ],
    targets: [
        .target(name: "FuzzSupport", dependencies: [
            .product(name: "RiftParsers", package: rootIdentity),
            .product(name: "NIOCore", package: "swift-nio"),
        ], path: "Support"),
    ] + fuzzTargets.map { name in
        .executableTarget(name: name, dependencies: [
            "FuzzSupport",
            .product(name: "RiftParsers", package: rootIdentity),
            .product(name: "NIOCore", package: "swift-nio"),
        ], path: "Targets/\(name)")
    }
)
