import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyExport
@testable import SpikifyModel
@testable import SpikifySpiking
import SpikifySIMD

/// Verification ladder step 1: the ST-BIF+ neuron equals the quantizer for any order of inputs (docs/methods/spikezip.md).
final class NeuronTests: XCTestCase {
    /// A seeded generator so the property tests are deterministic.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func testAnyInputOrderSettlesAtTheQuantizedTotal() {
        var rng = SplitMix(state: 42)
        for trial in 0..<2000 {
            let signed = trial % 2 == 0
            let levels = [2, 4, 16, 32][trial % 4]
            let theta = Float.random(in: 0.05...2, using: &rng)
            let q = ActivationQuantizer(step: theta, levels: levels, signed: signed)
            let parts = (0..<Int.random(in: 1...12, using: &rng)).map { _ in Float.random(in: -3...3, using: &rng) * theta }
            let total = parts.reduce(0, +)
            // Two different orders of the same inputs.
            for order in [parts, parts.shuffled(using: &rng)] {
                var neuron = STBIFNeuron(threshold: theta, lower: q.lower, upper: q.upper)
                var emitted: Int32 = 0
                for x in order { emitted += neuron.step(x) }
                var silentSteps = 0
                for _ in 0..<200 where silentSteps < 1 {
                    let s = neuron.step(0)
                    emitted += s
                    if s == 0 { silentSteps += 1 }
                }
                // The quantizer on the total: clamp(floor(X/θ + 0.5)). Totals within float error of a tie are skipped.
                let exact = Double(total) / Double(theta) + 0.5
                if abs(exact - exact.rounded()) < 1e-4 { continue }
                XCTAssertEqual(Float(neuron.count), q.level(total), "trial \(trial): \(order)")
                XCTAssertEqual(emitted, neuron.count)
            }
        }
    }

    func testAtMostOneSpikePerStepAndBoundsHold() {
        var neuron = STBIFNeuron(threshold: 0.5, lower: -8, upper: 7)
        XCTAssertEqual(neuron.step(100), 1)  // a huge input still gives one spike per step
        var total: Int32 = 1
        for _ in 0..<50 { total += neuron.step(0) }
        XCTAssertEqual(total, 7)  // saturates at the upper bound
        for _ in 0..<5 { XCTAssertEqual(neuron.step(0), 0) }
        // Bipolar correction: a large negative input takes spikes back down to the lower bound.
        _ = neuron.step(-1000)
        for _ in 0..<50 { _ = neuron.step(0) }
        XCTAssertEqual(neuron.count, -8)
    }

    func testUnsignedNeuronNeverGoesNegative() {
        var neuron = STBIFNeuron(threshold: 1, lower: 0, upper: 15)
        for x: Float in [-5, 2.4, -1, 0, 0, 0, 0, 0] { _ = neuron.step(x) }
        XCTAssertGreaterThanOrEqual(neuron.count, 0)
        XCTAssertEqual(neuron.count, 0)  // total −3.6 clamps to 0
    }

    func testRoundHalfUpAtExactTies() {
        var neuron = STBIFNeuron(threshold: 1, lower: -8, upper: 7)
        _ = neuron.step(2.5)
        for _ in 0..<10 { _ = neuron.step(0) }
        XCTAssertEqual(neuron.count, 3)  // floor(2.5 + 0.5)
        var negative = STBIFNeuron(threshold: 1, lower: -8, upper: 7)
        _ = negative.step(-2.5)
        for _ in 0..<10 { _ = negative.step(0) }
        XCTAssertEqual(negative.count, -2)  // floor(−2.5 + 0.5)
    }

    /// The layer's branch-free firing rule gives the scalar rule's spike for every membrane, count, bounds and
    /// burst (integers, halves, values next to them, beyond ±B, infinities), and 0 for NaN.
    func testBranchlessFiringEqualsTheFiringRule() {
        var rng = SplitMix(state: 5)
        let special: [Float] = [0, -0.0, 1, -1, 0.5, -0.5, 2, -2, 7.999999, -7.000001, 1e9, -1e9, .infinity,
                                -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, (1 as Float).nextDown, (1 as Float).nextUp,
                                (-1 as Float).nextDown, (-1 as Float).nextUp]
        for _ in 0..<200_000 {
            let levels = Int32.random(in: 2...32, using: &rng)
            let signed = Bool.random(using: &rng)
            let lower = signed ? -levels / 2 : 0, upper = signed ? levels / 2 - 1 : levels - 1
            let count = Int32.random(in: lower...upper, using: &rng)
            let burst = Int32.random(in: 1...(upper - lower + 1), using: &rng)
            let u = Bool.random(using: &rng) ? special.randomElement(using: &rng)!
                : Float.random(in: -40...40, using: &rng).rounded(Bool.random(using: &rng) ? .toNearestOrEven : .towardZero)
                    + ([0, 0.5, 0.25, 1e-6, -1e-6] as [Float]).randomElement(using: &rng)!
            XCTAssertEqual(STBIFNeuron.fireBranchless(u, count: Float(count), lower: Float(lower), upper: Float(upper),
                                                      burst: Float(burst)),
                           Float(STBIFNeuron.fire(u, count: count, lower: lower, upper: upper, burst: burst)),
                           "u \(u) count \(count) bounds \(lower)…\(upper) B \(burst)")
        }
        XCTAssertEqual(STBIFNeuron.fireBranchless(.nan, count: 0, lower: -8, upper: 7, burst: 1), 0)
        XCTAssertEqual(STBIFNeuron.fireBranchless(9e6, count: 0, lower: -16_777_216, upper: 16_777_216, burst: 16_777_216), 9e6)
        XCTAssertEqual(STBIFNeuron.fireBranchless(-5e6 - 0.5, count: 0, lower: -16_777_216, upper: 16_777_216, burst: 16_777_216), -5e6 - 1)
    }

    /// Counts recovered from totals as `round(fl(S·θ)·fl(1/θ))` are exact wherever ``STBIFLayer/countsFromTotals``
    /// allows them: thresholds over the whole normal range, counts up to ±(2²¹ − 1). A neuron whose input equals its
    /// output total does not fire, so its total stays `S·θ` exactly when the count it recovered is S.
    func testCountsRecoveredFromTotalsAreExactOverTheAllowedRange() {
        var rng = SplitMix(state: 29)
        let largest: Int32 = (1 << 21) - 1
        for _ in 0..<200 {
            let theta = Float(sign: .plus, exponent: Int.random(in: -120...100, using: &rng),
                              significand: Float.random(in: 1..<2, using: &rng))
            guard STBIFLayer.countsFromTotals(threshold: theta, lower: -Int(largest), upper: Int(largest)) else {
                continue
            }
            let counts = (0..<64).map { i -> Float in
                i < 4 ? Float([largest, -largest, largest - 1, 1][i]) : Float(Int32.random(in: -largest...largest,
                                                                                               using: &rng))
            }
            let totals = counts.map { $0 * theta }
            var recovered = totals, fired = [UInt8](repeating: 7, count: 1)
            let sums = spk_stbif_rows(totals, nil, &recovered, nil, 1, counts.count, theta, -Float(largest),
                                      Float(largest), 1, &fired)
            XCTAssertEqual(recovered.map(\.bitPattern), totals.map(\.bitPattern), "θ \(theta)")
            XCTAssertEqual(sums.events, 0, "θ \(theta)")
        }
    }

    /// The layer's kernel (C, vectorised clones: SpikifySIMD) fires every neuron as the Swift rule does, from the
    /// drive `x/θ + 0.5`, flags the rows that spiked, and sums spikes, events and the largest spike alike, with the
    /// counts in a buffer and recovered from the totals; blocks of 1–3 rows of odd widths (vector remainders),
    /// random θ, bounds, bursts, counts and inputs near the firing boundaries.
    func testRowKernelEqualsTheNeuronRuleNeuronByNeuron() {
        // Where counts cannot be recovered from totals, layers keep them: subnormal or overflowing θ, huge bounds.
        XCTAssertFalse(STBIFLayer.countsFromTotals(threshold: Float.leastNormalMagnitude / 2, lower: 0, upper: 15))
        XCTAssertFalse(STBIFLayer.countsFromTotals(threshold: 1e37, lower: -8, upper: 1000))
        XCTAssertFalse(STBIFLayer.countsFromTotals(threshold: 1e38, lower: 0, upper: 1))  // 1/θ subnormal
        XCTAssertFalse(STBIFLayer.countsFromTotals(threshold: 0.5, lower: 0, upper: 1 << 21))
        XCTAssertTrue(STBIFLayer.countsFromTotals(threshold: 0.5, lower: -(1 << 21) + 1, upper: (1 << 21) - 1))
        var rng = SplitMix(state: 17)
        for iteration in 0..<400 {
            let rows = Int.random(in: 1...3, using: &rng), width = Int.random(in: 1...77, using: &rng)
            let n = rows * width
            let levels = Int32.random(in: 2...64, using: &rng)
            let signed = Bool.random(using: &rng)
            let lower = signed ? -levels / 2 : 0, upper = signed ? levels / 2 - 1 : levels - 1
            // Every other block with single spikes (the default, which the kernel specialises).
            let burst = iteration % 2 == 0 ? 1 : Float(Int32.random(in: 1...(upper - lower + 1), using: &rng))
            let theta = Float.random(in: 0.001...2, using: &rng)
            var counts = (0..<n).map { _ in Float(Int32.random(in: lower...upper, using: &rng)) }
            let quiet = Int.random(in: 0..<rows, using: &rng)  // one row held at its count (a silent row)
            let x = (0..<n).map { i -> Float in
                // Inputs on, next to and between the thresholds of the current count, and far outside.
                let k = (counts[i] + (i / width == quiet ? 0 : Float(Int.random(in: -3...3, using: &rng)))) * theta
                return i / width == quiet ? k : [k, k.nextUp, k.nextDown, k + theta / 2, (k + theta / 2).nextDown,
                                                  k * 40, .nan].randomElement(using: &rng)!
            }
            var expectedCounts = counts, expectedTotals = [Float](repeating: 0, count: n)
            var expectedIncrements = expectedTotals, expectedFired = [UInt8](repeating: 0, count: rows)
            var spikes: UInt32 = 0, events: UInt32 = 0, largest: UInt32 = 0
            for i in 0..<n {
                let c = expectedCounts[i]
                let k = STBIFNeuron.fireBranchless(x[i] / theta + 0.5 - c, count: c, lower: Float(lower),
                                                   upper: Float(upper), burst: burst)
                expectedCounts[i] = c + k
                expectedTotals[i] = (c + k) * theta
                expectedIncrements[i] = k * theta
                spikes += UInt32(abs(k))
                events += k != 0 ? 1 : 0
                largest = max(largest, UInt32(abs(k)))
                if k != 0 { expectedFired[i / width] = 1 }
            }
            // Counts kept in a buffer, and counts recovered from the totals S·θ (the layer's usual case).
            let startTotals = counts.map { $0 * theta }, startCounts = counts
            var totals = [Float](repeating: 0, count: n), increments = totals
            var fired = [UInt8](repeating: 7, count: rows)
            let sums = spk_stbif_rows(x, &counts, &totals, &increments, rows, width, theta, Float(lower), Float(upper),
                                      burst, &fired)
            XCTAssertEqual(counts.map(\.bitPattern), expectedCounts.map(\.bitPattern))
            XCTAssertEqual(totals.map(\.bitPattern), expectedTotals.map(\.bitPattern))
            XCTAssertEqual(increments.map(\.bitPattern), expectedIncrements.map(\.bitPattern))
            XCTAssertEqual(fired, expectedFired)
            XCTAssertEqual(expectedFired[quiet], 0)
            XCTAssertEqual([sums.spikes, sums.events, sums.largest], [spikes, events, largest])
            XCTAssertTrue(STBIFLayer.countsFromTotals(threshold: theta, lower: Int(lower), upper: Int(upper)))
            var recovered = startTotals, recoveredIncrements = [Float](repeating: 0, count: n)
            fired = [UInt8](repeating: 7, count: rows)
            let again = spk_stbif_rows(x, nil, &recovered, &recoveredIncrements, rows, width, theta, Float(lower),
                                       Float(upper), burst, &fired)
            XCTAssertEqual(recovered.map(\.bitPattern), expectedTotals.map(\.bitPattern))
            XCTAssertEqual(recoveredIncrements.map(\.bitPattern), expectedIncrements.map(\.bitPattern))
            XCTAssertEqual(fired, expectedFired)
            XCTAssertEqual([again.spikes, again.events, again.largest], [spikes, events, largest])
            // Events are the non-zero increments (what a linear layer fed by the layer counts as its input events).
            XCTAssertEqual(Int(events), expectedIncrements.filter { $0 != 0 }.count)
            // Without increments (nobody reads them): the same totals, counts, flags and sums.
            var bare = startTotals, bareCounts = startCounts
            fired = [UInt8](repeating: 7, count: rows)
            let withCounts = spk_stbif_rows(x, &bareCounts, &bare, nil, rows, width, theta, Float(lower),
                                            Float(upper), burst, &fired)
            XCTAssertEqual(bare.map(\.bitPattern), expectedTotals.map(\.bitPattern))
            XCTAssertEqual(bareCounts.map(\.bitPattern), expectedCounts.map(\.bitPattern))
            XCTAssertEqual(fired, expectedFired)
            XCTAssertEqual([withCounts.spikes, withCounts.events, withCounts.largest], [spikes, events, largest])
            bare = startTotals
            let recoveredBare = spk_stbif_rows(x, nil, &bare, nil, rows, width, theta, Float(lower), Float(upper),
                                               burst, &fired)
            XCTAssertEqual(bare.map(\.bitPattern), expectedTotals.map(\.bitPattern))
            XCTAssertEqual([recoveredBare.spikes, recoveredBare.events, recoveredBare.largest],
                           [spikes, events, largest])
        }
    }
}
