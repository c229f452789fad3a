import XCTest
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyModel
@testable import SpikifySpiking

/// The spiking linear layer gathers changed rows of many samples into one GEMM only where that reproduces the
/// reference network's one-call-per-sample results bit for bit (``GatheredLinear``). These tests check the measured
/// row count against every row count, for the layer shapes of the bundled models and the test fixtures, on this
/// machine's BLAS kernel as it is configured.
final class GatheredLinearTests: XCTestCase {
    private func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000 * scale
        }
    }

    /// Every row count m ≥ m₀ up to three samples, rows drawn from three samples in a scrambled order.
    func testGatheredCallsReproducePerSampleCallsForEveryRowCount() {
        // (in, out, rows per sample): the bundled MNIST ViTs (patch 16 → 64, 64 → 64/128, 128 → 64) and a
        // ViT-Tiny block (192 → 192/768, 768 → 192).
        let shapes = [(16, 64, 49), (64, 64, 50), (64, 128, 50), (128, 64, 50), (192, 192, 197), (192, 768, 197),
                      (768, 192, 197)]
        for (k, n, rows) in shapes {
            guard let m0 = GatheredLinear.minimumRows(inFeatures: k, outFeatures: n, rowsPerSample: rows) else {
                continue  // one call per sample: nothing to check
            }
            let samples = 3
            let x = random(samples * rows * k, seed: 1), w = random(n * k, seed: 2, scale: 0.05)
            let b = random(n, seed: 3)
            var reference = [Float](repeating: 0, count: samples * rows * n)
            Kernels.linear(x, samples: samples, rowsPerSample: rows, inFeatures: k, weight: w, bias: b,
                           outFeatures: n, into: &reference)
            let step = rows > 100 ? 7 : 1  // every row count for the small shapes, every 7th for ViT-Tiny
            for m in stride(from: m0, through: samples * rows, by: step) {
                let source = (0..<m).map { ($0 * 31 + m) % (samples * rows) }
                var gathered = [Float](), out = [Float](repeating: 0, count: m * n)
                for r in source { gathered += x[(r * k)..<((r + 1) * k)] }
                Kernels.linear(gathered, rows: m, inFeatures: k, weight: w, bias: b, outFeatures: n, into: &out)
                for (i, r) in source.enumerated() where Array(out[(i * n)..<((i + 1) * n)]) != Array(reference[(r * n)..<((r + 1) * n)]) {
                    XCTFail("\(k)→\(n), \(rows) rows per sample: row \(r) differs in a call of \(m) rows (m₀ = \(m0))")
                    return
                }
            }
        }
    }
}
