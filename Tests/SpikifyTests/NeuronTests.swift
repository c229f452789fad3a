import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyExport
@testable import SpikifyModel
@testable import SpikifySpiking

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
}
