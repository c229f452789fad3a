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
            var levels = [Int32](repeating: 0, count: counts.count)
            let sums = spk_stbif_rows(totals, &levels, 4, nil, SPK_COUNTS_FROM_TOTALS, &recovered, nil, 1, counts.count,
                                      theta, -Float(largest), Float(largest), 1, &fired)
            XCTAssertEqual(levels.map(Float.init), counts, "θ \(theta)")  // the input S·θ settles on S
            XCTAssertEqual(recovered.map(\.bitPattern), totals.map(\.bitPattern), "θ \(theta)")
            XCTAssertEqual(sums.events, 0, "θ \(theta)")
        }
    }

    /// The level rule the layer keeps (``STBIFNeuron/fireAtLevel(_:count:lower:burst:)`` on
    /// ``STBIFNeuron/settleLevel(drive:lower:upper:)``) gives the membrane rule's spike for single spikes on every
    /// input, and for burst spikes wherever `d − S` is exact; the two settle on the same count from any count, NaN
    /// drives never fire.
    func testLevelRuleEqualsTheMembraneRule() {
        var rng = SplitMix(state: 71)
        var inexact = 0
        for _ in 0..<100_000 {
            let levels = Int32.random(in: 2...64, using: &rng)
            let signed = Bool.random(using: &rng)
            let lower = signed ? -levels / 2 : 0, upper = signed ? levels / 2 - 1 : levels - 1
            let count = Int32.random(in: lower...upper, using: &rng)
            let burst = Bool.random(using: &rng) ? 1 : Int32.random(in: 1...(upper - lower + 1), using: &rng)
            let theta = Float.random(in: 0.001...2, using: &rng)
            let k = Float(Int32.random(in: (lower - 3)...(upper + 3), using: &rng)) * theta
            let x = [k, k.nextUp, k.nextDown, k + theta / 2, (k + theta / 2).nextDown, (k - theta / 2).nextUp, k * 40,
                     Float.random(in: -1...1, using: &rng) * 1e-7, .infinity, -.infinity, .nan].randomElement(using: &rng)!
            let d = x / theta + 0.5
            let level = STBIFNeuron.settleLevel(drive: d, lower: lower, upper: upper)
            let byLevel = STBIFNeuron.fireAtLevel(level, count: count, lower: lower, burst: burst)
            let u = d - Float(count)
            let byMembrane = STBIFNeuron.fire(u, count: count, lower: lower, upper: upper, burst: burst)
            let exact = !d.isFinite || Double(d) - Double(count) == Double(u)
            if burst == 1 || exact {
                XCTAssertEqual(byLevel, byMembrane, "x \(x) θ \(theta) S \(count) bounds \(lower)…\(upper) B \(burst)")
            } else {
                inexact += 1
            }
            // Both rules settle on the level (a NaN drive: wherever the count is).
            var a = count, b = count
            for _ in 0...(upper - lower + 1) {  // enough steps for single spikes from any count
                a += STBIFNeuron.fireAtLevel(level, count: a, lower: lower, burst: burst)
                b += STBIFNeuron.fire(d - Float(b), count: b, lower: lower, upper: upper, burst: burst)
            }
            XCTAssertEqual(a, d.isNaN ? count : level)
            XCTAssertEqual(b, a, "x \(x) θ \(theta) S \(count) B \(burst)")
        }
        XCTAssertLessThan(inexact, 10_000)  // (burst spikes on large or far inputs) most cases compared spike by spike
        XCTAssertEqual(STBIFNeuron.settleLevel(drive: .nan, lower: -8, upper: 7), -9)
        XCTAssertEqual(STBIFNeuron.settleLevel(drive: -0.0, lower: -8, upper: 7), 0)
        XCTAssertEqual(STBIFNeuron.settleLevel(drive: 9e30, lower: 0, upper: 15), 15)
        XCTAssertEqual(STBIFNeuron.settleLevel(drive: (3 as Float).nextDown, lower: 0, upper: 15), 2)
    }

    /// The layer's kernel (C, vectorised clones: SpikifySIMD) computes every neuron's level from its input as the
    /// Swift rule does and stores it (int8 or int32), or reads it back where the input did not change, fires as
    /// ``STBIFNeuron/fireAtLevel(_:count:lower:burst:)``, flags the rows that spiked, and sums spikes, events and the
    /// largest spike alike, with the counts recovered from the totals, in a float buffer, as int8, and at up to 16
    /// levels beside the level in one byte; blocks of 1–3 rows of odd widths (vector remainders), random θ, bounds,
    /// bursts, counts and inputs near the firing boundaries.
    func testRowKernelEqualsTheNeuronRuleNeuronByNeuron() {
        // Where counts cannot be recovered from totals, layers keep them: subnormal or overflowing θ, huge bounds.
        XCTAssertFalse(STBIFLayer.countsFromTotals(threshold: Float.leastNormalMagnitude / 2, lower: 0, upper: 15))
        XCTAssertFalse(STBIFLayer.countsFromTotals(threshold: 1e37, lower: -8, upper: 1000))
        XCTAssertFalse(STBIFLayer.countsFromTotals(threshold: 1e38, lower: 0, upper: 1))  // 1/θ subnormal
        XCTAssertFalse(STBIFLayer.countsFromTotals(threshold: 0.5, lower: 0, upper: 1 << 21))
        XCTAssertTrue(STBIFLayer.countsFromTotals(threshold: 0.5, lower: -(1 << 21) + 1, upper: (1 << 21) - 1))
        var rng = SplitMix(state: 17)
        var nibbleBlocks = 0
        for iteration in 0..<400 {
            let rows = Int.random(in: 1...3, using: &rng), width = Int.random(in: 1...77, using: &rng)
            let n = rows * width
            let levels = Int32.random(in: 2...[64, 16, 64, 4000][iteration % 4], using: &rng)
            let signed = Bool.random(using: &rng)
            let lower = signed ? -levels / 2 : 0, upper = signed ? levels / 2 - 1 : levels - 1
            // Every other block with single spikes (the default, which the kernel specialises).
            let burst = iteration % 2 == 0 ? 1 : Int32.random(in: 1...(upper - lower + 1), using: &rng)
            let theta = Float.random(in: 0.001...2, using: &rng)
            let levelBytes = lower - 1 >= -128 && upper <= 127 && iteration % 3 != 0 ? 1 : 4
            let counts = (0..<n).map { _ in Float(Int32.random(in: lower...upper, using: &rng)) }
            let quiet = Int.random(in: 0..<rows, using: &rng)  // one row held at its count (a silent row)
            let x = (0..<n).map { i -> Float in
                // Inputs on, next to and between the thresholds of the current count, and far outside.
                let k = (counts[i] + (i / width == quiet ? 0 : Float(Int.random(in: -3...3, using: &rng)))) * theta
                return i / width == quiet ? k : [k, k.nextUp, k.nextDown, k + theta / 2, (k + theta / 2).nextDown,
                                                  k * 40, .nan].randomElement(using: &rng)!
            }
            var expectedCounts = counts, expectedTotals = [Float](repeating: 0, count: n)
            var expectedIncrements = expectedTotals, expectedFired = [UInt8](repeating: 0, count: rows)
            var expectedLevels = [Int32](repeating: 0, count: n)
            var spikes: UInt32 = 0, events: UInt32 = 0, largest: UInt32 = 0
            for i in 0..<n {
                let c = Int32(expectedCounts[i])
                expectedLevels[i] = STBIFNeuron.settleLevel(drive: x[i] / theta + 0.5, lower: lower, upper: upper)
                let k = STBIFNeuron.fireAtLevel(expectedLevels[i], count: c, lower: lower, burst: burst)
                expectedCounts[i] = Float(c + k)
                expectedTotals[i] = Float(c + k) * theta
                expectedIncrements[i] = Float(k) * theta
                spikes += UInt32(abs(k))
                events += k != 0 ? 1 : 0
                largest = max(largest, UInt32(abs(k)))
                if k != 0 { expectedFired[i / width] = 1 }
            }
            // Levels in the counts' bytes (at up to 16 levels): a neuron at the NaN level keeps its count as its level.
            let nibbleLevels = (0..<n).map {
                expectedLevels[$0] < lower ? Int32(expectedCounts[$0]) : expectedLevels[$0]
            }
            /// One kernel call from the start state: levels from `x` (or read back from `startLevels`), counts
            /// (`kind`) recovered from the totals, in a float buffer or int8 in place of the totals, increments
            /// written or not.
            func step(readInput: Bool, startLevels: [Int32], kind: Int, increments: Bool)
                -> (levels: [Int32], counts: [Float], totals: [Float], increments: [Float], fired: [UInt8],
                    sums: spk_fire_sums)
            {
                var narrow = startLevels.map { Int8(truncatingIfNeeded: $0) }, wide = startLevels
                var kept = counts, kept8 = counts.map { Int8(truncatingIfNeeded: Int($0)) }
                if kind == SPK_COUNTS_NIBBLES {  // count code high, level code low
                    kept8 = (0..<n).map { Int8(bitPattern: UInt8(Int32(counts[$0]) - lower) << 4
                                                               | UInt8(startLevels[$0] - lower)) }
                }
                let bytes = kind == SPK_COUNTS_INT8 || kind == SPK_COUNTS_NIBBLES
                var totals = bytes ? [Float](repeating: -1, count: n) : counts.map { $0 * theta }
                var dy = [Float](repeating: 0, count: n), fired = [UInt8](repeating: 7, count: rows)
                let sums = x.withUnsafeBufferPointer { xb in narrow.withUnsafeMutableBytes { nb in
                    wide.withUnsafeMutableBytes { wb in kept.withUnsafeMutableBytes { kb in kept8.withUnsafeMutableBytes { k8 in
                        dy.withUnsafeMutableBufferPointer { db in
                            spk_stbif_rows(readInput ? xb.baseAddress : nil, levelBytes == 1 ? nb.baseAddress : wb.baseAddress,
                                           levelBytes,
                                           bytes ? k8.baseAddress : kind == SPK_COUNTS_FLOAT ? kb.baseAddress : nil,
                                           kind, &totals, increments ? db.baseAddress : nil, rows, width, theta, Float(lower),
                                           Float(upper), Float(burst), &fired)
                        }
                    } } }
                } }
                if kind == SPK_COUNTS_NIBBLES {
                    let codes = kept8.map { UInt8(bitPattern: $0) }
                    return (codes.map { Int32($0 & 15) + lower }, codes.map { Float(Int32($0 >> 4) + lower) }, totals,
                            dy, fired, sums)
                }
                let levels = levelBytes == 1 ? narrow.map { Int32($0) } : wide
                let after = kind == SPK_COUNTS_INT8 ? kept8.map { Float($0) } : kind == SPK_COUNTS_FLOAT ? kept : counts
                return (levels, after, totals, dy, fired, sums)
            }
            let zeros = [Int32](repeating: 0, count: n)
            let int8Counts = lower >= -128 && upper <= 127, nibbles = upper - lower <= 15
            if nibbles { nibbleBlocks += 1 }
            for kind in [SPK_COUNTS_FROM_TOTALS, SPK_COUNTS_FLOAT] + (int8Counts ? [SPK_COUNTS_INT8] : [])
                + (nibbles ? [SPK_COUNTS_NIBBLES] : []) {
                let stored = kind == SPK_COUNTS_NIBBLES ? nibbleLevels : expectedLevels
                for increments in [true, false] {
                    let fresh = step(readInput: true, startLevels: zeros, kind: kind, increments: increments)
                    let again = step(readInput: false, startLevels: stored, kind: kind, increments: increments)
                    for r in [fresh, again] {
                        let what = "iteration \(iteration), counts \(kind), increments \(increments)"
                        XCTAssertEqual(r.levels, stored, what)
                        if kind != SPK_COUNTS_FROM_TOTALS {
                            XCTAssertEqual(r.counts.map(\.bitPattern), expectedCounts.map(\.bitPattern), what)
                        }
                        // Counts in bytes replace the totals: none are written (their readers compute S·θ).
                        let bytes = kind == SPK_COUNTS_INT8 || kind == SPK_COUNTS_NIBBLES
                        XCTAssertEqual(r.totals.map(\.bitPattern), (bytes
                            ? [Float](repeating: -1, count: n) : expectedTotals).map(\.bitPattern), what)
                        XCTAssertEqual(r.increments.map(\.bitPattern),
                                       (increments ? expectedIncrements : [Float](repeating: 0, count: n))
                                           .map(\.bitPattern), what)
                        XCTAssertEqual(r.fired, expectedFired, what)
                        XCTAssertEqual([r.sums.spikes, r.sums.events, r.sums.largest], [spikes, events, largest], what)
                    }
                }
            }
            XCTAssertEqual(expectedFired[quiet], 0)
            XCTAssertTrue(STBIFLayer.countsFromTotals(threshold: theta, lower: Int(lower), upper: Int(upper)))
            // Events are the non-zero increments (what a linear layer fed by the layer counts as its input events).
            XCTAssertEqual(Int(events), expectedIncrements.filter { $0 != 0 }.count)
        }
        XCTAssertGreaterThan(nibbleBlocks, 60)
    }
}
