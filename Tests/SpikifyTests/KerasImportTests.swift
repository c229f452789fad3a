import Foundation
import XCTest
import Spikify
@testable import SpikifyModel

/// Keras 3 `.weights.h5` import (keras_hub `ViTImageClassifier`): parity with `model.predict`, the inferred
/// configuration, and the errors for Keras files that Spikify cannot run (tools/make_keras_fixtures.py).
final class KerasImportTests: XCTestCase {
    static func model(_ name: String) -> String { Fixtures.root.appendingPathComponent("Fixtures/\(name).weights.h5").path }
    static let names = ["keras_vit_token", "keras_vit_nobias"]

    func testLogitsMatchKerasPredict() throws {
        for name in Self.names {
            let (model, layout) = try ViTImporter.loadWithLayout(Self.model(name))
            XCTAssertEqual(layout, .keras, name)
            let data = try ImageDataset.load(Fixtures.data(name), for: model.config)
            let reference = try Fixtures.floats(Fixtures.data(name), "logits")
            XCTAssertEqual(reference.shape, [6, 10], name)
            let logits = ViTForward(model).logits(data.images)
            let delta = logits.maxAbsDifference(reference)
            print("\(name): max |Δlogit| = \(delta)")
            XCTAssertLessThanOrEqual(delta, 1e-4, name)
            XCTAssertEqual(logits.argmaxRows(), reference.argmaxRows(), name)
            // The reference is not degenerate: its logits spread, and not every image has the same class.
            XCTAssertGreaterThan(reference.scalars.max()! - reference.scalars.min()!, 0.5, name)
            XCTAssertGreaterThan(Set(reference.argmaxRows()).count, 1, name)
        }
    }

    func testInferredConfigurations() throws {
        let token = try ViTImporter.load(Self.model("keras_vit_token"))
        let c = token.config
        XCTAssertEqual([c.imageSize, c.patchSize, c.channels, c.embedDim, c.depth, c.numHeads, c.mlpDim, c.numClasses,
                        c.tokenCount], [32, 8, 3, 36, 2, 3, 72, 10, 17])
        XCTAssertTrue(c.classToken)
        XCTAssertEqual(c.globalPool, .token)
        XCTAssertEqual(c.activation, .gelu)
        XCTAssertEqual(c.layerNormEps, 1e-6)
        XCTAssertEqual(token.weights.blocks[1].qkvBias.count, 3 * 36)
        XCTAssertEqual(token.weights.patchBias.count, 36)

        let plain = try ViTImporter.load(Self.model("keras_vit_nobias"))
        let p = plain.config
        XCTAssertEqual([p.imageSize, p.patchSize, p.channels, p.embedDim, p.depth, p.numHeads, p.mlpDim, p.numClasses,
                        p.tokenCount], [16, 4, 1, 32, 2, 4, 64, 10, 17])
        let b = plain.weights.blocks[0]
        XCTAssertTrue(b.qkvBias.isEmpty && b.projBias.isEmpty && b.fc1Bias.isEmpty && b.fc2Bias.isEmpty)
        XCTAssertTrue(plain.weights.patchBias.isEmpty)
        XCTAssertEqual(plain.weights.headBias.count, 10)

        // Flags still override what keras_hub's defaults give.
        let overridden = try ViTImporter.load(Self.model("keras_vit_token"), options: ImportOptions(layerNormEps: 1e-5))
        XCTAssertEqual(overridden.config.layerNormEps, 1e-5)
    }

