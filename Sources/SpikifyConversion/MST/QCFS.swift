import SpikifyCore
import SpikifyModel

/// The quantization clip-floor-shift activation (Bu et al., "Optimal ANN-SNN Conversion for High-accuracy and
/// Ultra-low-latency Spiking Neural Networks", ICLR 2022, eq. 16), the activation of MST's ANN (Wang et al.,
/// "Masked Spiking Transformer", ICCV 2023, §3.1):
///
///     y = λ · clip(floor(x · L/λ + 1/2) / L, 0, 1)
///
/// and, for the signed mode of ordinary ViTs, its symmetric form with `clip(…, −1, 1)`. An integrate-and-fire
/// neuron with threshold λ, reset by subtraction and membrane precharged to λ/2 fires at exactly this rate after
/// T = L steps of a constant input (Bu et al., Theorem 2); docs/methods/mst.md.
public struct QCFS: Sendable, Equatable {
    /// The threshold λ (`up` in the MST code): the largest output.
    public var threshold: Float
    public var levels: Int
    /// Symmetric clip to [−λ, λ] (signed IF neurons) instead of [0, λ].
    public var signed: Bool

    public init(threshold: Float, levels: Int, signed: Bool = false) {
        self.threshold = threshold
        self.levels = levels
        self.signed = signed
    }

    /// The activation of one value, evaluated in the order of the MST code (`x / up · t + 0.5`, floor, `/ t`,
    /// clamp, `· up`).
    @inline(__always)
    public func callAsFunction(_ x: Float) -> Float {
        let l = Float(levels)
        let level = ((x / threshold) * l + 0.5).rounded(.down) / l
        return min(max(level, signed ? -1 : 0), 1) * threshold
    }

    /// Applies the activation in place, then multiplies by `keep` (the expected random-spike mask; 1 = none).
    public func apply(_ values: UnsafeMutableBufferPointer<Float>, keep: Float = 1) {
        for i in values.indices { values[i] = self(values[i]) * keep }
    }
}

/// How a QCFS threshold is chosen from observed activations (training-free calibration, like SpikeZIP's).
public enum ThresholdCalibration: Sendable, Equatable {
    /// The largest observed value (|value| for signed sites).
    case max
    /// The given percentile (0–100) of the values (of |values| for signed sites).
    case percentile(Double)
    /// The threshold minimising Σ (QCFS(x) − x)² over a grid of fractions of the largest value, refined.
    case mse

    /// The threshold for one site's sample; at least 1e-6 so that a silent site still has a valid neuron.
    public func threshold(for values: [Float], levels: Int, signed: Bool) -> Float {
        let floor: Float = 1e-6
        let magnitudes = signed ? values.map(abs) : values.map { Swift.max($0, 0) }
        guard let top = magnitudes.max(), top > 0 else { return floor }
        switch self {
        case .max:
            return Swift.max(top, floor)
        case .percentile(let p):
            let sorted = magnitudes.sorted()
            let index = Swift.min(sorted.count - 1, Swift.max(0, Int((p / 100) * Double(sorted.count - 1))))
            return Swift.max(sorted[index], floor)
        case .mse:
            func error(_ lambda: Float) -> Double {
                let q = QCFS(threshold: lambda, levels: levels, signed: signed)
                var total: Double = 0, partial: Float = 0
                for (i, x) in values.enumerated() {
                    let d = q(x) - x
                    partial += d * d
                    if i % 4096 == 4095 { total += Double(partial); partial = 0 }
                }
                return total + Double(partial)
            }
            var best = top, bestError = error(top)
            for i in 1..<100 {
                let lambda = top * Float(i) / 100
                let e = error(lambda)
                if e < bestError { (best, bestError) = (lambda, e) }
            }
            let lo = best * 0.98, hi = best * 1.02
            for i in 0...20 {
                let lambda = lo + (hi - lo) * Float(i) / 20
                let e = error(lambda)
                if e < bestError { (best, bestError) = (lambda, e) }
            }
            return Swift.max(best, floor)
        }
    }
}
