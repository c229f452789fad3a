import XCTest
@testable import Spikify

/// Verification ladder step 1: SESA products and differential operators telescope to the QANN operation.
final class OperatorIdentityTests: XCTestCase {
    private func slot(_ rows: Int, _ width: Int, batch: Int) -> ValueSlot {
        ValueSlot(ValueInfo(name: "v", rows: rows, width: width), batch: batch)
    }

    private func load(_ slot: ValueSlot, _ values: [Float]) {
        for (i, v) in values.enumerated() { slot.pointer[i] = v }
        slot.refreshZero(batch: 1)
    }

    /// Random ternary increments (most zero), like spikes times θ.
    private func spikes(_ count: Int, theta: Float, rng: inout NeuronTests.SplitMix) -> [Float] {
        (0..<count).map { _ in [-theta, 0, 0, 0, theta][Int.random(in: 0..<5, using: &rng)] }
    }

    func testSpikeScoresSumToTheProductOfTotals() {
        var rng = NeuronTests.SplitMix(state: 7)
        let n = 5, d = 8, heads = 2, hd = d / heads, scale: Float = 0.5
        let q = slot(n, d, batch: 1), k = slot(n, d, batch: 1), out = slot(heads * n, n, batch: 1)
        let op = SpikeScoresOperator(a: q, b: k, output: out, heads: heads, alpha: scale, batch: 1)
        op.reset(batch: 1)
        var totalQ = [Float](repeating: 0, count: n * d), totalK = totalQ
        var summed = [Float](repeating: 0, count: heads * n * n)
        for t in 0..<12 {
            let qs = spikes(n * d, theta: 0.25, rng: &rng), ks = spikes(n * d, theta: 0.5, rng: &rng)
            load(q, qs); load(k, ks)
            for i in 0..<(n * d) { totalQ[i] += qs[i]; totalK[i] += ks[i] }
            op.step(t, batch: 1)
            for i in 0..<summed.count { summed[i] += out.pointer[i] }
            // After every step the running sum equals scale · Q̂_t K̂_tᵀ per head.
            for h in 0..<heads {
                for r in 0..<n {
                    for c in 0..<n {
                        var e: Float = 0
                        for j in 0..<hd { e += totalQ[r * d + h * hd + j] * totalK[c * d + h * hd + j] }
                        XCTAssertEqual(summed[(h * n + r) * n + c], scale * e, accuracy: 1e-5)
                    }
                }
            }
        }
    }

    func testSpikeWeightedValuesSumToTheProductOfTotals() {
        var rng = NeuronTests.SplitMix(state: 11)
        let n = 4, d = 6, heads = 3, hd = d / heads
        let a = slot(heads * n, n, batch: 1), v = slot(n, d, batch: 1), out = slot(n, d, batch: 1)
        let op = SpikeWeightedValuesOperator(a: a, b: v, output: out, heads: heads, alpha: 1, batch: 1)
        op.reset(batch: 1)
        var totalA = [Float](repeating: 0, count: heads * n * n), totalV = [Float](repeating: 0, count: n * d)
        var summed = [Float](repeating: 0, count: n * d)
        for t in 0..<10 {
            let xs = spikes(totalA.count, theta: 0.125, rng: &rng), vs = spikes(n * d, theta: 0.3, rng: &rng)
            load(a, xs); load(v, vs)
            for i in xs.indices { totalA[i] += xs[i] }
            for i in vs.indices { totalV[i] += vs[i] }
            op.step(t, batch: 1)
            for i in summed.indices { summed[i] += out.pointer[i] }
        }
        for h in 0..<heads {
            for r in 0..<n {
                for j in 0..<hd {
                    var e: Float = 0
                    for c in 0..<n { e += totalA[(h * n + r) * n + c] * totalV[c * d + h * hd + j] }
                    XCTAssertEqual(summed[r * d + h * hd + j], e, accuracy: 1e-5)
                }
            }
        }
    }

    func testDifferentialLayerNormSoftmaxAndGELUTelescope() {
        var rng = NeuronTests.SplitMix(state: 3)
        let rows = 3, width = 7
        let gamma = Tensor(shape: [width], scalars: (0..<width).map { _ in Float.random(in: 0.5...1.5, using: &rng) })
        let beta = Tensor(shape: [width], scalars: (0..<width).map { _ in Float.random(in: -0.5...0.5, using: &rng) })
        let cases: [(String, (ValueSlot, ValueSlot) -> RowDifferentialOperator, ([Float]) -> [Float])] = [
            ("layernorm", { LayerNormDiffOperator(input: $0, output: $1, gamma: gamma, beta: beta, eps: 1e-6, batch: 1) }, { x in
                var y = [Float](repeating: 0, count: x.count)
                Kernels.layerNorm(x, rows: rows, width: width, gamma: gamma.scalars, beta: beta.scalars, eps: 1e-6, into: &y)
                return y
            }),
            ("softmax", { SoftmaxDiffOperator(input: $0, output: $1, batch: 1) }, { x in
                var y = x
                Kernels.softmax(&y, rows: rows, width: width)
                return y
            }),
            ("gelu", { ActivationDiffOperator(input: $0, output: $1, activation: .gelu, batch: 1) }, { x in
                var y = x
                Kernels.gelu(&y, count: y.count)
                return y
            }),
        ]
        for (name, make, reference) in cases {
            let input = slot(rows, width, batch: 1), output = slot(rows, width, batch: 1)
            let op = make(input, output)
            op.reset(batch: 1)
            var total = [Float](repeating: 0, count: rows * width), summed = total
            for t in 0..<9 {
                let x = t < 6 ? (0..<(rows * width)).map { _ in Float.random(in: -1...1, using: &rng) } : total.map { _ in 0 }
                load(input, x)
                for i in x.indices { total[i] += x[i] }
                op.step(t, batch: 1)
                for i in summed.indices { summed[i] += output.pointer[i] }
                if t >= 6 { XCTAssertTrue(output.pointer[0] == 0 && output.pointer[rows * width - 1] == 0, "\(name) quiet rows") }
            }
            let expected = reference(total)
            for i in expected.indices { XCTAssertEqual(summed[i], expected[i], accuracy: 1e-5, name) }
        }
    }
}
