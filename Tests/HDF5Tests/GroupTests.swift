import XCTest
@testable import HDF5

/// Groups: creation, navigation, listing, and dataset discovery.
final class GroupTests: HDF5TestCase {
    /// A small ViT-like layout.
    private func makeModel() throws -> HDF5File {
        try roundTrip("model.h5") { root in
            try root.write("patch_embed/proj/weight", floats: [1, 2, 3, 4], shape: [2, 2])
            try root.write("patch_embed/proj/bias", floats: [0, 0], shape: [2])
            for i in 0..<2 {
                let block = try root.createGroup("blocks/\(i)")
                try block.write("attn/qkv/weight", floats: [Float(i)], shape: [1, 1])
                try block.write("norm1/weight", floats: [1], shape: [1])
            }
            try root.write("cls_token", floats: [0.5], shape: [1, 1, 1])
            _ = try root.createGroup("empty/deeper")
            try root.setAttribute("depth", .int(2))
        }
    }

    func testNavigation() throws {
        let file = try makeModel()
        let root = file.root
        XCTAssertEqual(root.path, "/")
        XCTAssertTrue(root.exists("blocks/1/attn/qkv/weight"))
        XCTAssertTrue(root.exists("/blocks/1/attn/qkv/weight"))
        XCTAssertTrue(root.exists("blocks//1/./attn"))
        XCTAssertTrue(root.exists(""))
        XCTAssertFalse(root.exists("blocks/7/attn/qkv/weight"))  // missing intermediate
        XCTAssertFalse(root.exists("cls_token/child"))            // a dataset in the middle
        XCTAssertFalse(root.exists("nothing/at/all"))
        XCTAssertTrue(root.isGroup("blocks/0"))
        XCTAssertFalse(root.isGroup("cls_token"))
        XCTAssertFalse(root.isGroup("blocks/9"))
        XCTAssertTrue(root.isDataset("cls_token"))
        XCTAssertFalse(root.isDataset("blocks"))

        let block = try root.group("blocks/1")
        XCTAssertEqual(block.path, "/blocks/1")
        XCTAssertTrue(block.exists("attn/qkv"))
        XCTAssertEqual(try block.dataset("attn/qkv/weight").readFloats(), [1])
        XCTAssertEqual(try block.dataset("attn/qkv/weight").path, "/blocks/1/attn/qkv/weight")
        XCTAssertEqual(try block.group("attn").path, "/blocks/1/attn")
        XCTAssertEqual(try block.group("/blocks").path, "/blocks")
    }

    func testChildNamesAndDatasetPaths() throws {
        let file = try makeModel()
        XCTAssertEqual(try file.root.childNames(), ["blocks", "cls_token", "empty", "patch_embed"])
        XCTAssertEqual(try file.group("blocks").childNames(), ["0", "1"])
        XCTAssertEqual(try file.group("empty/deeper").childNames(), [])
        XCTAssertEqual(try file.root.datasetPaths(), [
            "blocks/0/attn/qkv/weight", "blocks/0/norm1/weight",
            "blocks/1/attn/qkv/weight", "blocks/1/norm1/weight",
            "cls_token", "patch_embed/proj/bias", "patch_embed/proj/weight",
        ])
        XCTAssertEqual(try file.group("blocks/1").datasetPaths(), ["attn/qkv/weight", "norm1/weight"])
        XCTAssertEqual(try file.group("empty").datasetPaths(), [])
    }

    func testCreateGroupIsIdempotentAndChecksTheWay() throws {
        let p = path("g.h5")
        let file = try HDF5File.create(p)
        let a = try file.root.createGroup("a/b/c")
        XCTAssertEqual(a.path, "/a/b/c")
        XCTAssertEqual(try file.root.createGroup("a/b").path, "/a/b")
        try file.root.write("a/data", floats: [1], shape: [1])
        let error = expectError { try file.root.createGroup("a/data/x") }
        guard case .writeFailed(_, let at, let reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(at, "/a/data")
        XCTAssertTrue(reason.contains("dataset"), reason)
        try file.close()
    }

    func testMissingAndWrongKindErrors() throws {
        let file = try makeModel()
        let missing = expectError { try file.root.dataset("blocks/0/attn/qkv/nope") }
        XCTAssertEqual(missing, .missing(file: file.path, path: "/blocks/0/attn/qkv/nope"))
        XCTAssertTrue(missing!.description.contains(file.path))
        XCTAssertTrue(missing!.description.contains("blocks/0/attn/qkv/nope"))
        XCTAssertEqual(expectError { try file.root.group("blocks/5") }, .missing(file: file.path, path: "/blocks/5"))

        let notGroup = expectError { try file.root.group("cls_token") }
        XCTAssertEqual(notGroup, .unsupportedType(file: file.path, path: "/cls_token", found: "dataset", expected: "group"))
        let notDataset = expectError { try file.root.dataset("blocks") }
        XCTAssertEqual(notDataset, .unsupportedType(file: file.path, path: "/blocks", found: "group", expected: "dataset"))
        XCTAssertTrue(notDataset!.description.contains("expected dataset"), notDataset!.description)
    }

    func testWriteErrors() throws {
        let p = path("w.h5")
        let file = try HDF5File.create(p)
        try file.root.write("x", floats: [1, 2], shape: [2])
        let duplicate = expectError { try file.root.write("x", floats: [1], shape: [1]) }
        guard case .writeFailed(let f, "/x", let reason)? = duplicate else { return XCTFail("\(String(describing: duplicate))") }
        XCTAssertEqual(f, p)
        XCTAssertTrue(reason.contains("exists"), reason)

        let badShape = expectError { try file.root.write("y", floats: [1, 2, 3], shape: [2, 2]) }
        guard case .writeFailed(_, "/y", let why)? = badShape else { return XCTFail("\(String(describing: badShape))") }
        XCTAssertTrue(why.contains("4") && why.contains("3"), why)
        XCTAssertFalse(file.root.exists("y"))
        XCTAssertNotNil(expectError { try file.root.write("", floats: [1], shape: [1]) })
        try file.close()

        let readOnly = try HDF5File.open(p)
        let error = expectError { try readOnly.root.write("z", floats: [1], shape: [1]) }
        XCTAssertEqual(error, .writeFailed(file: p, path: "/z", reason: "the file is open read-only"))
    }
}
