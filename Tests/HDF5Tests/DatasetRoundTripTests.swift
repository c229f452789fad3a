import XCTest
@testable import HDF5

/// Writing datasets of every element type and reading them back.
final class DatasetRoundTripTests: HDF5TestCase {
    func testFloats() throws {
        let values: [Float] = [0, 1.5, -2.25, .pi, 1e-30, -3e38]
        let file = try roundTrip { try $0.write("w", floats: values, shape: [2, 3]) }
        let d = try file.dataset("w")
        XCTAssertEqual(d.shape, [2, 3])
        XCTAssertEqual(d.count, 6)
        XCTAssertEqual(d.elementType, .float32)
        XCTAssertEqual(d.path, "/w")
        XCTAssertEqual(d.name, "w")
        XCTAssertEqual(try d.readFloats(), values)
        XCTAssertEqual(try d.readDoubles(), values.map(Double.init))
    }

    func testDoubles() throws {
        let values: [Double] = [0.1, -1e300, 1.0 / 3.0, 42]
        let file = try roundTrip { try $0.write("d", doubles: values, shape: [4]) }
        let d = try file.dataset("d")
        XCTAssertEqual(d.elementType, .float64)
        XCTAssertEqual(try d.readDoubles(), values)
        XCTAssertEqual(try d.readFloats(), values.map(Float.init))
    }

    func testInt64s() throws {
        let values: [Int64] = [0, -1, .max, .min, 7, 8]
        let file = try roundTrip { try $0.write("i", int64s: values, shape: [3, 1, 2]) }
        let d = try file.dataset("i")
        XCTAssertEqual(d.elementType, .int(bits: 64, signed: true))
        XCTAssertEqual(d.shape, [3, 1, 2])
        XCTAssertEqual(try d.readInt64s(), values)
        XCTAssertEqual(try d.readDoubles()[4], 7)
        XCTAssertEqual(try d.readFloats()[5], 8)
    }

    func testUInt8s() throws {
        let values: [UInt8] = [0, 1, 127, 128, 255]
        let file = try roundTrip { try $0.write("u", uint8s: values, shape: [5]) }
        let d = try file.dataset("u")
        XCTAssertEqual(d.elementType, .int(bits: 8, signed: false))
        XCTAssertEqual(try d.readUInt8s(), values)
        XCTAssertEqual(try d.readInt64s(), values.map(Int64.init))
        XCTAssertEqual(try d.readFloats(), values.map(Float.init))
    }

    func testVariableLengthStrings() throws {
        let values = ["cls", "", "Grüße 👋", "a longer label with spaces "]
        let file = try roundTrip { try $0.write("s", strings: values, shape: [2, 2]) }
        let d = try file.dataset("s")
        XCTAssertEqual(d.elementType, .string)
        XCTAssertEqual(d.shape, [2, 2])
        XCTAssertEqual(try d.readStrings(), values)
    }

    func testFixedLengthStrings() throws {
        let file = try roundTrip {
            try $0.write("null", fixedStrings: ["ab", "", "abcdef"], length: 4, shape: [3])
            try $0.write("space", fixedStrings: ["x", "yz "], length: 5, spacePadded: true, shape: [2])
        }
        XCTAssertEqual(try file.dataset("null").elementType, .string)
        XCTAssertEqual(try file.dataset("null").readStrings(), ["ab", "", "abcd"])
        XCTAssertEqual(try file.dataset("space").readStrings(), ["x", "yz"])
    }

    func testScalars() throws {
        let file = try roundTrip {
            try $0.write("f", floats: [2.5], shape: [])
            try $0.write("d", doubles: [-0.125], shape: [])
            try $0.write("i", int64s: [-9], shape: [])
            try $0.write("u", uint8s: [200], shape: [])
            try $0.write("s", strings: ["one"], shape: [])
            try $0.write("h", float16From: [0.75], shape: [])
        }
        for name in ["f", "d", "i", "u", "s", "h"] {
            let d = try file.dataset(name)
            XCTAssertEqual(d.shape, [], name)
            XCTAssertEqual(d.count, 1, name)
        }
        XCTAssertEqual(try file.dataset("f").readFloats(), [2.5])
        XCTAssertEqual(try file.dataset("d").readDoubles(), [-0.125])
        XCTAssertEqual(try file.dataset("i").readInt64s(), [-9])
        XCTAssertEqual(try file.dataset("u").readUInt8s(), [200])
        XCTAssertEqual(try file.dataset("s").readStrings(), ["one"])
        XCTAssertEqual(try file.dataset("h").readFloats(), [0.75])
    }

    func testEmptyDatasets() throws {
        let file = try roundTrip {
            try $0.write("f", floats: [], shape: [0, 3])
            try $0.write("s", strings: [], shape: [0])
        }
        let f = try file.dataset("f")
        XCTAssertEqual(f.shape, [0, 3])
        XCTAssertEqual(f.count, 0)
        XCTAssertEqual(try f.readFloats(), [])
        XCTAssertEqual(try file.dataset("s").readStrings(), [])
    }

