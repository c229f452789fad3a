import Foundation
import SpikifyCore

/// The scalar non-linearities STA replaces by universal group operators (Jiang et al., "Spatio-Temporal
/// Approximation: A Training-Free SNN Conversion for Transformers", ICLR 2024, §4.1; docs/methods/sta.md).
public enum UGOFunction: String, Sendable, CaseIterable, Codable {
    /// erf-GELU x·Φ(x) (the ViT's MLP activation).
    case gelu
    /// eˣ (softmax numerators).
    case exp
    /// 1/x (softmax normalisation).
    case reciprocal
    /// 1/√x (LayerNorm).
    case rsqrt

    /// The exact function.
    public func callAsFunction(_ x: Double) -> Double {
        switch self {
        case .gelu: return 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
        case .exp: return Foundation.exp(x)
        case .reciprocal: return 1 / x
        case .rsqrt: return 1 / x.squareRoot()
        }
    }

    /// Decreasing functions use hidden units ReLU(k − x), so that the operator is constant (f(hi)) above its domain
    /// and extrapolates linearly below it; increasing ones use ReLU(x − k) (constant f(lo) below, linear above:
    /// GELU's asymptote is x, and eˣ tends to 0 on the left).
    var decreasing: Bool { self == .reciprocal || self == .rsqrt }
}

/// A universal group operator: a one-hidden-layer ReLU network with scalar input and output,
///
///     y = Σⱼ w2ⱼ · ReLU(w1ⱼ · x + b1ⱼ) + b2        (STA §4.1, "construction")
///
/// fitted to `function` on `[lower, upper]`. In the SNN the hidden units are spiking neurons and the output is a
/// weighted sum of their spikes plus b2 on every step.
public struct UGO: Sendable, Equatable {
    public var function: UGOFunction
    public var lower: Float, upper: Float
    public var w1: [Float], b1: [Float], w2: [Float], b2: Float

    public var neurons: Int { w1.count }

    /// The float operator.
    @inline(__always)
    public func callAsFunction(_ x: Float) -> Float {
        var y = b2
        for j in 0..<w1.count { y += w2[j] * max(0, w1[j] * x + b1[j]) }
        return y
    }

    /// Largest |UGO(x) − f(x)| over `points` evenly spaced points of the domain.
    public func maxError(points: Int = 2001, relative: Bool = false) -> Double {
        var worst = 0.0
        for i in 0..<points {
            let x = Double(lower) + Double(upper - lower) * Double(i) / Double(points - 1)
            let f = function(x), e = abs(Double(self(Float(x))) - f)
            worst = max(worst, relative ? e / max(abs(f), 1e-12) : e)
        }
        return worst
    }

