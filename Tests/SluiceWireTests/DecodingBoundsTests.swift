import NIOCore
import Testing

@testable import SluiceWire

@Suite("Decoding bounds")
struct DecodingBoundsTests {
    /// `wireBytesMin` caps how many elements a count may claim. If it overstated the size of
    /// an element, valid messages would be refused; if it understated it, the cap would be loose.
    @Test("each nested struct's minimum size equals the encoding of its smallest value")
    func wireBytesMinIsExact() {
        #expect(nestedStructSizes.count > 50)
        for entry in nestedStructSizes {
            for version in entry.versions {
                let sizes = entry.sizes(version)
                #expect(sizes.encoded == sizes.minimum, "\(entry.name) v\(version)")
            }
        }
    }
}
