import Foundation
import SpikifySIMD

/// `nn.Linear` on weights packed once: the C kernel `spk_packed_linear` (SpikifySIMD, `packed_gemm.c`), on CPUs
/// with AVX-512 or with AVX2 and FMA (the same bits), for every forward pass of ``ViTForward`` (float ANN, QANN,
/// calibration) and the spiking executor's linear layers.
///
/// Why Spikify has a GEMM of its own here: OpenBLAS packs the weight matrix again at every call and has no API to
/// keep it packed; for one ViT-Tiny image the repacking is 10–15% of a layer's time (docs/performance.md). And the
/// kernel sums every output in order of k with fused multiply-adds, so a row's result depends neither on its batch
/// nor on its position: the spiking executor recomputes any set of changed rows in one call and gets the QANN's
/// bits by construction, where OpenBLAS needs call sizes measured to do so (``GatheredLinear``).
///
/// Packed copies of the same weights are shared across the process (``pack(_:outFeatures:inFeatures:)``): an
/// evaluation's float ANN, its QANN reference and its spiking executor hold one copy, not three.
package final class PackedLinear: @unchecked Sendable {
    /// Whether this CPU runs the kernel (AVX-512F, or AVX2 with FMA: the same bits); elsewhere callers use
    /// ``Kernels`` (OpenBLAS).
    package static var available: Bool { kernel != 0 }
    /// The kernel's name on this CPU ("packed_avx512", "packed_avx2"), or "openblas" where it does not run.
    package static var kernelName: String { ["openblas", "packed_avx2", "packed_avx512"][kernel] }
    /// `spk_packed_linear_available()`: 2 (AVX-512F), 1 (AVX2 and FMA) or 0.
    private static let kernel = Int(spk_packed_linear_available())

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

    /// A packed copy of `weight` (`[outFeatures, inFeatures]`) in the kernel's panels (`spk_pack_weights`): the copy
    /// of the same floats already alive in the process if there is one (``SharedCopies``), else a new one.
    package static func pack(_ weight: UnsafePointer<Float>, outFeatures n: Int, inFeatures k: Int) -> FloatBuffer {
        shared.packed(weight, outFeatures: n, inFeatures: k)
    }

    private static let shared = SharedCopies()

    /// The packed copies alive in the process, found by the weights they hold. A spiking executor and the QANN it
    /// reproduces (its reference network, which an evaluation runs beside it) pack the same weights, and one copy
    /// serves both: ViT-Tiny's 22 MB, ViT-Small's 85 MB. Packed copies are never written after packing, and the
    /// registry holds them weakly: a copy goes with its last user.
    private final class SharedCopies: @unchecked Sendable {
        private struct Entry {
            weak var buffer: FloatBuffer?
            let outFeatures: Int, inFeatures: Int, hash: UInt64
        }
        private let lock = NSLock()
        private var entries: [Entry] = []

        /// A live copy that holds `weight` bit for bit (the hash only finds candidates), or a new one.
        func packed(_ weight: UnsafePointer<Float>, outFeatures n: Int, inFeatures k: Int) -> FloatBuffer {
            let hash = Self.hash(weight, count: n * k)
            return lock.withLock {
                entries.removeAll { $0.buffer == nil }
                for entry in entries where entry.hash == hash && entry.outFeatures == n && entry.inFeatures == k {
                    if let live = entry.buffer, spk_packed_equals(weight, n, k, live.pointer) != 0 { return live }
                }
                let buffer = FloatBuffer(count: spk_packed_floats(n, k))
                spk_pack_weights(weight, n, k, buffer.pointer)
                entries.append(Entry(buffer: buffer, outFeatures: n, inFeatures: k, hash: hash))
                return buffer
            }
        }

        /// FNV-1a over the floats' bit patterns.
        private static func hash(_ weight: UnsafePointer<Float>, count: Int) -> UInt64 {
            UnsafeRawPointer(weight).withMemoryRebound(to: UInt32.self, capacity: count) { bits in
                var h: UInt64 = 0xcbf2_9ce4_8422_2325
                for i in 0..<count { h = (h ^ UInt64(bits[i])) &* 0x0000_0100_0000_01b3 }
                return h
            }
        }
    }

    /// Floats held in packed copies.
    package var packedFloats: Int { lock.withLock { copies.values.reduce(0) { $0 + $1.count } } }

    /// Panels of output columns in a packed weight with `n` output features.
    package static func panels(outFeatures n: Int) -> Int { (n + Int(SPK_PACKED_PANEL) - 1) / Int(SPK_PACKED_PANEL) }

    /// `y = x·Wᵀ + b` for `x` `[rows, inFeatures]`, `W` packed by ``packed(_:outFeatures:inFeatures:)``; panels of
    /// output columns spread over the cores.
    package static func linear(_ x: UnsafePointer<Float>, rows: Int, inFeatures k: Int, packed: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, outFeatures n: Int, into y: UnsafeMutablePointer<Float>) {
        precondition(available, "spk_packed_linear needs AVX2 and FMA, or AVX-512F")
        let panels = panels(outFeatures: n)
        let xs = SendablePointer(x), w = SendablePointer(packed), ys = SendablePointer(y)
        let b = bias.map { SendablePointer($0) }
        Parallel.forChunks(panels) { range in
            spk_packed_linear(xs.base, rows, k, w.base, b?.base, n, range.lowerBound, range.upperBound, ys.base)
        }
    }
}