    /// Fits a UGO with `neurons` hidden units, deterministically: knots k at the quantiles of a mixture of the
    /// observed inputs (clipped to the domain) and a grid over it with density ∝ √|f''| (the knot density that
    /// minimises the largest error of a piecewise-linear interpolant; half of it spread evenly), the first knot at the domain's start
    /// (its end for decreasing functions); then the output layer (w2, b2) by ridge-regularised least squares
    /// (mean squared error) on the same mixture, solved in Double by Cholesky. No randomness: the same samples
    /// give the same operator.
    public static func fit(_ function: UGOFunction, lower: Float, upper: Float, neurons: Int,
                           samples: [Float] = []) -> UGO {
        precondition(neurons >= 1 && upper > lower)
        let lo = Double(lower), hi = Double(upper)
        let gridCount = 2048
        var xs = curvatureGrid(function, lower: lo, upper: hi, count: gridCount)
        let stride = max(1, samples.count / gridCount)
        for i in Swift.stride(from: 0, to: samples.count, by: stride) where samples[i].isFinite {
            xs.append(min(max(Double(samples[i]), lo), hi))
        }
        xs.sort()
        // Knots: domain edge first, then quantiles of the mixture (strictly inside, distinct).
        var knots: [Double] = [function.decreasing ? hi : lo]
        for j in 1..<neurons {
            let q = function.decreasing ? 1 - Double(j) / Double(neurons) : Double(j) / Double(neurons)
            var k = xs[min(xs.count - 1, Int(q * Double(xs.count - 1)))]
            let gap = (hi - lo) * 1e-4
            if knots.contains(where: { abs($0 - k) < gap }) { k = lo + (hi - lo) * q }
            knots.append(k)
        }
        let sign: Double = function.decreasing ? -1 : 1
        let w1 = knots.map { _ in sign }, b1 = knots.map { -sign * $0 }
        // Least squares for [w2, b2] over the mixture: features ReLU(w1 x + b1) and 1.
        let m = neurons + 1
        var ata = [Double](repeating: 0, count: m * m), atb = [Double](repeating: 0, count: m)
        var row = [Double](repeating: 0, count: m)
        for x in xs {
            for j in 0..<neurons { row[j] = max(0, w1[j] * x + b1[j]) }
            row[neurons] = 1
            let y = function(x)
            for a in 0..<m where row[a] != 0 {
                atb[a] += row[a] * y
                for b in 0...a where row[b] != 0 { ata[a * m + b] += row[a] * row[b] }
            }
        }
        var trace = 0.0
        for a in 0..<m { trace += ata[a * m + a] }
        for a in 0..<m { ata[a * m + a] += 1e-10 * trace / Double(m) }
        let solution = choleskySolve(ata, atb, m)
        return UGO(function: function, lower: lower, upper: upper, w1: w1.map(Float.init), b1: b1.map(Float.init),
                   w2: solution[0..<neurons].map(Float.init), b2: Float(solution[neurons]))
    }

    /// `count` points of [lo, hi] with density ∝ √|f''(x)| + its mean (so half the points are spread evenly).
    static func curvatureGrid(_ f: UGOFunction, lower lo: Double, upper hi: Double, count: Int) -> [Double] {
        let fine = 4096, step = (hi - lo) / Double(fine), h = step / 2
        var density = (0..<fine).map { i -> Double in
            let x = lo + (Double(i) + 0.5) * step
            return abs((f(x + h) - 2 * f(x) + f(x - h)) / (h * h)).squareRoot()
        }
        let mean = density.reduce(0, +) / Double(fine)
        density = density.map { $0.isFinite ? $0 + mean : mean }
        var cumulative = [Double](repeating: 0, count: fine + 1)
        for i in 0..<fine { cumulative[i + 1] = cumulative[i] + density[i] }
        let total = cumulative[fine]
        var points: [Double] = [], cell = 0
        for j in 0..<count {
            let target = total * Double(j) / Double(count - 1)
            while cell < fine - 1 && cumulative[cell + 1] < target { cell += 1 }
            let within = density[cell] > 0 ? (target - cumulative[cell]) / density[cell] : 0
            points.append(min(hi, lo + (Double(cell) + min(max(within, 0), 1)) * step))
        }
        return points
    }

    /// Solves A·x = b for a symmetric positive-definite A whose lower triangle is given (row-major, m × m).
    static func choleskySolve(_ a: [Double], _ b: [Double], _ m: Int) -> [Double] {
        var l = [Double](repeating: 0, count: m * m)
        for i in 0..<m {
            for j in 0...i {
                var s = a[i * m + j]
                for k in 0..<j { s -= l[i * m + k] * l[j * m + k] }
                l[i * m + j] = i == j ? max(s, 1e-300).squareRoot() : s / l[j * m + j]
            }
        }
        var y = [Double](repeating: 0, count: m)
        for i in 0..<m {
            var s = b[i]
            for k in 0..<i { s -= l[i * m + k] * y[k] }
            y[i] = s / l[i * m + i]
        }
        var x = [Double](repeating: 0, count: m)
        for i in stride(from: m - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<m { s -= l[k * m + i] * x[k] }
            x[i] = s / l[i * m + i]
        }
        return x
    }
}
