import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// One activation quantizer of a QANN (SpikeZIP-TF's `MyQuan`, You et al., ICML 2024; docs/methods/spikezip.md):
/// `Q(x) = clamp(floor(x / s + 0.5), lower, upper) · s`, with `[lower, upper] = [−L/2, L/2 − 1]` (signed) or
/// `[0, L − 1]` (unsigned). In the SNN the same numbers become the neuron's threshold θ = s and count bounds.
public struct ActivationQuantizer: Sendable, Equatable, Codable {
    public var step: Float
    public var lower: Int
    public var upper: Int

    public init(step: Float, lower: Int, upper: Int) {
        self.step = step
        self.lower = lower
        self.upper = upper
    }

    public init(step: Float, levels: Int, signed: Bool) {
        let (lo, hi) = Self.bounds(levels: levels, signed: signed)
        self.init(step: step, lower: lo, upper: hi)
    }

    /// Integer bounds for `levels` levels.
    public static func bounds(levels: Int, signed: Bool) -> (lower: Int, upper: Int) {
        signed ? (-(levels / 2), levels / 2 - 1) : (0, levels - 1)
    }

    /// The integer level of `x` (true division, as the reference implementation).
    @inline(__always) public func level(_ x: Float) -> Float {
        Self.level(x / step + 0.5, lower: Float(lower), upper: Float(upper))
    }

    /// `clamp(floor(y), lower, upper)`, computed as `floor(clamp(y, lower, upper))` (equal for integer bounds, since
    /// floor is monotone) with a branch-free floor that vectorises: for |y| < 2²², adding and subtracting 1.5·2²³
    /// rounds to the nearest integer, and one comparison turns that into the floor. A NaN input gives `lower`.
    @inline(__always) static func level(_ y: Float, lower: Float, upper: Float) -> Float {
        let c = y > lower ? (y < upper ? y : upper) : lower
        let nearest = (c + 12_582_912.0) - 12_582_912.0
        return nearest > c ? nearest - 1 : nearest
    }

    @inline(__always) public func callAsFunction(_ x: Float) -> Float { level(x) * step }

    /// Quantizes a buffer in place.
    public func apply(_ values: UnsafeMutableBufferPointer<Float>) {
        let s = step, lo = Float(lower), hi = Float(upper)
        guard let p = values.baseAddress else { return }
        for i in 0..<values.count { p[i] = Self.level(p[i] / s + 0.5, lower: lo, upper: hi) * s }
    }
}

/// The quantizers of every site of a model: what turns the ANN into the QANN and, through conversion, what sets
/// every spiking neuron's threshold and bounds.
public struct QuantizationPlan: Sendable, Equatable {
    public var levels: Int
    public var quantizers: [Site: ActivationQuantizer]

    public init(levels: Int, quantizers: [Site: ActivationQuantizer]) {
        self.levels = levels
        self.quantizers = quantizers
    }

    /// A plan from step sizes, with bounds from `levels` and each site's signedness.
    public init(levels: Int, steps: [Site: Float], activation: Activation) {
        var q: [Site: ActivationQuantizer] = [:]
        for (site, s) in steps { q[site] = ActivationQuantizer(step: s, levels: levels, signed: site.isSigned(activation: activation)) }
        self.init(levels: levels, quantizers: q)
    }

    /// The QANN hook: quantize each site's values in place.
    public var hook: SiteHook {
        let q = quantizers
        return { site, values in q[site]?.apply(values) }
    }
}
