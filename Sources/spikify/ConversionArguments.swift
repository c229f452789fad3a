import ArgumentParser
import Foundation
import Spikify

/// How to convert a float or QANN checkpoint (shared by `convert` and `eval`).
struct ConversionArguments: ParsableArguments {
    @Option(help: "Conversion method (available: \(ConversionMethods.names.joined(separator: ", "))).")
    var method: String?

    @Option(help: "Quantization levels L ≥ 2 (default: the file's 'levels' attribute, else 16 when calibrating).")
    var levels: Int?

    @Option(help: "Calibration dataset (HDF5); when given, step sizes are calibrated instead of read from the checkpoint.")
    var calib: String?

    @Option(name: .customLong("calib-method"), help: "Step search: mse (minimise quantization error) or pXX.X (percentile, e.g. p99.9).")
    var calibMethod = "mse"

    @Option(name: .customLong("calib-order"), help: "sequential: each site on activations with upstream sites already quantized (one batch of all calibration images); parallel: every site on float activations.")
    var calibOrder: CalibrationOrder = .sequential

    @Option(name: .customLong("calib-samples"), help: "Use at most this many calibration images.")
    var calibSamples: Int?

    func validate() throws {
        if let levels, levels < 2 { throw ValidationError("--levels must be at least 2") }
        _ = try parsedCalibrationMethod()
    }

    func parsedCalibrationMethod() throws -> CalibrationMethod {
        if calibMethod == "mse" { return .mse }
        if calibMethod.hasPrefix("p"), let p = Double(calibMethod.dropFirst()), p > 0, p <= 100 { return .percentile(p) }
        throw ValidationError("--calib-method must be 'mse' or 'pXX' (a percentile in (0, 100]), got '\(calibMethod)'")
    }

    /// Imports `modelPath` and converts it in memory.
    func convert(modelPath: String, overrides: ModelOverrides, batchSize: Int) throws -> ConvertedModel {
        let model = try ViTImporter.load(modelPath, options: overrides.importOptions)
        var options = ConversionOptions(levels: levels, batchSize: batchSize)
        options.metadata["source_sha256"] = try SHA256.hex(ofFile: modelPath)
        if let calib {
            var data = try ImageDataset.load(calib, for: model.config)
            if let limit = calibSamples, limit < data.count { data.images = data.batch(0..<limit) }
            options.steps = .calibrate(try parsedCalibrationMethod(), calibOrder)
            options.calibrationImages = data.images
            options.metadata["calibration_file"] = calib
            options.metadata["calibration_method"] = "\(calibMethod), \(calibOrder.rawValue)"
        }
        let bar = ProgressBar("calibrate")
        return try ConversionMethods.convert(model, method: method ?? "spikezip", options: options, progress: bar.update)
    }
}

extension CalibrationOrder: ExpressibleByArgument {}
