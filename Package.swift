// swift-tools-version:6.0
import PackageDescription

// The import graph is a DAG with two halves that meet only at the top:
//   data plane:  RiftCore <- RiftWire <- RiftFaults <- RiftProxy
//   analysis:    RiftCore <- RiftHistory <- RiftChecker
//   top:         Rift (re-exports), rift (CLI)
// Fault stages import NIOCore only (never NIOPosix) so they run on EmbeddedChannel.
let package = Package(
    name: "Rift",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Rift", targets: ["Rift"]),
        .executable(name: "rift", targets: ["rift"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .target(name: "RiftCore"),
        .target(name: "RiftWire", dependencies: [
            "RiftCore",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "RiftFaults", dependencies: [
            "RiftCore", "RiftWire",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "RiftProxy", dependencies: [
            "RiftCore", "RiftFaults",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "RiftHistory", dependencies: ["RiftCore"]),
        .target(name: "RiftChecker", dependencies: ["RiftCore", "RiftHistory"]),
        .target(name: "Rift", dependencies: [
            "RiftCore", "RiftWire", "RiftFaults", "RiftProxy", "RiftHistory", "RiftChecker",
        ]),
        .executableTarget(name: "rift", dependencies: [
            "Rift",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Shared by integration tests: real server processes on free ports, tiny blocking clients.
        .target(name: "RiftTestSupport", dependencies: ["RiftCore"], path: "Tests/RiftTestSupport"),

        .testTarget(name: "RiftCoreTests", dependencies: ["RiftCore"]),
        .testTarget(name: "RiftTestSupportTests", dependencies: ["RiftTestSupport"]),
        .testTarget(name: "RiftWireTests", dependencies: [
            "RiftWire",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOTestUtils", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "RiftFaultsTests", dependencies: [
            "RiftFaults",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "RiftProxyTests", dependencies: [
            "RiftProxy", "RiftTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "RiftCLITests", dependencies: ["RiftTestSupport"]),
        .testTarget(name: "RiftHistoryTests", dependencies: ["RiftHistory"]),
        .testTarget(name: "RiftCheckerTests", dependencies: ["RiftChecker", "RiftHistory"]),
    ]
)