    func testOtherIntegerWidthsAndByteOrders() throws {
        let file = try roundTrip {
            try $0.write("i8", integers: [-128, 127], bits: 8, signed: true, shape: [2])
            try $0.write("i16", integers: [-300, 300], bits: 16, signed: true, shape: [2])
            try $0.write("i32", integers: [-70000, 70000], bits: 32, signed: true, bigEndian: true, shape: [2])
            try $0.write("u16", integers: [0, 65535], bits: 16, signed: false, shape: [2])
            try $0.write("u32", integers: [1, 4_000_000_000], bits: 32, signed: false, shape: [2])
            try $0.write("u64", integers: [3, 1 << 40], bits: 64, signed: false, shape: [2])
            try $0.write("f32be", numbers: [1.5, -2], floatBits: 32, bigEndian: true, shape: [2])
            try $0.write("f64be", numbers: [0.1, 1e200], floatBits: 64, bigEndian: true, shape: [2])
        }
        XCTAssertEqual(try file.dataset("i8").elementType, .int(bits: 8, signed: true))
        XCTAssertEqual(try file.dataset("i8").readInt64s(), [-128, 127])
        XCTAssertEqual(try file.dataset("i16").elementType, .int(bits: 16, signed: true))
        XCTAssertEqual(try file.dataset("i16").readFloats(), [-300, 300])
        XCTAssertEqual(try file.dataset("i32").elementType, .int(bits: 32, signed: true))
        XCTAssertEqual(try file.dataset("i32").readInt64s(), [-70000, 70000])
        XCTAssertEqual(try file.dataset("u16").elementType, .int(bits: 16, signed: false))
        XCTAssertEqual(try file.dataset("u16").readInt64s(), [0, 65535])
        XCTAssertEqual(try file.dataset("u32").readInt64s(), [1, 4_000_000_000])
        XCTAssertEqual(try file.dataset("u64").elementType, .int(bits: 64, signed: false))
        XCTAssertEqual(try file.dataset("u64").readInt64s(), [3, 1 << 40])
        XCTAssertEqual(try file.dataset("f32be").elementType, .float32)
        XCTAssertEqual(try file.dataset("f32be").readFloats(), [1.5, -2])
        XCTAssertEqual(try file.dataset("f64be").readDoubles(), [0.1, 1e200])
    }

    func testBooleansStoredAsEnum() throws {
        let file = try roundTrip { try $0.writeBooleans("b", [true, false, true], shape: [3]) }
        let d = try file.dataset("b")
        XCTAssertEqual(d.elementType, .other("enum of int8"))
        XCTAssertEqual(try d.readInt64s(), [1, 0, 1])
    }

    func testReadIntoBuffer() throws {
        let values = (0..<12).map { Float($0) * 0.5 }
        let file = try roundTrip {
            try $0.write("w", floats: values, shape: [3, 4])
            try $0.write("h", float16From: values, shape: [12])
        }
        for name in ["w", "h"] {
            var out = [Float](repeating: -1, count: 12)
            try out.withUnsafeMutableBufferPointer { try file.dataset(name).readFloats(into: $0) }
            XCTAssertEqual(out, values, name)
        }
        var short = [Float](repeating: 0, count: 11)
        let error = expectError { try short.withUnsafeMutableBufferPointer { try file.dataset("w").readFloats(into: $0) } }
        guard case .readFailed(let f, let p, let reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(f, file.path)
        XCTAssertEqual(p, "/w")
        XCTAssertTrue(reason.contains("11"), reason)
    }

    func testWrongReadTypesAreRejected() throws {
        let file = try roundTrip {
            try $0.write("f", floats: [1], shape: [1])
            try $0.write("i", int64s: [1], shape: [1])
            try $0.write("s", strings: ["x"], shape: [1])
        }
        let cases: [(String, (HDF5Dataset) throws -> Any, String)] = [
            ("f", { try $0.readInt64s() }, "float32"),
            ("f", { try $0.readUInt8s() }, "float32"),
            ("i", { try $0.readUInt8s() }, "int64"),
            ("i", { try $0.readStrings() }, "int64"),
            ("s", { try $0.readFloats() }, "string"),
            ("s", { try $0.readDoubles() }, "string"),
        ]
        for (name, read, found) in cases {
            let d = try file.dataset(name)
            let error = expectError { try read(d) }
            guard case .unsupportedType(let f, let p, let foundType, let expected)? = error else {
                XCTFail("\(name): \(String(describing: error))")
                continue
            }
            XCTAssertEqual(f, file.path)
            XCTAssertEqual(p, "/\(name)")
            XCTAssertEqual(foundType, found)
            XCTAssertFalse(expected.isEmpty)
            XCTAssertTrue(error!.description.contains(file.path))
            XCTAssertTrue(error!.description.contains("/\(name)"))
        }
        var buffer = [Float](repeating: 0, count: 1)
        XCTAssertNotNil(expectError { try buffer.withUnsafeMutableBufferPointer { try file.dataset("s").readFloats(into: $0) } })
    }
}
