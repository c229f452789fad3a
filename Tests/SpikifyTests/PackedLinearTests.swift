import Foundation
import SpikifySIMD
import XCTest
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyModel

/// The float ANN's GEMM on packed weights (`PackedLinear`, `spk_packed_linear`) against a Double-precision
/// definition, and the property the kernel's doc claims: a row's result does not depend on the other rows.
final class PackedLinearTests: XCTestCase {
    private func random(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
    }

    func testMatchesTheDefinitionAndEveryRowIsIndependentOfTheOthers() throws {
        guard PackedLinear.available else { throw XCTSkip("this CPU has neither AVX-512F nor AVX2 and FMA") }
        // Output widths with partial panels and halves of panels (37, 70, 10), odd and even panel counts, rows covering
        // every leftover count of the 12- and 6-row blocks and more than one 240-row block, with and without bias.
        for (rows, k, n) in [(1, 5, 37), (13, 64, 70), (23, 33, 32), (251, 48, 96), (5, 7, 10)] {
            for withBias in [false, true] {
                let x = FloatBuffer(random(rows * k, seed: UInt64(rows * 7 + k))), w = random(n * k, seed: 99)
                let bias = withBias ? FloatBuffer(random(n, seed: 5)) : nil
                let packer = PackedLinear()
                let packed = w.withUnsafeBufferPointer { packer.packed($0.baseAddress!, outFeatures: n, inFeatures: k) }
                XCTAssertEqual(packer.packedFloats, (n + 31) / 32 * 32 * k)
                let y = FloatBuffer(count: rows * n)
                PackedLinear.linear(x.pointer, rows: rows, inFeatures: k, packed: packed, bias: bias?.pointer,
                                    outFeatures: n, into: y.pointer)
                for r in 0..<rows {
                    for j in 0..<n {
                        var sum = Double(bias?.pointer[j] ?? 0)
                        for i in 0..<k { sum += Double(x.pointer[r * k + i]) * Double(w[j * k + i]) }
                        XCTAssertEqual(Double(y.pointer[r * n + j]), sum, accuracy: 1e-5 * Double(k),
                                       "rows \(rows) k \(k) n \(n) at [\(r), \(j)]")
                    }
                }
                // Every row alone gives the bits it got among the others.
                let one = FloatBuffer(count: n)
                for r in stride(from: 0, to: rows, by: Swift.max(1, rows / 9)) {
                    PackedLinear.linear(x.pointer + r * k, rows: 1, inFeatures: k, packed: packed,
                                        bias: bias?.pointer, outFeatures: n, into: one.pointer)
                    XCTAssertEqual(one.array.map(\.bitPattern),
                                   Array(y.array[(r * n)..<((r + 1) * n)]).map(\.bitPattern), "row \(r)")
                }
                // Panels one at a time (12-row blocks) and in one call (pairs of panels in 6-row blocks, as the
                // spiking executor calls it) give the bits of the call above, whose panels were split over the cores.
                let panels = PackedLinear.panels(outFeatures: n)
                for split in [1, panels] {
                    let z = FloatBuffer(count: rows * n)
                    for first in stride(from: 0, to: panels, by: split) {
                        spk_packed_linear(x.pointer, rows, k, packed, bias?.pointer, n, first,
                                          Swift.min(panels, first + split), z.pointer)
                    }
                    XCTAssertEqual(z.array.map(\.bitPattern), y.array.map(\.bitPattern), "n \(n), \(split) panels a call")
                }
                // The AVX2 kernel (16 columns by 6 rows) gives the AVX-512 kernel's bits (checked where the CPU runs
                // both), and each kernel's own.
                for kernel in 1...Int32(spk_packed_linear_available()) {
                    let z = FloatBuffer(count: rows * n)
                    XCTAssertEqual(spk_packed_linear_on(kernel, x.pointer, rows, k, packed, bias?.pointer, n, 0,
                                                        panels, z.pointer), 1)
                    XCTAssertEqual(z.array.map(\.bitPattern), y.array.map(\.bitPattern), "n \(n), kernel \(kernel)")
                }
            }
        }
    }

    /// Packing weights equal bit for bit to those of a live packed copy returns that copy; any other weights (one
    /// bit apart, −0 for +0, another shape) get their own; a copy whose last user has gone is not found again.
    func testPackedCopiesOfTheSameWeightsAreSharedWhileAlive() throws {
        guard PackedLinear.available else { throw XCTSkip("this CPU has neither AVX-512F nor AVX2 and FMA") }
        let (n, k) = (40, 24)
        let w = random(n * k, seed: 321)
        func pack(_ values: [Float], n: Int = n, k: Int = k) -> FloatBuffer {
            values.withUnsafeBufferPointer { PackedLinear.pack($0.baseAddress!, outFeatures: n, inFeatures: k) }
        }
        let first = pack(w)
        XCTAssertTrue(pack(Array(w)) === first, "equal weights (in another array) share their packed copy")
        var flipped = w
        flipped[7] = Float(bitPattern: flipped[7].bitPattern ^ 1)
        XCTAssertFalse(pack(flipped) === first, "weights one bit apart")
        var negativeZero = w
        negativeZero[3] = 0
        XCTAssertTrue(pack(negativeZero) !== pack(negativeZero.map { $0 == 0 ? -0.0 : $0 }), "+0 and −0")
        XCTAssertFalse(pack(w, n: n / 2, k: 2 * k) === first, "the same floats in another shape")
        XCTAssertEqual(spk_packed_equals(w, n, k, first.pointer), 1)
        XCTAssertEqual(spk_packed_equals(flipped, n, k, first.pointer), 0)
        // The registry does not keep a copy alive: it goes with its last user.
        var only: FloatBuffer? = pack(random(n * k, seed: 654))
        weak let probe = only
        XCTAssertNotNil(probe)
        only = nil
        XCTAssertNil(probe)
    }

    func testFloatANNAgreesWithAndWithoutPackedWeights() throws {
        let model = try ViTImporter.load(Fixtures.model("vit_tiny_geom"))
        let data = try ImageDataset.load(Fixtures.data("vit_tiny_geom"), for: model.config)
        let packed = ViTForward(model), plain = ViTForward(model, packedWeights: false)
        XCTAssertEqual(packed.packer != nil, PackedLinear.available)
        XCTAssertNil(plain.packer)
        let a = packed.logits(data.images), b = plain.logits(data.images)
        XCTAssertLessThanOrEqual(a.maxAbsDifference(b), 1e-5)
        XCTAssertGreaterThan(a.scalars.map(abs).max()!, 0.1)
        // One image at a time: OpenBLAS with the output columns spread over the cores (without packing).
        let single = Prediction.logits(of: data, batchSize: 1) { plain.logits($0) }
        XCTAssertLessThanOrEqual(a.maxAbsDifference(single), 1e-5)
    }
}
