import SluiceCore
import Testing

@Suite struct TopicNameTests {
    @Test(arguments: ["orders", "a", "my.topic_v2-1", String(repeating: "x", count: 249)])
    func acceptsKafkaLegalNames(name: String) throws {
        #expect(try TopicName(validating: name).rawValue == name)
    }

    @Test func rejectsIllegalNamesWithTheReason() {
        #expect(throws: TopicName.ValidationError.empty) { try TopicName(validating: "") }
        #expect(throws: TopicName.ValidationError.reserved("..")) { try TopicName(validating: "..") }
        #expect(throws: TopicName.ValidationError.tooLong(length: 250)) {
            try TopicName(validating: String(repeating: "x", count: 250))
        }
        #expect(throws: TopicName.ValidationError.illegalCharacter("/")) { try TopicName(validating: "a/b") }
        #expect(throws: TopicName.ValidationError.illegalCharacter(" ")) { try TopicName(validating: "a b") }
        #expect(TopicName(rawValue: "é") == nil)
    }
}

@Suite struct RandomSourceTests {
    @Test func splitMixIsDeterministicPerSeed() {
        var a = SplitMix64(seed: 42)
        var b = SplitMix64(seed: 42)
        var c = SplitMix64(seed: 43)
        let xs = (0..<8).map { _ in a.next() }
        #expect(xs == (0..<8).map { _ in b.next() })
        #expect(xs != (0..<8).map { _ in c.next() })
    }

    @Test func boundedValuesStayBelowTheBound() {
        var r = SplitMix64(seed: 7)
        for _ in 0..<10_000 { #expect(r.next(below: 10) < 10) }
    }
}

@Suite struct KafkaUUIDTests {
    @Test func hexRoundTripsAndRejectsAnythingElse() {
        let id = KafkaUUID(high: 0x0123_4567_89ab_cdef, low: 0x5)
        #expect(id.description == "0123456789abcdef0000000000000005")
        #expect(KafkaUUID(hex: id.description) == id)
        #expect(KafkaUUID(hex: "0123456789ABCDEF0000000000000005") == id, "either case")
        #expect(KafkaUUID(hex: "0123456789abcdef000000000000005") == nil, "31 digits")
        #expect(KafkaUUID(hex: "+123456789abcdef0000000000000005") == nil, "a sign is not a digit")
        #expect(KafkaUUID(hex: "0123456789abcdeg0000000000000005") == nil)
    }
}
