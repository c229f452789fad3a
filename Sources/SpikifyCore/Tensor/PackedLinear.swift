import Foundation
import SpikifySIMD

/// `nn.Linear` on weights packed once: the C kernel `spk_packed_linear` (SpikifySIMD, `packed_gemm.c`), on CPUs
/// with AVX-512, for every forward pass of ``ViTForward`` (float ANN, QANN, calibration) and the spiking executor's
/// linear layers.
///
/// Why Spikify has a GEMM of its own here: OpenBLAS packs the weight matrix again at every call and has no API to
/// keep it packed; for one ViT-Tiny image the repacking is 10–15% of a layer's time (docs/performance.md). And the
/// kernel sums every output in order of k with fused multiply-adds, so a row's result depends neither on its batch
/// nor on its position: the spiking executor recomputes any set of changed rows in one call and gets the QANN's
/// bits by construction, where OpenBLAS needs call sizes measured to do so (``GatheredLinear``).
package final class PackedLinear: @unchecked Sendable {
    /// Whether this CPU runs the kernel (AVX-512F); elsewhere callers use ``Kernels`` (OpenBLAS).
    package static let available = spk_packed_linear_available() != 0

    private let lock = NSLock()
    /// Packed copies by the address of the weights they pack (buffers that live as long as their owner).
    private var copies: [UnsafePointer<Float>: FloatBuffer] = [:]

    package init() {}

    /// The packed copy of `weight` (`[outFeatures, inFeatures]`), made at the first request.
    package func packed(_ weight: UnsafePointer<Float>, outFeatures n: Int, inFeatures k: Int) -> UnsafePointer<Float> {
        lock.withLock {
            if let buffer = copies[weight] { return UnsafePointer(buffer.pointer) }
            let buffer = Self.pack(weight, outFeatures: n, inFeatures: k)
            copies[weight] = buffer
            return UnsafePointer(buffer.pointer)
        }
    }

    /// A packed copy of `weight` (`[outFeatures, inFeatures]`) in the kernel's panels (`spk_pack_weights`).
    package static func pack(_ weight: UnsafePointer<Float>, outFeatures n: Int, inFeatures k: Int) -> FloatBuffer {
        let buffer = FloatBuffer(count: spk_packed_floats(n, k))
        spk_pack_weights(weight, n, k, buffer.pointer)
        return buffer
    }

    /// Floats held in packed copies.
    package var packedFloats: Int { lock.withLock { copies.values.reduce(0) { $0 + $1.count } } }

    /// Panels of output columns in a packed weight with `n` output features.
    package static func panels(outFeatures n: Int) -> Int { (n + Int(SPK_PACKED_PANEL) - 1) / Int(SPK_PACKED_PANEL) }

    /// `y = x·Wᵀ + b` for `x` `[rows, inFeatures]`, `W` packed by ``packed(_:outFeatures:inFeatures:)``; panels of
    /// output columns spread over the cores.
    package static func linear(_ x: UnsafePointer<Float>, rows: Int, inFeatures k: Int, packed: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, outFeatures n: Int, into y: UnsafeMutablePointer<Float>) {
        precondition(available, "spk_packed_linear needs AVX-512F")
        let panels = panels(outFeatures: n)
        let xs = SendablePointer(x), w = SendablePointer(packed), ys = SendablePointer(y)
        let b = bias.map { SendablePointer($0) }
        Parallel.forChunks(panels) { range in
            spk_packed_linear(xs.base, rows, k, w.base, b?.base, n, range.lowerBound, range.upperBound, ys.base)
        }
    }
}
