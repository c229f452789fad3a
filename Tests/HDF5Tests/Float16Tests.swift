import XCTest
@testable import HDF5

/// IEEE half floats: the encoder, and storage that reads back through HDF5's conversion.
final class Float16Tests: HDF5TestCase {
    func testWriteAndReadExactValues() throws {
        let input: [Float] = [0.5, -2, 1.0 / 3.0, 0.1, 65504, 1e-7, -0.0, 70000, 1]
        // 1/3 and 0.1 round to the nearest half; 1e-7 to the subnormal 2^-23; 70000 overflows.
        let expected: [Float] = [0.5, -2, 0.333251953125, 0.0999755859375, 65504, 0x1p-23, -0.0, .infinity, 1]
        let file = try roundTrip { try $0.write("h", float16From: input, shape: [3, 3]) }
        let d = try file.dataset("h")
        XCTAssertEqual(d.elementType, .float16)
        XCTAssertEqual(d.shape, [3, 3])
        let read = try d.readFloats()
        XCTAssertEqual(read, expected)
        XCTAssertEqual(read[6].sign, .minus)
        XCTAssertEqual(try d.readDoubles(), expected.map(Double.init))
    }

    func testBigEndianHalf() throws {
        let file = try roundTrip { try $0.write("h", numbers: [0.5, -2, 3], floatBits: 16, bigEndian: true, shape: [3]) }
        XCTAssertEqual(try file.dataset("h").elementType, .float16)
        XCTAssertEqual(try file.dataset("h").readFloats(), [0.5, -2, 3])
    }

    func testEncoder() {
        XCTAssertEqual(float16Bits(0), 0x0000)
        XCTAssertEqual(float16Bits(-0.0), 0x8000)
        XCTAssertEqual(float16Bits(1), 0x3C00)
        XCTAssertEqual(float16Bits(0.5), 0x3800)
        XCTAssertEqual(float16Bits(-2), 0xC000)
        XCTAssertEqual(float16Bits(1.0 / 3.0), 0x3555)
        XCTAssertEqual(float16Bits(65504), 0x7BFF)
        XCTAssertEqual(float16Bits(65520), 0x7C00)  // halfway to the next binade rounds to infinity
        XCTAssertEqual(float16Bits(.infinity), 0x7C00)
        XCTAssertEqual(float16Bits(-.infinity), 0xFC00)
        XCTAssertEqual(float16Bits(.nan) & 0x7C00, 0x7C00)
        XCTAssertNotEqual(float16Bits(.nan) & 0x03FF, 0)
        XCTAssertEqual(float16Bits(0x1p-24), 0x0001)   // smallest subnormal
        XCTAssertEqual(float16Bits(0x1p-25), 0x0000)   // tie, rounds to even (zero)
        XCTAssertEqual(float16Bits(0x1.8p-25), 0x0001) // above the tie
        XCTAssertEqual(float16Bits(0x1p-14), 0x0400)   // smallest normal
        // Ties to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
        XCTAssertEqual(float16Bits(1 + 0x1p-11), 0x3C00)
        XCTAssertEqual(float16Bits(1 + 0x1p-10 + 0x1p-11), 0x3C02)
    }
}
