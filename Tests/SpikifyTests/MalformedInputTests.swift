import Foundation
import HDF5
import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyExport
@testable import SpikifyModel
@testable import SpikifySpiking

/// Every malformed input gets a clear error naming the file, the key and what was expected — in the library and
/// as a non-zero exit of the CLI.
final class MalformedInputTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func edited(_ name: String, _ edit: (inout EditableCheckpoint) -> Void) throws -> String {
        try editedCheckpoint(name, in: dir, edit)
    }

    func testMissingKeysAreListed() throws {
        let path = try edited("missing.h5") {
            $0.tensors["blocks.1.mlp.fc2.weight"] = nil
            $0.tensors["head.weight"] = nil
        }
        assertSpikifyError(["missing.h5", "missing", "blocks.1.mlp.fc2.weight"]) { _ = try ViTImporter.load(path) }
    }

    func testUnexpectedKeysAreListed() throws {
        let path = try edited("extra.h5") { $0.tensors["blocks.0.attn.rotary.weight"] = Tensor(zeros: [3]) }
        assertSpikifyError(["extra.h5", "unexpected", "blocks.0.attn.rotary.weight"]) { _ = try ViTImporter.load(path) }
    }

    func testShapeMismatchNamesExpectedAndFound() throws {
        let path = try edited("shape.h5") { $0.tensors["blocks.0.mlp.fc2.weight"] = Tensor(zeros: [48, 100]) }
        assertSpikifyError(["shape.h5", "blocks.0.mlp.fc2.weight", "[48, 100]", "expected"]) {
            _ = try ViTImporter.load(path)
        }
    }

    func testNonFiniteWeightsAreRejected() throws {
        let path = try edited("nan.h5") {
            var t = $0.tensors["blocks.0.attn.proj.weight"]!
            t.scalars[5] = .nan
            t.scalars[7] = .infinity
            $0.tensors["blocks.0.attn.proj.weight"] = t
        }
        assertSpikifyError(["nan.h5", "blocks.0.attn.proj.weight", "2 non-finite"]) { _ = try ViTImporter.load(path) }
    }

    func testMissingHeadsExplainsHowToProvideThem() throws {
        assertSpikifyError(["no_heads.h5", "attention heads", "--num-heads"]) {
            _ = try ViTImporter.load(Fixtures.model("no_heads"))
        }
    }

    func testBadAttributesAreRejected() throws {
        let act = try edited("act.h5") { $0.attributes["act"] = .string("swish") }
        assertSpikifyError(["act.h5", "'act'", "swish"]) { _ = try ViTImporter.load(act) }
        let heads = try edited("heads.h5") { $0.attributes["num_heads"] = .int(5) }
        assertSpikifyError(["heads.h5", "5 heads", "width 48"]) { _ = try ViTImporter.load(heads) }
        let mean = try edited("mean.h5") { $0.attributes["mean"] = .doubles([0.5, 0.5]) }
        assertSpikifyError(["mean.h5", "'mean' has 2 values", "3"]) { _ = try ViTImporter.load(mean) }
    }

    func testTruncatedAndForeignFiles() throws {
        let source = try Data(contentsOf: URL(fileURLWithPath: Fixtures.model("timm_gelu_token")))
        let truncated = dir.appendingPathComponent("truncated.h5")
        try source.prefix(source.count / 2).write(to: truncated)
        assertSpikifyError(["truncated.h5"]) { _ = try ViTImporter.load(truncated.path) }
        let text = dir.appendingPathComponent("notes.h5")
        try Data("just text".utf8).write(to: text)
        assertSpikifyError(["notes.h5", "not an HDF5 file"]) { _ = try ViTImporter.load(text.path) }
        assertSpikifyError(["absent.h5"]) { _ = try ViTImporter.load(dir.appendingPathComponent("absent.h5").path) }
    }

    func testUnknownLayout() throws {
        let path = dir.appendingPathComponent("other.h5").path  // (a Keras file of another model: KerasImportTests)
        let file = try HDF5File.create(path)
        try file.root.write("encoder/dense/kernel", floats: [1, 2], shape: [2])
        try file.close()
        assertSpikifyError(["other.h5", "not a ViT checkpoint", "encoder.dense.kernel"]) { _ = try ViTImporter.load(path) }
    }

    func testDatasetThatDoesNotFitTheModel() throws {
        let model = try ViTImporter.load(Fixtures.model("timm_gelu_token"))  // 32×32×3
        func dataset(_ name: String, _ build: (HDF5Group) throws -> Void) throws -> String {
            let path = dir.appendingPathComponent(name).path
            let file = try HDF5File.create(path)
            try build(file.root)
            try file.close()
            return path
        }
        let size = try dataset("size.h5") { try $0.write("images", uint8s: .init(repeating: 0, count: 2 * 28 * 28 * 3), shape: [2, 28, 28, 3]) }
        assertSpikifyError(["size.h5", "[2, 28, 28, 3]", "[N, 32, 32, 3]"]) { _ = try ImageDataset.load(size, for: model.config) }
        let channels = try dataset("channels.h5") { try $0.write("images", floats: .init(repeating: 0, count: 2 * 32 * 32), shape: [2, 1, 32, 32]) }
        assertSpikifyError(["channels.h5", "[N, 3, 32, 32]"]) { _ = try ImageDataset.load(channels, for: model.config) }
        let labels = try dataset("labels.h5") {
            try $0.write("images", floats: .init(repeating: 0, count: 2 * 3 * 32 * 32), shape: [2, 3, 32, 32])
            try $0.write("labels", int64s: [1, 10], shape: [2])
        }
        assertSpikifyError(["labels.h5", "label 10", "10 classes"]) { _ = try ImageDataset.load(labels, for: model.config) }
        let none = try dataset("none.h5") { try $0.write("pixels", floats: [0], shape: [1]) }
        assertSpikifyError(["none.h5", "no 'images'"]) { _ = try ImageDataset.load(none, for: model.config) }
    }

    func testCLIExitsNonZeroWithTheMessage() throws {
        let missing = try edited("cli-missing.h5") { $0.tensors["head.weight"] = nil }
        let outputs = dir.appendingPathComponent("logits.h5").path
        let r = try runSpikify(["predict", "--model", missing, "--data", Fixtures.data("timm_gelu_token"), "--out", outputs])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("cli-missing.h5") && r.err.contains("head.weight"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: outputs), "no output file after a failure")
        let heads = try runSpikify(["inspect", Fixtures.model("no_heads")])
        XCTAssertNotEqual(heads.status, 0)
        XCTAssertTrue(heads.err.contains("--num-heads"), heads.err)
        let data = try runSpikify(["predict", "--model", Fixtures.model("timm_gelu_token"), "--data",
                                   Fixtures.data("timm_f16"), "--out", outputs])
        XCTAssertNotEqual(data.status, 0)
        XCTAssertTrue(data.err.contains("timm_f16.data.h5"), data.err)
    }

    func testCLIPredictWritesLogitsAndAccuracy() throws {
        let out = dir.appendingPathComponent("logits.h5").path
        let r = try runSpikify(["predict", "--model", Fixtures.model("hf_classic"), "--data", Fixtures.data("hf_classic"),
                                "--out", out, "--batch-size", "4"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("accuracy"), r.out)
        let logits = try Fixtures.floats(out, "logits")
        XCTAssertLessThanOrEqual(logits.maxAbsDifference(try Fixtures.floats(Fixtures.data("hf_classic"), "logits")), 1e-4)
    }
}
