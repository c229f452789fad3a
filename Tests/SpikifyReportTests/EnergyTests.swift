import XCTest
@testable import SpikifyReport

/// The energy formulas of docs/energy.md against hand-computed values for the tiny ViT of `Fixtures`
/// (N = 5 tokens, D = 4, M = 8, h = 2, 2 blocks, 3 classes, 4 patches of 1×2×2).
final class EnergyTests: XCTestCase {
    func testANNMACsPerLayer() throws {
        let config = try JSONDecoder.snake.decode(ReportDocument.Config.self, from: Data(Fixtures.tinyConfig.utf8))
        let layers = try XCTUnwrap(ViTOperationCount.layers(config))
        let macs = Dictionary(uniqueKeysWithValues: layers.map { ($0.name, $0.macs) })
        XCTAssertEqual(macs["patch_embed.proj.weight"], 64)   // 4 patches · D 4 · C·p² 4
        XCTAssertEqual(macs["blocks.0.attn.q.weight"], 80)    // N 5 · D² 16
        XCTAssertEqual(macs["blocks.1.attn.proj.weight"], 80)
        XCTAssertEqual(macs["blocks.0.attn.qk"], 100)         // N² 25 · D 4
        XCTAssertEqual(macs["blocks.0.attn.av"], 100)
        XCTAssertEqual(macs["blocks.0.attn.softmax"], 50)     // h 2 · N² 25
        XCTAssertEqual(macs["blocks.0.mlp.fc1.weight"], 160)  // N 5 · D 4 · M 8
        XCTAssertEqual(macs["blocks.1.mlp.fc2.weight"], 160)
        XCTAssertEqual(macs["blocks.0.norm1"], 40)            // 2 · N 5 · D 4
        XCTAssertEqual(macs["final_norm"], 40)
        XCTAssertEqual(macs["head.weight"], 12)               // D 4 · K 3
        XCTAssertEqual(layers.count, 1 + 2 * 11 + 2)
        XCTAssertEqual(layers.map(\.macs).reduce(0, +), 2056)
    }

    func testEstimateMatchesHandComputedEnergy() throws {
        let e = EnergyEstimate.estimate(try Fixtures.document(Fixtures.newReport()))
        XCTAssertEqual(e.annMACs, 2056)
        XCTAssertEqual(e.annPJ, 2056 * 4.6, accuracy: 1e-9)
        // ACs per image: q 40 / 2 samples = 20, head 6 / 2 = 3, custom 1 · 8 / 2 = 4.
        XCTAssertEqual(e.snnACs, 27, accuracy: 1e-12)
        // MACs: patch embedding once (64); 5 norms · 40 · 4 steps (800); 2 softmax · 50 · 4 (400);
        // block 0 Q·Kᵀ at the 2 steps q or k spiked (200); the other products at all 4 steps (3 · 400).
        XCTAssertEqual(e.snnMACs, 64 + 800 + 400 + 200 + 1200, accuracy: 1e-9)
        XCTAssertEqual(e.snnPJ, 27 * 0.9 + 2664 * 4.6, accuracy: 1e-9)
        XCTAssertEqual(e.bits, 4)
        // QANN: 1756 MACs of linear layers and products at 4 bits, 300 of norms and softmax at fp32.
        XCTAssertEqual(e.qannPJ, 1756 * 0.06723172752523118 + 300 * 4.6, accuracy: 1e-9)
        XCTAssertEqual(e.rows.last?.name, "custom.weight")
        XCTAssertNil(e.rows.last?.annMACs)
        XCTAssertEqual(e.perBlock().map(\.name), ["patch_embed", "block 0", "block 1", "head"])
    }

    func testIntegerEnergyInterpolatesHorowitzTable() {
        let c = EnergyConstants.horowitz45nm
        XCTAssertEqual(c.integerMACPJ(bits: 8), 0.23, accuracy: 1e-12)
        XCTAssertEqual(c.integerMACPJ(bits: 32), 3.2, accuracy: 1e-12)
        XCTAssertEqual(c.integerMACPJ(bits: 16), 0.8421730431516977, accuracy: 1e-12)
        XCTAssertEqual([2, 3, 16, 17, 256].map { EnergyConstants.bits(levels: $0) }, [1, 2, 4, 5, 8])
    }

    func testProductsNeedBothFactorSitesForTheStepBound() throws {
        let alone = ReportDocument.Site(site: "blocks.0.q", eventsPerStep: [1, 0, 0, 0])
        XCTAssertNil(EnergyEstimate.activeSteps([alone, nil]))
        XCTAssertEqual(EnergyEstimate.activeSteps([alone, alone]), 1)
    }

    func testMultiLevelSpikesCountAsSeveralAccumulates() throws {
        let site = #"{"site": "blocks.0.norm1", "spikes_per_step": [8, 4, 0, 0], "events_per_step": [4, 2, 0, 0]},"#
        let e = EnergyEstimate.estimate(try Fixtures.document(Fixtures.newReport(extraSite: site)))
        // Σ spikes / Σ events over the sites with both: (8 + 4 + 3 + 2) / (4 + 2 + 3 + 2) = 17/11.
        XCTAssertEqual(e.meanSpikeSize, 17.0 / 11, accuracy: 1e-12)
        XCTAssertEqual(e.snnACs, 27 * 17.0 / 11, accuracy: 1e-12)
    }

    func testOldReportWithoutConfigEstimatesOnlyAccumulates() throws {
        let e = EnergyEstimate.estimate(try Fixtures.document(Fixtures.oldReport))
        XCTAssertEqual(e.rows.count, 3)
        XCTAssertEqual(e.snnACs, 23, accuracy: 1e-12)
        XCTAssertEqual(e.snnMACs, 8, accuracy: 1e-12)  // analog pixels into the patch embedding: 16 / 2 samples
        XCTAssertEqual(e.annPJ, 0)
        XCTAssertFalse(e.notes.isEmpty)
    }
}

extension JSONDecoder {
    static var snake: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
