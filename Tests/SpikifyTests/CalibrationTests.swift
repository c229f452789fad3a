import XCTest
import Spikify
@testable import SpikifyConversion
@testable import SpikifyCore
@testable import SpikifyEvaluation
@testable import SpikifyExport
@testable import SpikifyModel
@testable import SpikifySpiking

final class CalibrationTests: XCTestCase {
    func testQuantizerMatchesDefinition() {
        let q = ActivationQuantizer(step: 0.5, levels: 16, signed: true)
        XCTAssertEqual([q.lower, q.upper], [-8, 7])
        XCTAssertEqual(q(0.74), 0.5)
        XCTAssertEqual(q(0.75), 1.0)   // round half up
        XCTAssertEqual(q(-0.75), -0.5)
        XCTAssertEqual(q(100), 3.5)    // clamp at 7·s
        XCTAssertEqual(q(-100), -4)
        let u = ActivationQuantizer(step: 0.1, levels: 16, signed: false)
        XCTAssertEqual([u.lower, u.upper], [0, 15])
        XCTAssertEqual(u(-3), 0)
    }

    func testMSEStepForUniformValues() {
        // Uniform values on [−1, 1) with 16 signed levels: the error-minimising step is close to 2/16.
        let values = (0..<20_000).map { Float($0) / 10_000 - 1 }
        let s = StepCalibration.step(for: values, lower: -8, upper: 7, method: .mse)
        XCTAssertEqual(s, 0.125, accuracy: 0.01)
        let p = StepCalibration.step(for: values, lower: -8, upper: 7, method: .percentile(100))
        XCTAssertEqual(p, 1.0 / 7, accuracy: 1e-3)  // the largest value maps onto the top level
    }

    func testAllZeroSiteGetsAPositiveStep() {
        XCTAssertGreaterThan(StepCalibration.step(for: [0, 0, 0], lower: 0, upper: 15, method: .mse), 0)
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(of: Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(of: Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(of: Data(repeating: 0x61, count: 1000)).prefix(16), "41edece42d63e8d9")
    }
}
