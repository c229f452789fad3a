import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// A single ST-BIF+ neuron (SpikeZIP-TF, You et al., ICML 2024; docs/methods/spikezip.md), in units of its threshold
/// θ, optionally with burst (multi-level) spikes (docs/latency.md).
///
/// Membrane `u` starts at 0.5 (θ/2) and the count `S` at 0. Each step: `u += x/θ`; fire a spike `k` (see
/// ``fire(_:count:lower:upper:burst:)``); `S += k`, `u −= k`. With `burst` B = 1 this is the paper's neuron: fire
/// +1 if `u ≥ 1` and `S < upper`, else −1 if `u < 0` and `S > lower`. With B > 1 one step may carry up to B spikes
/// of one sign, the graded spike of multi-threshold neurons (ECMT: Huang et al., "Towards High-performance Spiking
/// Transformers from ANN to SNN Conversion", ACM MM 2024) and of Loihi 2's integer payloads. For every B, once its
/// input stops changing and it falls silent, `S = clamp(floor(X/θ + 0.5), lower, upper)` for the total input X, in
/// any input order: the neuron is silent exactly when `0 ≤ u < 1` or it sits at the bound it is pushed against,
/// which for a fixed total input holds for one count only, whatever B.
public struct STBIFNeuron: Sendable, Equatable {
    public let threshold: Float
    public let lower: Int32
    public let upper: Int32
    /// Largest number of spikes emitted in one step (the spike alphabet is −B…B).
    public let burst: Int32
    public private(set) var membrane: Float = 0.5
    public private(set) var count: Int32 = 0

    public init(threshold: Float, lower: Int, upper: Int, burst: Int = 1) {
        self.threshold = threshold
        self.lower = Int32(lower)
        self.upper = Int32(upper)
        self.burst = Int32(clamping: max(burst, 1))
    }

    /// Feeds one input current; returns the spike k (−B…B; −1, 0 or +1 when B = 1).
    @inline(__always)
    public mutating func step(_ x: Float) -> Int32 {
        let u = membrane + x / threshold
        let spike = Self.fire(u, count: count, lower: lower, upper: upper, burst: burst)
        count += spike
        membrane = u - Float(spike)
        return spike
    }

    /// The scalar neuron's firing rule: with the membrane `u` in units of θ, `k = clamp(floor(u), −B, B)` bounded so
    /// that `S + k` stays within `[lower, upper]`, and k = 0 for `0 ≤ u < 1`. (The layer fires by the level rule,
    /// ``fireAtLevel(_:count:lower:burst:)``, the same spikes for B = 1.)
    ///
    /// A spike never overshoots: for `u ≥ 1`, `1 ≤ k ≤ floor(u)` leaves `u − k ≥ 0`; for `u < 0`,
    /// `floor(u) ≤ k ≤ −1` leaves `u − k < 1`. So the count moves monotonically to the same fixed point as the
    /// single-spike neuron, in at most ⌈|floor(u)|/B⌉ steps instead of |floor(u)|. B = 1 is bit for bit the
    /// single-spike rule.
    @inline(__always)
    static func fire(_ u: Float, count: Int32, lower: Int32, upper: Int32, burst: Int32 = 1) -> Int32 {
        if u >= 1 && count < upper {
            // min(u, B) first: u may be far above any Int32 (a NaN never gets here). Positive: truncation is floor
            // (and needs no libm call on baseline x86-64).
            let k = Int32(Swift.min(u, Float(burst)))
            return Swift.min(k, upper &- count)
        }
        if u < 0 && count > lower {
            let x = Swift.max(u, -Float(burst))
            let truncated = Int32(x)
            let k = Float(truncated) == x ? truncated : truncated &- 1  // floor of a negative number
            return Swift.max(k, lower &- count)
        }
        return 0
    }

    /// The count a neuron settles on for the drive `d = X̂/θ + 0.5` of its accumulated input X̂:
    /// `L = clamp(floor(d), lower, upper)`, and `lower − 1` for a NaN drive (a level at which it never fires). The
    /// layer keeps this level instead of its input total (docs/performance.md, "Memory").
    static func settleLevel(drive d: Float, lower: Int32, upper: Int32) -> Int32 {
        guard !d.isNaN else { return lower &- 1 }
        return Int32(Swift.min(Swift.max(d, Float(lower)), Float(upper)).rounded(.down))
    }

    /// The spike of a neuron at count S whose input settles on level L (``settleLevel(drive:lower:upper:)``):
    /// `clamp(L − S, −B, B)`, 0 at the NaN level. It steps straight to L, B spikes at most per step. With single
    /// spikes (B = 1) this is ``fire(_:count:lower:upper:burst:)`` on the membrane `fl(d − S)` for every finite
    /// drive d: `fl(d − S) ≥ 1` exactly when `d ≥ S + 1` (no float lies within 2⁻²⁵ below an integer S + 1 when d is
    /// `fl(x/θ + 0.5)`), and `fl(d − S) < 0` exactly when `d < S`; so `u ≥ 1 ∧ S < upper` is `L > S` and
    /// `u < 0 ∧ S > lower` is `L < S`. With B > 1 it agrees with the membrane rule wherever `d − S` is exact, and
    /// both settle on L (`NeuronTests`).
    static func fireAtLevel(_ level: Int32, count: Int32, lower: Int32, burst: Int32 = 1) -> Int32 {
        guard level >= lower else { return 0 }
        return Swift.min(Swift.max(level &- count, -burst), burst)
    }
}
