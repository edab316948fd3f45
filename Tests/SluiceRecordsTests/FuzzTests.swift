import Foundation
import NIOCore
import SluiceCore
import Testing

@testable import SluiceRecords

/// Random and mutated inputs through every decoder. Each must return a value or throw its typed
/// error: a crash kills the test run, a hang trips the time limit. Seeds are fixed, so a failure
/// reproduces; the seed and mutation are in the failure message.
@Suite(.timeLimit(.minutes(2))) struct FuzzTests {
    static let decompressedBytesMax = 1 << 20

    /// Valid batches to mutate: every captured fixture plus built ones of each codec.
    static let seeds: [[UInt8]] = {
        var seeds: [[UInt8]] = FixtureTests.manifest.compactMap { entry in
            try? Array(Data(contentsOf: FixtureTests.fixtureURL(entry.file)))
        }
        for codec in [CompressionCodec.none, .lz4, .gzip] {
            seeds.append(TestBatches.bytes(TestBatches.make(count: 1, codec: codec, valueBytes: 0)))
            seeds.append(TestBatches.bytes(TestBatches.make(count: 12, codec: codec, valueBytes: 40)))
        }
        return seeds
    }()

    enum Mutation: CaseIterable { case bitFlips, randomBytes, truncate, lengthField, recordBytes, insertOrDelete, append }

    static func mutate(_ input: [UInt8], _ mutation: Mutation, _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        func position(from start: Int = 0) -> Int { start + Int(rng.next(below: UInt64(max(1, bytes.count - start)))) }
        switch mutation {
        case .bitFlips:
            for _ in 0...rng.next(below: 4) where !bytes.isEmpty { bytes[position()] ^= 1 << UInt8(rng.next(below: 8)) }
        case .randomBytes:
            for _ in 0...rng.next(below: 8) where !bytes.isEmpty { bytes[position()] = UInt8(truncatingIfNeeded: rng.next()) }
        case .truncate:
            bytes.removeLast(Int(rng.next(below: UInt64(bytes.count + 1))))
        case .lengthField:
            // batchLength (8..<12) or recordsCount/lastOffsetDelta: the fields sizes are read from.
            let field = [8, 23, 57].randomElement(using: &rng)!
            let value = [Int32.min, -1, 0, 1, 60, Int32(bytes.count), Int32.max, Int32(truncatingIfNeeded: rng.next())]
                .randomElement(using: &rng)!
            if bytes.count >= field + 4 { TestBatches.setInt32(&bytes, at: field, value) }
        case .recordBytes:
            // Varint-shaped garbage where the first record's lengths live.
            for _ in 0...rng.next(below: 3) where bytes.count > 62 {
                bytes[position(from: 61)] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE].randomElement(using: &rng)!
            }
        case .insertOrDelete:
            if rng.next(below: 2) == 0, !bytes.isEmpty { bytes.remove(at: position()) } else {
                bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: position())
            }
        case .append:
            bytes += (0..<rng.next(below: 80)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }
        return bytes
    }

    /// Every batch-level decoder over `bytes`; checks the invariants a success promises.
    static func exercise(_ bytes: [UInt8]) {
        let buffer = ByteBuffer(bytes: bytes)
        if let batch = try? RecordBatch(validating: buffer) {
            #expect(batch.isCRCValid)
            if let records = try? batch.decodeRecords(decompressedBytesMax: decompressedBytesMax) {
                #expect(records.count == Int(batch.recordsCount))
                #expect(records.allSatisfy { $0.offset >= batch.baseOffset && $0.offset <= batch.lastOffset })
            }
        }
        // Without the CRC the record parser sees the corruption the CRC would have hidden; and
        // where even the header checks fail, the unchecked view must still fail safely.
        if let batch = try? RecordBatch(validating: buffer, verifyCRC: false) {
            var iterator = try? batch.records(decompressedBytesMax: decompressedBytesMax)
            var count = 0
            while let record = try? iterator?.next() {
                #expect(record.offset <= batch.lastOffset)
                count += 1
                if count > batch.recordsCount { Issue.record("more records than declared"); break }
            }
        } else if bytes.count >= RecordBatch.headerBytes {
            _ = try? RecordBatch(unchecked: buffer).decodeRecords(decompressedBytesMax: decompressedBytesMax)
        }
        let policy: RecordBatchSplitter.TrailingBytesPolicy =
            bytes.count % 2 == 0 ? .allowPartialTrailingBatch : .rejectPartialTrailingBatch
        var splitter = RecordBatchSplitter(buffer, trailingBytes: policy, verifyCRC: false)
        var batches = 0
        while (try? splitter.next()) != nil {
            batches += 1
            if batches > bytes.count / RecordBatch.headerBytes { Issue.record("splitter did not advance"); break }
        }
    }

    @Test(arguments: Mutation.allCases)
    func mutatedBatchesNeverCrashAnyDecoder(mutation: Mutation) {
        var rng = SplitMix64(seed: 0x5EED_0000 + UInt64(Mutation.allCases.firstIndex(of: mutation)!))
        let seeds = Self.seeds
        #expect(seeds.count >= 15)
        for round in 0..<20_000 {
            let seed = seeds[round % seeds.count]
            var bytes = Self.mutate(seed, mutation, &rng)
            if round % 5 == 0 { bytes = Self.mutate(bytes, Mutation.allCases.randomElement(using: &rng)!, &rng) }
            Self.exercise(bytes)
        }
    }

    @Test func randomBytesWithAPlausibleHeaderNeverCrash() {
        var rng = SplitMix64(seed: 0xF00D)
        for _ in 0..<60_000 {
            var bytes = (0..<Int(rng.next(below: 200))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if bytes.count >= 61, rng.next(below: 4) != 0 {
                TestBatches.setInt32(&bytes, at: 8, Int32(bytes.count - 12))
                bytes[16] = 2
                bytes[22] = [0, 1, 3].randomElement(using: &rng)!
                TestBatches.setInt32(&bytes, at: 23, Int32(rng.next(below: 4)))
                TestBatches.setInt32(&bytes, at: 57, Int32(rng.next(below: 5)))
                TestBatches.fixCRC(&bytes)
            }
            Self.exercise(bytes)
        }
    }

    @Test(arguments: [CompressionCodec.lz4, .gzip])
    func mutatedCompressedStreamsNeverCrashTheDecoders(codec: CompressionCodec) throws {
        var rng = SplitMix64(seed: 0xC0DEC + UInt64(codec.rawValue))
        var streams: [[UInt8]] = []
        for seed in Self.seeds {
            let batch = RecordBatch(unchecked: ByteBuffer(bytes: seed))
            if batch.attributes.codec == codec { streams.append(Array(batch.recordSection.readableBytesView)) }
        }
        let big = ByteBuffer(bytes: (0..<200_000).map { UInt8(truncatingIfNeeded: $0 * 7 / 5) })
        streams.append(Array(try codec.compress(big).readableBytesView))
        // A bomb (4 MiB of zeros) is costly to inflate up to the bound, so it comes up rarely.
        let bomb = Array(try codec.compress(ByteBuffer(repeating: 0, count: 4 << 20)).readableBytesView)
        var decoded = 0
        for round in 0..<40_000 {
            let stream = round % 500 == 0 ? bomb : streams[round % streams.count]
            let mutation: Mutation = [.bitFlips, .randomBytes, .truncate, .insertOrDelete, .append].randomElement(using: &rng)!
            let bytes = Self.mutate(stream, mutation, &rng)
            do {
                let output = try codec.decompress(ByteBuffer(bytes: bytes), bytesMax: Self.decompressedBytesMax)
                #expect(output.readableBytes <= Self.decompressedBytesMax)
                decoded += 1
            } catch {
                _ = error as CompressionError
            }
        }
        #expect(decoded < 40_000, "some mutations must be caught")
    }
}
