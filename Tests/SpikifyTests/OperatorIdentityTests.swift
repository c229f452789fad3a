import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyExport
@testable import SpikifyModel
@testable import SpikifySpiking

/// Verification ladder step 1: SESA products and differential operators telescope to the QANN operation.
final class OperatorIdentityTests: XCTestCase {
    private func slot(_ rows: Int, _ width: Int) -> ValueSlot {
        let s = ValueSlot(ValueInfo(name: "v", rows: rows, width: width), batch: 1)
        s.reset()
        return s
    }

    /// Feeds one step of increments into an input slot (its total accumulates them).
    private func feed(_ slot: ValueSlot, _ increments: [Float]) {
        for (i, x) in increments.enumerated() {
            slot.increment.pointer[i] = x
            slot.total.pointer[i] += x
        }
        slot.changed = increments.contains { $0 != 0 }
    }

    /// Random ternary increments (most zero), like spikes times θ.
    private func spikes(_ count: Int, theta: Float, rng: inout NeuronTests.SplitMix) -> [Float] {
        (0..<count).map { _ in [-theta, 0, 0, 0, theta][Int.random(in: 0..<5, using: &rng)] }
    }

    /// `left · rightᵀ` per head for `[n, d]` operands with heads as column blocks → `[heads·n, n]`.
    private func scores(_ left: [Float], _ right: [Float], n: Int, d: Int, heads: Int) -> [Float] {
        let hd = d / heads
        var out = [Float](repeating: 0, count: heads * n * n)
        for h in 0..<heads {
            for r in 0..<n {
                for c in 0..<n {
                    var e: Float = 0
                    for j in 0..<hd { e += left[r * d + h * hd + j] * right[c * d + h * hd + j] }
                    out[(h * n + r) * n + c] = e
                }
            }
        }
        return out
    }

    func testSpikeScoresFollowTheSESARule() {
        var rng = NeuronTests.SplitMix(state: 7)
        let n = 5, d = 8, heads = 2, scale: Float = 0.5
        let q = slot(n, d), k = slot(n, d), out = slot(heads * n, n)
        let op = SpikeScoresOperator(q: q, k: k, output: out, heads: heads, scale: scale, batch: 1,
                                    scratch: ScratchArena())
        var summed = [Float](repeating: 0, count: heads * n * n)
        for t in 0..<12 {
            let previousK = Array(k.total.buffer)
            let qs = spikes(n * d, theta: 0.25, rng: &rng), ks = t == 5 ? [Float](repeating: 0, count: n * d) : spikes(n * d, theta: 0.5, rng: &rng)
            feed(q, qs)
            feed(k, ks)
            op.step(t, batch: 1)
            // SESA: Δ_t = scale·(Q̂_t k_tᵀ + q_t K̂_{t−1}ᵀ), the change of scale·Q̂K̂ᵀ.
            let first = scores(Array(q.total.buffer), ks, n: n, d: d, heads: heads)
            let second = scores(qs, previousK, n: n, d: d, heads: heads)
            let product = scores(Array(q.total.buffer), Array(k.total.buffer), n: n, d: d, heads: heads)
            for i in summed.indices {
                XCTAssertEqual(out.increment[i], scale * (first[i] + second[i]), accuracy: 1e-5, "t \(t)")
                XCTAssertEqual(out.total[i], scale * product[i], accuracy: 1e-5, "t \(t)")
                summed[i] += out.increment[i]
            }
        }
        for i in summed.indices { XCTAssertEqual(summed[i], out.total[i], accuracy: 1e-5) }
    }

    func testSpikeWeightedValuesFollowTheSESARule() {
        var rng = NeuronTests.SplitMix(state: 11)
        let n = 4, d = 6, heads = 3, hd = d / heads
        let a = slot(heads * n, n), v = slot(n, d), out = slot(n, d)
        let op = SpikeWeightedValuesOperator(a: a, b: v, output: out, heads: heads, batch: 1, scratch: ScratchArena())
        for t in 0..<10 {
            let previousV = Array(v.total.buffer)
            let xs = spikes(heads * n * n, theta: 0.125, rng: &rng), vs = spikes(n * d, theta: 0.3, rng: &rng)
            feed(a, xs)
            feed(v, vs)
            op.step(t, batch: 1)
            let A = Array(a.total.buffer), V = Array(v.total.buffer)
            for h in 0..<heads {
                for r in 0..<n {
                    for j in 0..<hd {
                        var total: Float = 0, sesa: Float = 0
                        for c in 0..<n {
                            let ai = (h * n + r) * n + c, vi = c * d + h * hd + j
                            total += A[ai] * V[vi]
                            sesa += A[ai] * vs[vi] + xs[ai] * previousV[vi]  // Â_t v_t + a_t V̂_{t−1}
                        }
                        XCTAssertEqual(out.total[r * d + h * hd + j], total, accuracy: 1e-5)
                        XCTAssertEqual(out.increment[r * d + h * hd + j], sesa, accuracy: 1e-5)
                    }
                }
            }
        }
    }

