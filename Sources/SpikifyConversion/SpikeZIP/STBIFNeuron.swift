import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// A single ST-BIF+ neuron (SpikeZIP-TF, You et al., ICML 2024; docs/methods/spikezip.md), in units of its threshold θ.
///
/// Membrane `u` starts at 0.5 (θ/2) and the count `S` at 0. Each step: `u += x/θ`; fire +1 if `u ≥ 1` and
/// `S < upper`, else −1 if `u < 0` and `S > lower`; `S += spike`, `u −= spike`. Once its input stops changing and
/// it falls silent, `S = clamp(floor(X/θ + 0.5), lower, upper)` for the total input X, in any input order.
public struct STBIFNeuron: Sendable, Equatable {
    public let threshold: Float
    public let lower: Int32
    public let upper: Int32
    public private(set) var membrane: Float = 0.5
    public private(set) var count: Int32 = 0

    public init(threshold: Float, lower: Int, upper: Int) {
        self.threshold = threshold
        self.lower = Int32(lower)
        self.upper = Int32(upper)
    }

    /// Feeds one input current; returns the spike (−1, 0 or +1).
    @inline(__always)
    public mutating func step(_ x: Float) -> Int32 {
        let u = membrane + x / threshold
        let spike = Self.fire(u, count: count, lower: lower, upper: upper)
        count += spike
        membrane = u - Float(spike)
        return spike
    }

    /// The firing rule shared by the scalar neuron and the layer operator.
    @inline(__always)
    static func fire(_ u: Float, count: Int32, lower: Int32, upper: Int32) -> Int32 {
        if u >= 1 && count < upper { return 1 }
        if u < 0 && count > lower { return -1 }
        return 0
    }
}
