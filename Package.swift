// swift-tools-version: 6.1
//
// Sluice: a replicated Kafka-protocol broker in Swift.
// Module layering (docs/ARCHITECTURE.md, ../shared/DESIGN.md §3): a target depends only on
// targets above it in this file, and imports only its declared dependencies. Every Makefile
// build passes --explicit-target-dependency-import-check error; scripts/check-imports.py
// (make lint) also refuses the transitive and product imports SwiftPM's check lets through.
import PackageDescription

let nio = Package.Dependency.package(url: "https://github.com/apple/swift-nio", from: "2.101.2")
let argumentParser = Package.Dependency.package(
    url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
let swiftLog = Package.Dependency.package(url: "https://github.com/apple/swift-log", from: "1.16.2")
let serviceLifecycle = Package.Dependency.package(
    url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0")
let tomlKit = Package.Dependency.package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0")
let swiftMetrics = Package.Dependency.package(url: "https://github.com/apple/swift-metrics", from: "2.13.0")
let swiftPrometheus = Package.Dependency.package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1")
let hdrHistogram = Package.Dependency.package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0")

let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioEmbedded = Target.Dependency.product(name: "NIOEmbedded", package: "swift-nio")
let nioTestUtils = Target.Dependency.product(name: "NIOTestUtils", package: "swift-nio")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let argumentParserProduct = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let serviceLifecycleProduct = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let tomlKitProduct = Target.Dependency.product(name: "TOMLKit", package: "TOMLKit")
let coreMetrics = Target.Dependency.product(name: "CoreMetrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
let histogramProduct = Target.Dependency.product(name: "Histogram", package: "hdrhistogram-swift")

let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice-server", targets: ["sluice-server"]),
        .executable(name: "sluice", targets: ["sluice"]),
        .executable(name: "sluice-sim", targets: ["sluice-sim"]),
        .library(name: "SluiceRecords", targets: ["SluiceRecords"]),
        .library(name: "SluiceWire", targets: ["SluiceWire"]),
        .library(name: "SluiceClient", targets: ["SluiceClient"]),
        // For the libFuzzer targets in Fuzz/ (a package of their own).
        .library(name: "SluiceMetadata", targets: ["SluiceMetadata"]),
        .library(name: "SluiceRaftStorage", targets: ["SluiceRaftStorage", "SluiceRaft"]),
    ],
    dependencies: [nio, argumentParser, swiftLog, serviceLifecycle, tomlKit, hdrHistogram, swiftMetrics, swiftPrometheus],
    targets: [
        // MARK: system libraries and C shims
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),
        .systemLibrary(
            name: "CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CSluiceCRC32C"),

        // MARK: pure layers
        .target(name: "SluiceCore"),
        .target(
            name: "SluiceRecords",
            dependencies: ["SluiceCore", "CLZ4", "CZlib", "CSluiceCRC32C", nioCore]),
        .target(
            name: "SluiceWire",
            dependencies: ["SluiceCore", "SluiceRecords", nioCore],
            // The definitions feed scripts/wiregen; the generated Swift is what compiles.
            exclude: ["Definitions", "README.md"]),
        .target(name: "SluiceMetadata", dependencies: ["SluiceCore", "SluiceWire", nioCore], exclude: ["README.md", "Groups/README.md"]),
        .target(name: "SluiceRaft", dependencies: ["SluiceCore"]),
        .target(name: "SluiceRaftStorage", dependencies: ["SluiceRaft", "SluiceCore"]),
        .target(name: "SluiceStorage", dependencies: ["SluiceCore", "SluiceRecords", nioCore]),
        .target(name: "SluiceTLS", dependencies: ["COpenSSL", nioCore]),
        // Pure leader and follower partition state (DESIGN §2.2): HW, ISR tracking, truncation.
        .target(name: "SluiceReplication", dependencies: ["SluiceCore", "SluiceRecords"]),

        // MARK: the node: services, listeners, Kafka API handlers, the actors driving the cores
        .target(
            name: "SluiceBroker",
            dependencies: [
                "SluiceCore", "SluiceRecords", "SluiceWire", "SluiceStorage", "SluiceTLS", "SluiceMetadata",
                "SluiceRaft", "SluiceRaftStorage", "SluiceReplication",
                nioCore, nioPosix, nioHTTP1, logging, serviceLifecycleProduct, tomlKitProduct, coreMetrics, prometheus,
            ]),

        // MARK: the client library (DESIGN §2.5): Kafka-protocol producer, consumer and admin
        .target(
            name: "SluiceClient",
            dependencies: ["SluiceCore", "SluiceRecords", "SluiceWire", "SluiceTLS", nioCore, nioPosix],
            exclude: ["README.md"]),

        // MARK: test support: the seeded whole-cluster Raft simulator
        // The replication simulation drives the real replication core, partition log and controller.
        .target(
            name: "SluiceSimulation",
            dependencies: [
                "SluiceRaft", "SluiceCore", "SluiceMetadata", "SluiceWire", "SluiceReplication", "SluiceStorage",
                "SluiceRecords", nioCore,
            ]),

        // MARK: executables
        .executableTarget(
            name: "sluice-server",
            dependencies: ["SluiceCore", "SluiceBroker", argumentParserProduct, logging, serviceLifecycleProduct]),
        .executableTarget(
            name: "sluice",
            // The CLI is built on the client library only (DESIGN §2.5); Core for the strong types.
            dependencies: ["SluiceCore", "SluiceClient", argumentParserProduct, histogramProduct]),
        .executableTarget(name: "sluice-sim", dependencies: ["SluiceSimulation", "SluiceCore"]),
        .executableTarget(
            name: "sluice-bench",
            dependencies: [
                "SluiceCore", "SluiceRecords", "SluiceWire", "SluiceStorage", "SluiceTLS", nioCore, nioPosix,
                "SluiceBroker", "SluiceRaft", "SluiceRaftStorage", logging, serviceLifecycleProduct,
            ]),

        // MARK: tests
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore"]),
        .testTarget(name: "SluiceSimulationTests", dependencies: ["SluiceSimulation", "SluiceCore"]),
        .testTarget(name: "SluiceReplicationTests", dependencies: ["SluiceReplication", "SluiceCore", "SluiceRecords"]),
        .testTarget(
            name: "SluiceRecordsTests",
            dependencies: ["SluiceRecords", "SluiceCore", nioCore],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "SluiceWireTests",
            dependencies: ["SluiceWire", "SluiceCore", nioCore, nioEmbedded, nioTestUtils]),
        .testTarget(
            name: "SluiceMetadataTests",
            dependencies: ["SluiceMetadata", "SluiceSimulation", "SluiceWire", "SluiceCore", nioCore]),
        .testTarget(
            name: "SluiceRaftTests",
            dependencies: ["SluiceRaft", "SluiceSimulation", "SluiceRaftStorage", "SluiceCore"]),
        .testTarget(
            name: "SluiceStorageTests",
            dependencies: ["SluiceStorage", "SluiceRecords", "SluiceCore", nioCore]),
        .testTarget(
            name: "SluiceBrokerTests",
            dependencies: [
                "SluiceBroker", "SluiceWire", "SluiceRecords", "SluiceCore", "SluiceRaft", "SluiceRaftStorage", "SluiceTLS",
                "SluiceMetadata", "SluiceReplication", "SluiceStorage", nioCore, nioPosix, nioEmbedded, logging, serviceLifecycleProduct,
            ]),
        .testTarget(
            name: "SluiceClientTests",
            dependencies: ["SluiceClient", "SluiceWire", "SluiceRecords", "SluiceCore", "SluiceTLS", nioCore, nioPosix]),
        .testTarget(
            name: "SluiceTLSTests",
            dependencies: ["SluiceTLS", nioCore, nioEmbedded, nioPosix]),
    ]
)