    /// ... and count their events (non-zero increments) at every step, with their increments kept or not.
    func testDifferentialLayerNormSoftmaxAndGELUTelescope() {
        var rng = NeuronTests.SplitMix(state: 3)
        let rows = 3, width = 7
        let gamma = Tensor(shape: [width], scalars: (0..<width).map { _ in Float.random(in: 0.5...1.5, using: &rng) })
        let beta = Tensor(shape: [width], scalars: (0..<width).map { _ in Float.random(in: -0.5...0.5, using: &rng) })
        let cases: [(String, (ValueSlot, ValueSlot) -> RowDifferentialOperator, ([Float]) -> [Float])] = [
            ("layernorm", { LayerNormDiffOperator(input: $0, output: $1, gamma: gamma, beta: beta, eps: 1e-6) }, { x in
                var y = [Float](repeating: 0, count: x.count)
                Kernels.layerNorm(x, rows: rows, width: width, gamma: gamma.scalars, beta: beta.scalars, eps: 1e-6, into: &y)
                return y
            }),
            ("softmax", { SoftmaxDiffOperator(input: $0, output: $1) }, { x in
                var y = x
                Kernels.softmax(&y, rows: rows, width: width)
                return y
            }),
            ("gelu", { ActivationDiffOperator(input: $0, output: $1, activation: .gelu) }, { x in
                var y = x
                Kernels.gelu(&y, count: y.count)
                return y
            }),
        ]
        for (name, make, reference) in cases {
            let input = slot(rows, width), output = slot(rows, width)
            let op = make(input, output)
            // The same operator on an output whose increments are not kept (a shared buffer): same totals, flags
            // and event counts.
            let bare = ValueSlot(ValueInfo(name: "bare", rows: rows, width: width), batch: 1,
                                 sharedIncrement: FloatBuffer(count: rows * width))
            bare.reset()
            let bareOp = make(input, bare)
            var summed = [Float](repeating: 0, count: rows * width)
            for t in 0..<9 {
                // Steps 0–5 change the input (step 3 only row 1); steps 6–8 are quiet.
                var x = (0..<(rows * width)).map { _ in Float.random(in: -1...1, using: &rng) }
                if t == 3 { for i in x.indices where i / width != 1 { x[i] = 0 } }
                if t >= 6 { x = x.map { _ in 0 } }
                feed(input, x)
                op.step(t, batch: 1)
                bareOp.step(t, batch: 1)
                XCTAssertEqual(bare.total.buffer.map(\.bitPattern), output.total.buffer.map(\.bitPattern), name)
                XCTAssertEqual(Array(bare.rowFlags.buffer), Array(output.rowFlags.buffer), "\(name) t \(t)")
                XCTAssertEqual([bare.stepEvents, bare.changed ? 1 : 0], [output.stepEvents, output.changed ? 1 : 0])
                // The total is exactly f of the accumulated input; unchanged rows have zero increments.
                XCTAssertEqual(Array(output.total.buffer), reference(Array(input.total.buffer)), "\(name) t \(t)")
                if t == 3 {
                    for i in 0..<width { XCTAssertEqual(output.increment[i], 0, "\(name): unchanged row 0") }
                }
                if t >= 6 { XCTAssertFalse(output.changed, name) }
                // The events it counts (what a linear layer it feeds takes as input events) are its non-zero
                // increments.
                XCTAssertEqual(output.stepEvents, output.increment.buffer.filter { $0 != 0 }.count, "\(name) t \(t)")
                for i in summed.indices { summed[i] += output.increment[i] }
            }
            let expected = reference(Array(input.total.buffer))
            for i in expected.indices { XCTAssertEqual(summed[i], expected[i], accuracy: 1e-5, name) }
        }
    }
}
