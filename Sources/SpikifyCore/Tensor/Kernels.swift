import SpikifySIMD
import Foundation

/// Vectorisable row kernels on raw buffers. Every function works on `rows × width` row-major data.
package enum Kernels {
    /// `y[r] = x[r] · Wᵀ + b` for `x: [rows, inFeatures]`, `W: [outFeatures, inFeatures]` (PyTorch `nn.Linear`);
    /// `y`'s rows are `outputStride` floats apart (default `outFeatures`: a block of columns of a wider output).
    @inline(__always)
    package static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
        into y: UnsafeMutablePointer<Float>, outputStride: Int? = nil
    ) {
        let ldc = outputStride ?? outFeatures
        if let bias {
            for r in 0..<rows { (y + r * ldc).update(from: bias, count: outFeatures) }
        }
        BLAS.gemm(transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                  a: x, lda: inFeatures, b: weight, ldb: inFeatures,
                  beta: bias != nil ? 1 : 0, c: y, ldc: ldc)
    }

    /// `nn.Linear` over a batch, one GEMM per sample (`rowsPerSample` rows each), samples spread over the cores.
    ///
    /// OpenBLAS picks different kernels for small matrices, so a row's result can depend on how many rows share
    /// the call. One call per sample makes every result independent of the batch it ran in — which is what lets
    /// the spiking executor, whose batch shrinks as samples settle, reproduce the QANN bit for bit.
    package static func linear(
        _ x: UnsafePointer<Float>, samples: Int, rowsPerSample rows: Int, inFeatures: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int, into y: UnsafeMutablePointer<Float>
    ) {
        let xs = SendablePointer(x), ys = SendablePointer(y), w = SendablePointer(weight)
        let b = bias.map { SendablePointer($0) }
        Parallel.forChunks(samples) { range in
            for s in range {
                linear(xs.base + s * rows * inFeatures, rows: rows, inFeatures: inFeatures, weight: w.base,
                       bias: b?.base, outFeatures: outFeatures, into: ys.base + s * rows * outFeatures)
            }
        }
    }

    /// `nn.Linear` on one block of rows with the output columns split over the cores (blocks of 16, one-thread GEMMs):
    /// for a single image, where one GEMM per image leaves a core idle or to OpenBLAS's own threads, which spin
    /// between the many calls of a forward pass. Each core packs only its part of the weights. Results agree with
    /// ``linear(_:rows:inFeatures:weight:bias:outFeatures:into:)`` to rounding, not necessarily bit for bit.
    package static func linearSpreadOverColumns(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures k: Int, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, outFeatures n: Int, into y: UnsafeMutablePointer<Float>
    ) {
        let xs = SendablePointer(x), ys = SendablePointer(y), w = SendablePointer(weight)
        let b = bias.map { SendablePointer($0) }
        Parallel.forChunks((n + 15) / 16) { range in
            let lo = range.lowerBound * 16, hi = Swift.min(n, range.upperBound * 16)
            linear(xs.base, rows: rows, inFeatures: k, weight: w.base + lo * k, bias: b.map { $0.base + lo },
                   outFeatures: hi - lo, into: ys.base + lo, outputStride: n)
        }
    }

    /// LayerNorm over the last axis (biased variance, eps inside the square root, as `torch.nn.LayerNorm`).
    @inline(__always)
    package static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, width: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float,
        into y: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            var i = 0
            while i + 4 <= width { s0 += xr[i]; s1 += xr[i + 1]; s2 += xr[i + 2]; s3 += xr[i + 3]; i += 4 }
            while i < width { s0 += xr[i]; i += 1 }
            let mean = (s0 + s1 + s2 + s3) / Float(width)
            var v0: Float = 0, v1: Float = 0, v2: Float = 0, v3: Float = 0
            i = 0
            while i + 4 <= width {
                let d0 = xr[i] - mean, d1 = xr[i + 1] - mean, d2 = xr[i + 2] - mean, d3 = xr[i + 3] - mean
                v0 += d0 * d0; v1 += d1 * d1; v2 += d2 * d2; v3 += d3 * d3
                i += 4
            }
            while i < width { let d = xr[i] - mean; v0 += d * d; i += 1 }
            let variance = (v0 + v1 + v2 + v3) / Float(width)
            let inv = 1 / (variance + eps).squareRoot()
            for j in 0..<width { yr[j] = (xr[j] - mean) * inv * gamma[j] + beta[j] }
        }
    }

    /// Softmax along the last axis, max-subtracted; in place: per row `m = max x`, `e = exp(x − m)`
    /// (``Elementary/exp(_:)``), then 16 lane sums `s_l` (lane l adds, in order, the `e_j` with j ≡ l mod 16 of the
    /// whole groups of 16; the tail goes to lane 0), folded half onto half (`s_l += s_{l+8}`, then `+4`, `+2`,
    /// `+1`), and `y = e·(1/s₀)`. Runs the vectorised C kernel `spk_softmax_rows` (SpikifySIMD), which computes
    /// exactly this (`KernelTests` compares it with this definition written out in Swift).
    @inline(__always)
    package static func softmax(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        spk_softmax_rows(x, rows, width)
    }

    /// GELU `x · Φ(x) = 0.5 · x · (1 + erf(x / √2))` with erf, not the tanh approximation (PyTorch `nn.GELU()`
    /// default); `erf` as PyTorch's vectorised CPU kernel computes it (``Elementary/erf(_:)``); in place. Runs the
    /// vectorised C kernel `spk_gelu` (SpikifySIMD), which computes exactly this (`KernelTests`).
    @inline(__always)
    package static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        spk_gelu(x, count)
    }

    /// ReLU in place.
    @inline(__always)
    package static func relu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = max(x[i], 0) }
    }

    /// `y += x` elementwise.
    @inline(__always)
    package static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }
}
