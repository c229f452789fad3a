/// Branch-free elementary functions: the definitions that the C kernels of softmax and GELU (SpikifySIMD,
/// `spk_exp`, `spk_erf`) compute operation for operation; `KernelTests` compares the kernels with them bit for bit.
enum Elementary {
    /// `eˣ` for float32 with ≈1 ulp error: `x = n·ln2 + r`, `|r| ≤ ln2/2`, a degree-6 polynomial for `eʳ` (Cephes
    /// `expf` coefficients), and `2ⁿ` built in the exponent bits. Inputs are clamped to [−87.3, 88]; below that
    /// the result is 0-ish (≈1e-38), above it the largest finite powers.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let c = x < -87.33654 ? -87.33654 : (x > 88.0 ? 88.0 : x)
        // n = round(x / ln2) by the 1.5·2²³ trick: the sum's low mantissa bits hold n (no libm call, no trap).
        let t = c * 1.44269504088896341 + 12_582_912.0
        let n = t - 12_582_912.0
        let r = c - n * 0.693359375 + n * 2.12194440e-4
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let er = p * r * r + r + 1
        let exponent = Int32(bitPattern: t.bitPattern) &- 0x4B40_0000 &+ 127
        return er * Float(bitPattern: UInt32(bitPattern: exponent &<< 23))
    }

    /// `erf(x)` by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7), the formula PyTorch's vectorised CPU
    /// `erf` uses, so GELU agrees with `torch.nn.GELU()` on CPU to float precision.
    @inline(__always)
    static func erf(_ x: Float) -> Float {
        let a = abs(x)
        let t = 1 / (1 + 0.3275911 * a)
        var p: Float = 1.061405429
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        let y = 1 - p * t * exp(-a * a)
        return x < 0 ? -y : y
    }
}