    /// The conversions against values read straight from the Keras file: Conv2D `[kh, kw, cin, cout]` →
    /// `[cout, cin, kh, kw]`, MHA query `[D, H, hd]` → `[D_out, D_in]`, Dense `[in, out]` → `[out, in]`.
    func testTensorConversions() throws {
        let path = Self.model("keras_vit_token")
        let raw = try EditableCheckpoint(path).tensors
        let w = try ViTImporter.load(path).weights
        let embed = "layers/vi_t_backbone/layers/vi_t_patching_and_embedding/"
        let conv = try XCTUnwrap(raw[embed + "patch_embedding/vars/0"])
        XCTAssertEqual(conv.shape, [8, 8, 3, 36])
        // weight[d=5, c=2, i=3, j=7] = kernel[3, 7, 2, 5]
        let (d, c, i, j) = (5, 2, 3, 7)
        let canonicalIndex: Int = ((d * 3 + c) * 8 + i) * 8 + j
        let kerasIndex: Int = ((i * 8 + j) * 3 + c) * 36 + d
        XCTAssertEqual(w.patchWeight[canonicalIndex], conv.scalars[kerasIndex])
        let block1 = "layers/vi_t_backbone/layers/vi_t_encoder/encoder_layers/vi_t_encoder_block_1/"
        let key = try XCTUnwrap(raw[block1 + "mha/key_dense/vars/0"])
        XCTAssertEqual(key.shape, [36, 3, 12])
        // k weight[out = head 2 · 12 + 4, in = 9] = kernel[9, 2, 4]; qkv rows: q 0..<36, k 36..<72
        let (h, e, input) = (2, 4, 9)
        let row: Int = 36 + h * 12 + e
        let keyIndex: Int = (input * 3 + h) * 12 + e
        XCTAssertEqual(w.blocks[1].qkvWeight[row * 36 + input], key.scalars[keyIndex])
        let head = try XCTUnwrap(raw["layers/dense/vars/0"])
        XCTAssertEqual(w.headWeight[7 * 36 + 11], head.scalars[11 * 10 + 7])
        XCTAssertEqual(w.classToken, raw[embed + "vars/0"]?.scalars)
    }

    func testKerasFileOfAnotherModelIsRejected() {
        let path = Self.model("keras_dense_only")
        assertSpikifyError([path, "not a keras_hub ViT", "layers/dense/vars/0 [4, 3]", "layers/dense/vars/1 [3]",
                            "vi_t_patching_and_embedding", "vi_t_encoder", "ViTImageClassifier"]) {
            _ = try ViTImporter.load(path)
        }
    }

    func testViTWithoutClassTokenIsRejected() {
        let path = Self.model("keras_vit_no_class_token")
        assertSpikifyError([path, "without a class token", "use_class_token=False", "'gap'"]) {
            _ = try ViTImporter.load(path)
        }
    }

    func testEveryMissingKerasVariableIsListed() throws {
        var ckpt = try EditableCheckpoint(Self.model("keras_vit_token"))
        let encoder = "layers/vi_t_backbone/layers/vi_t_encoder/"
        let gone = [encoder + "encoder_layers/vi_t_encoder_block_1/mha/query_dense/vars/0",
                    encoder + "encoder_layers/vi_t_encoder_block/mlp/dense_2/vars/0", encoder + "layer_norm/vars/0"]
        for k in gone { XCTAssertNotNil(ckpt.tensors.removeValue(forKey: k), k) }
        ckpt.tensors = ckpt.tensors.filter { !$0.key.hasPrefix("layers/dense/") }  // and the head
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("broken.weights.h5").path
        try ckpt.write(path)
        assertSpikifyError([path, "missing 4 keys", "classification head"] + gone) { _ = try ViTImporter.load(path) }
    }

    /// A classifier with `intermediate_dim` has a second Dense (the tanh pre-logits layer) outside the backbone.
    func testExtraDenseLayerBeforeTheHeadIsRejected() throws {
        var ckpt = try EditableCheckpoint(Self.model("keras_vit_token"))
        ckpt.tensors["layers/dense_1/vars/0"] = Tensor(shape: [36, 10], scalars: [Float](repeating: 0.1, count: 360))
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("prelogits.weights.h5").path
        try ckpt.write(path)
        assertSpikifyError([path, "2 Dense layers outside the ViT backbone", "layers/dense, layers/dense_1",
                            "pre-logits"]) { _ = try ViTImporter.load(path) }
    }

    func testMisshapenKerasVariableNamesTheDataset() throws {
        var ckpt = try EditableCheckpoint(Self.model("keras_vit_token"))
        let k = "layers/vi_t_backbone/layers/vi_t_encoder/encoder_layers/vi_t_encoder_block/mha/output_dense/vars/0"
        ckpt.tensors[k] = Tensor(shape: [3, 11, 36], scalars: [Float](repeating: 0, count: 3 * 11 * 36))
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("misshapen.weights.h5").path
        try ckpt.write(path)
        assertSpikifyError([path, k, "[3, 11, 36]", "expected [3, 12, 36]"]) { _ = try ViTImporter.load(path) }
    }
}
