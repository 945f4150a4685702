// swift-tools-version:6.0
import PackageDescription

// The import graph is a DAG with two halves that meet only at the top:
//   data plane:  RiftCore <- RiftWire <- RiftFaults <- RiftProxy
//   analysis:    RiftCore <- RiftHistory <- RiftChecker <- RiftReport (report.html: no NIO, no harness)
//   capture:     CPcap (libpcap) <- RiftCapture <- RiftProxy;  RiftCapture + RiftWire + RiftHistory <- RiftRecord
//   relay:       CRiftSys (epoll, accept4, spawn) <- RiftProxy, RiftClient
//   clients:     RiftCore + RiftWire <- RiftClient (blocking clients, process launcher, free ports)
//                RiftClient <- RiftHarness, RiftTestSupport
//   top:         RiftHarness, Rift (re-exports), rift (CLI)
// RiftClient sits beside the two halves: it speaks the wire protocols (RiftWire) and knows
// nothing of proxies, histories or checks.
// Fault stages import NIOCore only (never NIOPosix) so they run on EmbeddedChannel.
let package = Package(
    name: "Rift",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Rift", targets: ["Rift"]),
        .executable(name: "rift", targets: ["rift"]),
        // Every module that reads outside input, for the libFuzzer targets in Fuzzers/ (ci/fuzz).
        .library(name: "RiftParsers", targets: ["RiftWire", "RiftHistory", "RiftHarness", "RiftProxy", "RiftControl", "RiftRecord"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
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
        // libpcap through pkg-config: the pcap writer of the proxy and `rift record`'s reader.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .target(name: "RiftCapture", dependencies: [
            "CPcap", "RiftCore",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "RiftRecord", dependencies: [
            "CPcap", "RiftCore", "RiftCapture", "RiftWire", "RiftHistory",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // epoll and accept4 for the relay that carries fault-free connections, and the process
        // launcher's posix_spawn (Linux).
        .target(name: "CRiftSys"),
        .target(name: "RiftProxy", dependencies: [
            "CRiftSys", "RiftCore", "RiftFaults", "RiftCapture",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ]),
        // Control plane: the Toxiproxy-compatible HTTP API, the event log and metrics.
        .target(name: "RiftControl", dependencies: [
            "RiftCore", "RiftFaults", "RiftProxy", "RiftCapture",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // Blocking clients with deadlines (RESP, memcached) on RiftWire's encoders and reply
        // decoders, the launcher of server processes and free loopback ports: what the harness
        // and the tests share to drive real servers.
        .target(name: "RiftClient", dependencies: [
            "CRiftSys", "RiftCore", "RiftWire",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "RiftHistory", dependencies: ["RiftCore"]),
        .target(name: "RiftChecker", dependencies: ["RiftCore", "RiftHistory"]),
        // report.html and `rift report`: draws the checker's results, never analyses itself.
        .target(name: "RiftReport", dependencies: ["RiftCore", "RiftHistory", "RiftChecker"]),
        // The harness: a real fleet behind Rift proxies, a recorded workload, a fault timeline, checks.
        .target(name: "RiftHarness", dependencies: [
            "RiftCore", "RiftWire", "RiftClient", "RiftFaults", "RiftProxy", "RiftHistory", "RiftChecker", "RiftReport",
            // The cache-aside workload's origin server.
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            // rift compare's variants: scenario files edited as YAML nodes.
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "Rift", dependencies: [
            "RiftCore", "RiftWire", "RiftFaults", "RiftProxy", "RiftHistory", "RiftChecker",
            "RiftReport", "RiftHarness",
        ]),
        .executableTarget(name: "rift", dependencies: [
            "Rift", "RiftControl", "RiftHarness", "RiftCapture", "RiftRecord",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Shared by integration tests: real server processes on free ports, tiny blocking clients.
        .target(name: "RiftTestSupport", dependencies: ["RiftCore", "RiftWire", "RiftClient"], path: "Tests/RiftTestSupport"),

        .testTarget(name: "RiftCoreTests", dependencies: ["RiftCore"]),
        .testTarget(name: "RiftTestSupportTests", dependencies: ["RiftCore", "RiftTestSupport"]),
        .testTarget(name: "RiftWireTests", dependencies: [
            "RiftWire",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOTestUtils", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "RiftFaultsTests", dependencies: [
            "RiftCore", "RiftWire", "RiftFaults",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "RiftProxyTests", dependencies: [
            "RiftProxy", "RiftTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "RiftControlTests", dependencies: [
            "RiftControl", "RiftProxy", "RiftCapture", "RiftTestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "RiftCLITests", dependencies: ["RiftTestSupport"]),
        .testTarget(name: "RiftHistoryTests", dependencies: ["RiftHistory"]),
        .testTarget(name: "RiftCheckerTests", dependencies: ["RiftCore", "RiftChecker", "RiftHistory"]),
        .testTarget(name: "RiftReportTests", dependencies: ["RiftReport", "RiftChecker", "RiftHistory", "RiftTestSupport"]),
        .testTarget(name: "RiftCaptureTests", dependencies: [
            "RiftCore", "RiftCapture", "RiftRecord", "RiftProxy", "RiftFaults", "RiftHistory", "RiftHarness", "RiftTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "RiftHarnessTests", dependencies: [
            "RiftCore", "RiftFaults", "RiftProxy", "RiftHistory", "RiftChecker", "RiftHarness", "RiftReport", "RiftTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
    ]
)
