import Foundation

/// How values map to positions along a chart axis.
public enum AxisKind: Sendable, Equatable {
    case linear
    /// Logarithmic with base 2 (ticks at powers of two: timesteps 1, 2, 4 … T).
    case log2
    /// Logarithmic with base 10 (ticks at 1, 10, 100 …, with 2 and 5 in between when the range is short).
    case log10
}

/// One tick: its value on the axis and the label printed next to it.
public struct AxisTick: Sendable, Equatable {
    public var value: Double
    public var label: String
}

/// A one-dimensional scale from a data domain to the unit interval, with tick values people can read.
///
/// Linear ticks follow the "nice numbers" rule (Heckbert, "Nice numbers for graph labels", Graphics Gems, 1990):
/// a step of 1, 2 or 5 × 10ᵏ giving about `targetTicks` ticks. Logarithmic ticks are the integer powers of the
/// base inside the domain.
public struct AxisScale: Sendable, Equatable {
    public var kind: AxisKind
    public var lower: Double
    public var upper: Double

    /// A scale over `lower…upper`. Log scales need positive bounds: non-positive ones are raised to 1 (and the
    /// upper bound to at least the lower). An empty range is widened so that positions stay finite.
    public init(kind: AxisKind, lower: Double, upper: Double) {
        self.kind = kind
        var lo = lower.isFinite ? lower : 0, hi = upper.isFinite ? upper : 1
        if kind != .linear { if lo <= 0 { lo = 1 }; hi = max(hi, lo) }
        if hi <= lo { hi = kind == .linear ? lo + 1 : lo * 2 }
        self.lower = lo
        self.upper = hi
    }

    private func transform(_ value: Double) -> Double {
        switch kind {
        case .linear: return value
        case .log2: return Foundation.log2(max(value, 1e-300))
        case .log10: return Foundation.log10(max(value, 1e-300))
        }
    }

    /// The position of `value` as a fraction of the axis length: 0 at `lower`, 1 at `upper`.
    public func fraction(_ value: Double) -> Double {
        let lo = transform(lower), hi = transform(upper)
        return (transform(value) - lo) / (hi - lo)
    }

    /// The tick values and labels inside the domain, lowest first.
    public func ticks(targetTicks: Int = 6, format: (Double) -> String = AxisScale.plainLabel) -> [AxisTick] {
        let values: [Double]
        switch kind {
        case .linear: values = AxisScale.niceTicks(lower: lower, upper: upper, target: targetTicks)
        case .log2: values = powerTicks(base: 2, target: targetTicks + 4)
        case .log10: values = decadeTicks()
        }
        return values.map { AxisTick(value: $0, label: format($0)) }
    }

    /// Powers of `base` inside the domain; every second (fourth …) power when there would be more than `target`.
    private func powerTicks(base: Double, target: Int) -> [Double] {
        let first = Int(Foundation.ceil(Foundation.log(lower) / Foundation.log(base) - 1e-9))
        let last = Int(Foundation.floor(Foundation.log(upper) / Foundation.log(base) + 1e-9))
        guard last >= first else { return [lower, upper] }
        var stride = 1
        while (last - first) / stride + 1 > max(target, 2) { stride *= 2 }
        return Swift.stride(from: first, through: last, by: stride).map { Foundation.pow(base, Double($0)) }
    }

    /// 1, 10, 100 … inside the domain; 1, 2, 5, 10, 20 … when the domain spans fewer than two decades.
    private func decadeTicks() -> [Double] {
        let decades = powerTicks(base: 10, target: 12)
        guard Foundation.log10(upper / lower) < 2 else { return decades }
        var values: [Double] = []
        var exponent = Int(Foundation.floor(Foundation.log10(lower)))
        while Foundation.pow(10, Double(exponent)) <= upper * (1 + 1e-9) {
            for mantissa in [1.0, 2.0, 5.0] {
                let value = mantissa * Foundation.pow(10, Double(exponent))
                if value >= lower * (1 - 1e-9) && value <= upper * (1 + 1e-9) { values.append(value) }
            }
            exponent += 1
        }
        return values.isEmpty ? decades : values
    }

    /// Heckbert's nice step: the smallest of 1, 2, 5 × 10ᵏ at least `(upper − lower) / target`; the ticks are
    /// the multiples of the step inside `lower…upper`.
    public static func niceTicks(lower: Double, upper: Double, target: Int) -> [Double] {
        let step = niceStep(span: upper - lower, target: target)
        let first = Foundation.ceil(lower / step - 1e-9), last = Foundation.floor(upper / step + 1e-9)
        guard last >= first, last - first < 1000 else { return [lower, upper] }
        // Rounded to the step's decimals, so 3 × 0.2 reads 0.6 and not 0.6000000000000001.
        let scale = Foundation.pow(10, max(0, -Foundation.floor(Foundation.log10(step))) + 1)
        return Swift.stride(from: first, through: last, by: 1).map { (($0 * step * scale).rounded() / scale) + 0 }
    }

    static func niceStep(span: Double, target: Int) -> Double {
        let raw = max(span, 1e-12) / Double(max(target, 1))
        let magnitude = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        let mantissa = raw / magnitude
        let nice: Double = mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10
        return nice * magnitude
    }

    /// The domain widened outwards to whole nice steps (linear scales), e.g. 91.3…98.7 → 90…100.
    public func widenedToNiceBounds(targetTicks: Int = 6) -> AxisScale {
        guard kind == .linear else { return self }
        let step = AxisScale.niceStep(span: upper - lower, target: targetTicks)
        return AxisScale(kind: .linear, lower: Foundation.floor(lower / step + 1e-9) * step,
                         upper: Foundation.ceil(upper / step - 1e-9) * step)
    }

    /// Labels without trailing zeros: `4`, `0.5`, `1024`, `2.5M` for large values.
    public static func plainLabel(_ value: Double) -> String {
        if abs(value) >= 10_000 { return Markup.compact(value) }
        return Markup.significant(value)
    }

    /// Labels for an axis in percent (the values are already percentages): `95%`, `97.5%`.
    public static func percentLabel(_ value: Double) -> String { Markup.significant(value) + "%" }
}
