import Foundation
import HDF5
import XCTest
import Spikify
@testable import SpikifyModel

/// Inputs that used to trap, overflow or pass silently are clear errors (library and CLI, which exits non-zero
/// without a signal).
final class ReliabilityTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func edited(_ name: String, _ edit: (inout EditableCheckpoint) -> Void) throws -> String {
        try editedCheckpoint(name, in: dir, edit)
    }

    /// The CLI exits with status 1 (an error, not a signal) and names `fragments`.
    private func assertCLIError(_ arguments: [String], _ fragments: [String], line: UInt = #line) throws {
        let r = try runSpikify(arguments)
        XCTAssertNotEqual(r.status, 0, line: line)
        XCTAssertLessThan(r.status, 128, "killed by a signal: \(r.err)", line: line)
        for f in fragments { XCTAssertTrue(r.err.contains(f), "'\(r.err)' lacks '\(f)'", line: line) }
    }

    func testAbsurdAttributesAreErrors() throws {
        let huge = try edited("huge.h5") { $0.attributes["num_heads"] = .double(1e300) }
        assertSpikifyError(["huge.h5", "num_heads", "expected an integer"]) { _ = try ViTImporter.load(huge) }
        let levels = try edited("levels.h5") { $0.attributes["levels"] = .int(Int64.max) }
        assertSpikifyError(["levels.h5", "levels"]) { _ = try ViTImporter.load(levels) }
        for (name, value) in [("eps-nan.h5", HDF5Value.double(.nan)), ("eps-neg.h5", .double(-1e-6))] {
            let path = try edited(name) { $0.attributes["layer_norm_eps"] = value }
            assertSpikifyError([name, "layer_norm_eps", "finite positive"]) { _ = try ViTImporter.load(path) }
        }
        let std = try edited("std.h5") { $0.attributes["std"] = .doubles([0, 0.5, 0.5]) }
        assertSpikifyError(["std.h5", "std"]) { _ = try ViTImporter.load(std) }
        // As flags, on the CLI: eps, std, mean, heads that do not divide the width.
        let model = Fixtures.model("timm_gelu_token"), data = Fixtures.data("timm_gelu_token")
        try assertCLIError(["inspect", model, "--eps", "nan"], ["layer_norm_eps"])
        try assertCLIError(["inspect", model, "--std", "0", "1", "1"], ["std"])
        try assertCLIError(["predict", "--model", model, "--data", data, "--out", dir.appendingPathComponent("l.h5").path,
                            "--mean", "inf", "0", "0"], ["mean"])
        try assertCLIError(["inspect", model, "--num-heads", "5"], ["heads do not divide"])
        try assertCLIError(["eval", "--model", model, "--method", "spikezip", "--calib", data, "--data", data,
                            "--timesteps", "4611686018427387904"], ["--timesteps"])
        try assertCLIError(["convert", "--model", model, "--calib", data, "--levels", "9223372036854775807",
                            "--out", dir.appendingPathComponent("x.h5").path], ["--levels"])
        try assertCLIError(["convert", "--model", model, "--calib", data, "--calib-samples", "0",
                            "--out", dir.appendingPathComponent("x.h5").path], ["--calib-samples"])
        try assertCLIError(["eval", "--model", model, "--method", "spikezip", "--calib", data, "--data", data,
                            "--limit", "0"], ["--limit"])
    }

    func testContradictoryDuplicateKeysNameBoth() throws {
        let copy = try edited("copy.h5") { c in
            c.tensors["blocks/0/norm1/weight"] = c.tensors["blocks.0.norm1.weight"]  // a nested copy, same values
        }
        XCTAssertNoThrow(try ViTImporter.load(copy))
        let conflict = try edited("conflict.h5") { c in
            var t = c.tensors["blocks.0.norm1.weight"]!
            t.scalars[0] += 1
            c.tensors["blocks/0/norm1/weight"] = t
        }
        assertSpikifyError(["conflict.h5", "blocks.0.norm1.weight", "blocks/0/norm1/weight", "different values"]) {
            _ = try ViTImporter.load(conflict)
        }
        let padded = try edited("padded.h5") { c in
            var t = c.tensors["blocks.1.mlp.fc1.bias"]!
            t.scalars[2] = 9
            c.tensors["blocks.01.mlp.fc1.bias"] = t
        }
        assertSpikifyError(["padded.h5", "blocks.01.mlp.fc1.bias", "blocks.1.mlp.fc1.bias"]) { _ = try ViTImporter.load(padded) }
    }

    /// Found by tools/mutate_inputs.py: one block's bias deleted was read as a zero bias (a silent wrong answer).
    func testABiasMissingFromSomeBlocksOnlyIsAnError() throws {
        let path = try edited("one-bias-gone.h5") { c in
            c.tensors["blocks.1.mlp.fc1.bias"] = nil
            c.tensors["blocks.0.norm1.bias"] = nil
        }
        assertSpikifyError(["one-bias-gone.h5", "blocks.1.mlp.fc1.bias", "blocks.0.norm1.bias"]) {
            _ = try ViTImporter.load(path)
        }
        let none = try edited("no-fc1-bias.h5") { c in
            c.tensors["blocks.0.mlp.fc1.bias"] = nil
            c.tensors["blocks.1.mlp.fc1.bias"] = nil
        }
        XCTAssertNoThrow(try ViTImporter.load(none), "a model without fc1 biases is a valid model")
    }

    func testHugeWeightsGiveAnErrorNamingTheSite() throws {
        let path = try edited("huge-weights.h5") { c in
            var t = c.tensors["blocks.1.mlp.fc1.weight"]!
            for i in t.scalars.indices { t.scalars[i] = i % 2 == 0 ? 3e38 : -3e38 }
            c.tensors["blocks.1.mlp.fc1.weight"] = t
        }
        try assertCLIError(["predict", "--model", path, "--data", Fixtures.data("timm_gelu_token"),
                            "--out", dir.appendingPathComponent("l.h5").path], ["huge-weights.h5", "non-finite", "blocks.1.fc1"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("l.h5").path))
    }

    func testEmptyDatasetIsAnError() throws {
        let empty = dir.appendingPathComponent("empty.h5").path
        let file = try HDF5File.create(empty)
        try file.root.write("images", uint8s: [], shape: [0, 32, 32, 3])
        try file.close()
        let model = try ViTImporter.load(Fixtures.model("timm_gelu_token"))
        assertSpikifyError(["empty.h5", "no images"]) { _ = try ImageDatasetReader(empty, for: model.config) }
    }

    /// Inputs that crashed `make fuzz` once (Tests/Fixtures/fuzz-regressions, docs/reliability.md): each must be an
    /// error of the library and of the CLI, not a crash. `damaged-link-index.h5` freed invalid pointers inside
    /// libhdf5 1.10.8 when its members were listed in name order.
    func testFuzzRegressionsAreErrors() throws {
        let folder = Fixtures.root.appendingPathComponent("Fixtures/fuzz-regressions")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".h5") }.sorted()
        XCTAssertFalse(files.isEmpty)
        for name in files {
            let path = folder.appendingPathComponent(name).path
            XCTAssertThrowsError(try ViTImporter.load(path), name)
            XCTAssertThrowsError(try ConvertedModelFile.read(path), name)
            try assertCLIError(["inspect", path], [name])
        }
    }
}
