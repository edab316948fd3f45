// swift-tools-version: 6.1
//
// libFuzzer targets for Sluice's decoders (docs/TESTING.md, "Fuzzing"). A package of its own
// so that the sanitizer flags never touch the main build: scripts/fuzz.sh builds it with
//   swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// and each executable is a libFuzzer binary: SwiftPM aliases main to <Target>_main, which hands
// control to libFuzzer (LLVMFuzzerRunDriver, CFuzzerDriver).
import PackageDescription

let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let wire = Target.Dependency.product(name: "SluiceWire", package: "Sluice")
let records = Target.Dependency.product(name: "SluiceRecords", package: "Sluice")
let metadata = Target.Dependency.product(name: "SluiceMetadata", package: "Sluice")
let raftStorage = Target.Dependency.product(name: "SluiceRaftStorage", package: "Sluice")

let package = Package(
    name: "SluiceFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Sluice", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(name: "CFuzzerDriver"),
        // Kafka frames: the size-prefixed frame decoder, the request header, and the request
        // decoders dispatching on API key and version.
        .executableTarget(name: "FuzzWireRequest", dependencies: ["CFuzzerDriver", wire, nioCore]),
        // RecordBatch v2: the splitter and validator, then the record iterator (none, lz4, gzip).
        .executableTarget(name: "FuzzRecordBatch", dependencies: ["CFuzzerDriver", records, nioCore]),
        // The metadata log's record codec: one record, and a batch (one Raft entry).
        .executableTarget(name: "FuzzMetadataRecords", dependencies: ["CFuzzerDriver", metadata, nioCore]),
        // The Raft WAL reader: recovery of a torn or corrupted raft.wal.
        .executableTarget(name: "FuzzRaftWAL", dependencies: ["CFuzzerDriver", raftStorage]),
    ]
)
