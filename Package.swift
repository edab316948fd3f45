// swift-tools-version: 6.1
//
// Sluice: a replicated Kafka-protocol broker in Swift.
// Module layering (docs/ARCHITECTURE.md, ../shared/DESIGN.md §3): a target depends only on
// targets above it in this file. SwiftPM enforces it: an import of a module that is not a
// declared dependency does not build.
import PackageDescription

let nio = Package.Dependency.package(url: "https://github.com/apple/swift-nio", from: "2.101.2")
let argumentParser = Package.Dependency.package(
    url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")

let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice-server", targets: ["sluice-server"]),
        .executable(name: "sluice", targets: ["sluice"]),
        .library(name: "SluiceRecords", targets: ["SluiceRecords"]),
        .library(name: "SluiceWire", targets: ["SluiceWire"]),
    ],
    dependencies: [nio, argumentParser],
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
            dependencies: [
                "SluiceCore", "CLZ4", "CZlib", "CSluiceCRC32C",
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .target(
            name: "SluiceWire",
            dependencies: [
                "SluiceCore", "SluiceRecords",
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .target(name: "SluiceRaft", dependencies: ["SluiceCore"]),
        .target(
            name: "SluiceTLS",
            dependencies: [
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
            ]),

        // MARK: executables
        .executableTarget(
            name: "sluice-server",
            dependencies: [
                "SluiceCore", "SluiceWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "sluice",
            dependencies: [
                "SluiceCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "sluice-bench",
            dependencies: [
                "SluiceCore", "SluiceRecords", "SluiceWire", "SluiceTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),

        // MARK: tests
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore"]),
        .testTarget(
            name: "SluiceRecordsTests",
            dependencies: ["SluiceRecords", .product(name: "NIOCore", package: "swift-nio")],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "SluiceWireTests",
            dependencies: ["SluiceWire", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "SluiceRaftTests", dependencies: ["SluiceRaft"]),
        .testTarget(
            name: "SluiceTLSTests",
            dependencies: [
                "SluiceTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
    ]
)
