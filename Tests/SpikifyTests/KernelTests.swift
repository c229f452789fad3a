import Foundation
import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyExport
@testable import SpikifyModel
@testable import SpikifySpiking
import SpikifySIMD

/// Row kernels against their definitions (Foundation's libm as the independent reference).
final class KernelTests: XCTestCase {
    /// The buffers behind every operator's state: zeroing and block moves are raw memory operations, which must
    /// give what an element-by-element loop gives for each element type used (Float, Int, Int32, UInt8).
    func testScalarBufferZeroAndBlockMovesForEveryElementType() {
        func check<E: Numeric & Sendable & BitwiseCopyable>(_ make: (Int) -> E) {
            let values = (0..<24).map(make)
            let b = ScalarBuffer<E>(values)
            XCTAssertEqual(b.array, values)
            b.moveBlock(from: 3, to: 1, size: 6)  // elements 18..<24 onto 6..<12
            var expected = values
            expected.replaceSubrange(6..<12, with: values[18..<24])
            XCTAssertEqual(b.array, expected)
            b[5] = make(23)
            XCTAssertEqual(b[5], make(23))
            b.zero()
            XCTAssertEqual(b.array, Array(repeating: 0, count: 24))
            XCTAssertEqual(ScalarBuffer<E>(count: 7).array, Array(repeating: 0, count: 7))
        }
        check { Float($0) * -1.5 + 0.25 }
        check { $0 * 1_000_003 - 7 }
        check { Int32($0) - 12 }
        check { UInt8($0 + 200) }
    }

    /// The C kernels behind `Kernels.softmax` and `Kernels.gelu` (vectorised clones, SpikifySIMD) give the bits of
    /// their definitions written out here in Swift: rows of every width from 1 to 67 and of 197 and 256, values from
    /// the exp clamps to subnormals, and special values.
    func testVectorKernelsEqualTheirSwiftDefinitionsBitForBit() {
        func softmaxDefinition(_ row: [Float]) -> [Float] {
            let m = row.reduce(-Float.infinity) { Swift.max($0, $1) }
            let e = row.map { Elementary.exp($0 - m) }
            var s = [Float](repeating: 0, count: 16)
            let whole = e.count / 16 * 16
            for j in stride(from: 0, to: whole, by: 16) { for l in 0..<16 { s[l] += e[j + l] } }
            for j in whole..<e.count { s[0] += e[j] }
            for half in [8, 4, 2, 1] { for l in 0..<half { s[l] += s[l + half] } }
            let inv = 1 / s[0]
            return e.map { $0 * inv }
        }
        var g = NeuronTests.SplitMix(state: 11)
        let tiny = Float.leastNormalMagnitude / 8  // a subnormal
        let special: [Float] = [0, -0.0, tiny, -tiny, 88.5, -88.5, 200, -200, 1e30, -1e30, 0.5, -3.75]
        for width in Array(1...67) + [197, 256] {
            for _ in 0..<6 {
                let spread = Float([0.01, 1, 30, 150].randomElement(using: &g)!)
                let row = (0..<width).map { _ in Bool.random(using: &g) && width > 2 ? special.randomElement(using: &g)!
                    : Float.random(in: -spread...spread, using: &g) }
                var fast = row
                Kernels.softmax(&fast, rows: 1, width: width)
                XCTAssertEqual(fast.map(\.bitPattern), softmaxDefinition(row).map(\.bitPattern), "softmax of \(row)")
            }
        }
        let invSqrt2: Float = 0.70710678118654752440
        var values = special + [.infinity, -.infinity, .leastNonzeroMagnitude, -.greatestFiniteMagnitude]
        for _ in 0..<100_000 { values.append(Float.random(in: -12...12, using: &g)) }
        var fast = values
        Kernels.gelu(&fast, count: fast.count)
        for (x, y) in zip(values, fast) {
            let definition = 0.5 * x * (1 + Elementary.erf(x * invSqrt2))
            XCTAssertEqual(y.bitPattern, definition.bitPattern, "GELU(\(x)): \(y) against \(definition)")
        }
    }

    func testExpIsWithinAFewUlps() {
        var worst: Double = 0
        for i in 0...200_000 {
            let x = Float(-87 + 175 * Double(i) / 200_000)
            let reference = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(Elementary.exp(x)) - reference) / reference)
        }
        XCTAssertLessThan(worst, 3e-7)
    }

    func testErfAndGELU() {
        var erfError: Double = 0, geluError: Double = 0
        for i in 0...100_000 {
            let x = Float(-8 + 16 * Double(i) / 100_000)
            erfError = max(erfError, abs(Double(Elementary.erf(x)) - Foundation.erf(Double(x))))
            var g = x
            Kernels.gelu(&g, count: 1)
            let reference = 0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))
            geluError = max(geluError, abs(Double(g) - reference))
        }
        XCTAssertLessThan(erfError, 5e-7)  // 1.5e-7 in exact arithmetic, plus float32 rounding
        XCTAssertLessThan(geluError, 1e-6)
    }

    func testSoftmaxAndLayerNormDefinitions() {
        var x: [Float] = [1, 2, 3, -1000, 0.5, 0.5, 0.5, 0.5]
        Kernels.softmax(&x, rows: 2, width: 4)
        let e = [1.0, 2.0, 3.0].map { Foundation.exp($0 - 3) }
        let s = e.reduce(0, +)
        for j in 0..<3 { XCTAssertEqual(Double(x[j]), e[j] / s, accuracy: 1e-7) }
        XCTAssertEqual(x[3], 0, accuracy: 1e-30)
        for j in 4..<8 { XCTAssertEqual(x[j], 0.25, accuracy: 1e-7) }
        let row: [Float] = [1, 2, 3, 4]
        var y = [Float](repeating: 0, count: 4)
        Kernels.layerNorm(row, rows: 1, width: 4, gamma: [1, 1, 2, 1], beta: [0, 0, 0, 1], eps: 0, into: &y)
        let sd = Float(1.25).squareRoot()
        XCTAssertEqual(y, [-1.5 / sd, -0.5 / sd, 2 * 0.5 / sd, 1.5 / sd + 1].map { $0 }, accuracy: 1e-6)
    }

    func testIm2colOrdersPatchesLikeTheConvWeight() {
        // 1 image, 2 channels, 4×4, patch 2: row = patch (py, px), columns (channel, dy, dx).
        let image = (0..<32).map(Float.init)
        var out = [Float](repeating: 0, count: 32)
        Patches.im2col(image, batch: 1, channels: 2, height: 4, width: 4, patch: 2, into: &out)
        XCTAssertEqual(Array(out[0..<8]), [0, 1, 4, 5, 16, 17, 20, 21])
        XCTAssertEqual(Array(out[24..<32]), [10, 11, 14, 15, 26, 27, 30, 31])
    }
}

func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
