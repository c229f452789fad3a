import XCTest
@testable import HDF5

/// Attributes of groups and datasets.
final class AttributeTests: HDF5TestCase {
    func testEveryValueKindRoundTrips() throws {
        let values: [String: HDF5Value] = [
            "depth": .int(12),
            "negative": .int(-3),
            "patch": .ints([16, 16]),
            "one_int": .ints([7]),
            "empty_ints": .ints([]),
            "eps": .double(1e-6),
            "mean": .doubles([0.485, 0.456, 0.406]),
            "one_double": .doubles([0.5]),
            "name": .string("vit_tiny_patch16_224"),
            "unicode": .string("Größe ✓"),
            "empty": .string(""),
            "labels": .strings(["cat", "dog", ""]),
            "one_label": .strings(["only"]),
            "config": .string(#"{"embed_dim": 192, "depth": 12}"#),
        ]
        let file = try roundTrip {
            for (k, v) in values { try $0.setAttribute(k, v) }
        }
        XCTAssertEqual(try file.root.attributeNames(), values.keys.sorted())
        for (k, v) in values {
            XCTAssertEqual(try file.root.attribute(k), v, k)
        }
    }

    func testAbsentAttributeIsNil() throws {
        let file = try roundTrip { try $0.write("w", floats: [1], shape: [1]) }
        XCTAssertNil(try file.root.attribute("nope"))
        XCTAssertNil(try file.dataset("w").attribute("nope"))
        XCTAssertEqual(try file.root.attributeNames(), [])
    }

    func testReplaceAttribute() throws {
        let file = try roundTrip {
            try $0.setAttribute("x", .int(1))
            try $0.setAttribute("x", .strings(["now", "text"]))
        }
        XCTAssertEqual(try file.root.attribute("x"), .strings(["now", "text"]))
        XCTAssertEqual(try file.root.attributeNames(), ["x"])
    }

    func testAttributesOnGroupsAndDatasets() throws {
        let file = try roundTrip { root in
            let g = try root.createGroup("blocks/0")
            try g.setAttribute("index", .int(0))
            try g.write("w", floats: [1, 2], shape: [2])
            try g.dataset("w").setAttribute("scale", .double(0.5))
            try g.dataset("w").setAttribute("unit", .string("volt"))
        }
        XCTAssertEqual(try file.group("blocks/0").attribute("index"), .int(0))
        let w = try file.dataset("blocks/0/w")
        XCTAssertEqual(try w.attributeNames(), ["scale", "unit"])
        XCTAssertEqual(try w.attribute("scale"), .double(0.5))
        XCTAssertEqual(try w.attribute("unit"), .string("volt"))
    }

    func testOtherStoredTypes() throws {
        let file = try roundTrip { root in
            try root.setAttribute("i8", integers: [-5], bits: 8, signed: true, shape: [])
            try root.setAttribute("u16s", integers: [1, 65535], bits: 16, signed: false, shape: [2])
            try root.setAttribute("i32s", integers: [-1, 2, 3], bits: 32, signed: true, shape: [3])
            try root.setAttribute("u64", integers: [1 << 50], bits: 64, signed: false, shape: [])
            try root.setAttribute("f32", numbers: [0.25], floatBits: 32, shape: [])
            try root.setAttribute("f16s", numbers: [0.5, -2], floatBits: 16, shape: [2])
            try root.setAttribute("fixed", fixedStrings: ["gelu"], length: 8, shape: [])
            try root.setAttribute("fixeds", fixedStrings: ["a", "bc"], length: 3, shape: [2])
            try root.writeBooleans("qkv_bias", [true], shape: [], asAttribute: true)
            try root.writeBooleans("flags", [false, true], shape: [2], asAttribute: true)
        }
        let root = file.root
        XCTAssertEqual(try root.attribute("i8"), .int(-5))
        XCTAssertEqual(try root.attribute("u16s"), .ints([1, 65535]))
        XCTAssertEqual(try root.attribute("i32s"), .ints([-1, 2, 3]))
        XCTAssertEqual(try root.attribute("u64"), .int(1 << 50))
        XCTAssertEqual(try root.attribute("f32"), .double(0.25))
        XCTAssertEqual(try root.attribute("f16s"), .doubles([0.5, -2]))
        XCTAssertEqual(try root.attribute("fixed"), .string("gelu"))
        XCTAssertEqual(try root.attribute("fixeds"), .strings(["a", "bc"]))
        XCTAssertEqual(try root.attribute("qkv_bias"), .int(1))
        XCTAssertEqual(try root.attribute("flags"), .ints([0, 1]))
    }

    func testMissingObjectAndUnsupportedAttribute() throws {
        let file = try roundTrip { _ in }
        let error = expectError { try HDF5Attributes.read("x", of: "/nowhere", in: file) }
        XCTAssertEqual(error, .missing(file: file.path, path: "/nowhere"))
    }

    func testWritingAttributesToReadOnlyFileFails() throws {
        let file = try roundTrip { _ in }
        let error = expectError { try file.root.setAttribute("x", .int(1)) }
        guard case .writeFailed(let f, let p, _)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(f, file.path)
        XCTAssertEqual(p, "/@x")
        XCTAssertTrue(error!.description.contains("attribute 'x' of '/'"), error!.description)
    }

    func testValueAccessors() {
        XCTAssertEqual(HDF5Value.int(3).intValue, 3)
        XCTAssertEqual(HDF5Value.ints([3]).intValue, 3)
        XCTAssertEqual(HDF5Value.double(4).intValue, 4)
        XCTAssertNil(HDF5Value.double(4.5).intValue)
        XCTAssertNil(HDF5Value.ints([1, 2]).intValue)
        XCTAssertEqual(HDF5Value.int(3).doubleValue, 3)
        XCTAssertEqual(HDF5Value.doubles([0.5]).doubleValue, 0.5)
        XCTAssertNil(HDF5Value.string("3").doubleValue)
        XCTAssertEqual(HDF5Value.strings(["a"]).stringValue, "a")
        XCTAssertNil(HDF5Value.int(1).stringValue)
        XCTAssertEqual(HDF5Value.int(2).intArray, [2])
        XCTAssertEqual(HDF5Value.doubles([1, 2]).intArray, [1, 2])
        XCTAssertNil(HDF5Value.doubles([1, 2.5]).intArray)
        XCTAssertEqual(HDF5Value.ints([1, 2]).doubleArray, [1, 2])
        XCTAssertEqual(HDF5Value.string("a").stringArray, ["a"])
    }
}
