import ArgumentParser
import Foundation
import Spikify

/// `--method`: the conversion method of `convert` and `eval` (`compare` takes `--methods`).
struct MethodArgument: ParsableArguments {
    @Option(help: "Conversion method: \(ConversionMethods.summaries.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")).")
    var method: MethodName?
}

/// How to convert a float or QANN checkpoint (shared by `convert`, `eval` and, for every method, `compare`).
struct ConversionArguments: ParsableArguments {
    @Option(help: "Quantization levels L ≥ 2 (default: the file's 'levels' attribute, else 16 when calibrating).")
    var levels: Int?

    @Option(help: "Calibration dataset (HDF5); when given, step sizes are calibrated instead of read from the checkpoint.")
    var calib: String?

    @Option(name: .customLong("calib-method"), help: "Step/threshold search: mse (minimise quantization error), pXX.X (percentile, e.g. p99.9) or max (= p100).")
    var calibMethod = "mse"

    @Option(name: .customLong("calib-order"), help: "sequential: each site on activations with upstream sites already quantized (one batch of all calibration images); parallel: every site on float activations.")
    var calibOrder: CalibrationOrder = .sequential

    @Option(name: .customLong("calib-samples"), help: "Use at most this many calibration images.")
    var calibSamples: Int?

    @Option(help: "Seed of the counter-based random bits of stochastic methods (saved with the converted model).")
    var seed: UInt64 = 0

    @Option(help: "Burst spikes: a neuron emits up to B spikes of one sign per step (1 ≤ B ≤ levels; 1 = SpikeZIP-TF's single spikes; exact at quiescence for every B; docs/latency.md). eval also takes a list B1,B2,… and evaluates each.")
    var burst: String?

    /// The values of `--burst` (nil when absent): integers 1 … 2²⁴, no repeats.
    func bursts() throws -> [Int]? {
        guard let burst else { return nil }
        var values: [Int] = []
        for part in burst.split(separator: ",", omittingEmptySubsequences: false) {
            guard let b = Int(part.trimmingCharacters(in: .whitespaces)), (1...(1 << 24)).contains(b) else {
                throw ValidationError("--burst must be an integer 1 … levels or a list such as 1,2,4,8; got '\(burst)'")
            }
            guard !values.contains(b) else { throw ValidationError("--burst lists \(b) twice ('\(burst)')") }
            values.append(b)
        }
        return values
    }

    @Option(name: .customLong("mst-mode"), help: "mst: standard (MST: unsigned IF, softmax/LayerNorm per step), improved (softmax/LayerNorm/GELU and the attention products on running means, sums over steps corrected to t·f(means)), signed (signed IF neurons for ordinary ViTs), signed-improved (both; converts ordinary ViTs).")
    var mstMode: String?

    @Option(name: .customLong("mask-ratio"), help: "mst: random spike masking ratio p in [0, 1) (keep probability 1 − p, no rescaling, fresh every step; default 0). Use the ratio the model was trained with.")
    var maskRatio: Double?

    @Option(name: .customLong("mask-sites"), help: "mst: attention (Q, K and score spikes, as the released MST code) or attention+mlp (also the MLP inputs).")
    var maskSites: String?

    @Option(name: .customLong("ugo-neurons"), help: "sta: hidden units N per universal group operator (GELU, exp, 1/x, 1/√x; 2 … 4096, default 8).")
    var ugoNeurons: Int?

    @Option(name: .customLong("softmax-reference"), help: "sta: the softmax's reference logit: cls (the class token's, as STA), max (the row maximum) or auto (default with a class token, else max: the one whose float network agrees best with the ANN on the calibration images).")
    var softmaxReference: String?

    /// The MST options (``ConversionOptions/methodOptions``).
    var methodOptions: [String: String] {
        var o: [String: String] = [:]
        if let mstMode { o["mode"] = mstMode }
        if let maskRatio { o["mask_ratio"] = String(maskRatio) }
        if let maskSites { o["mask_sites"] = maskSites }
        return o
    }

    /// The STA options; `timesteps` is the T the thresholds are calibrated for.
    func staOptions(timesteps: Int?) -> [String: String] {
        var o: [String: String] = [:]
        if let timesteps { o["timesteps"] = String(timesteps) }
        if let ugoNeurons { o["ugo_neurons"] = String(ugoNeurons) }
        if let softmaxReference { o["softmax_reference"] = softmaxReference }
        return o
    }

    /// The options of `method`.
    func options(for method: String, timesteps: Int?) -> [String: String] {
        switch method {
        case "mst": return methodOptions
        case "sta": return staOptions(timesteps: timesteps)
        default: return [:]
        }
    }

    func validate() throws {
        if let maskRatio, !(maskRatio >= 0 && maskRatio < 1) { throw ValidationError("--mask-ratio must be in [0, 1)") }
        if let mstMode, !["standard", "improved", "signed", "signed-improved"].contains(mstMode) {
            throw ValidationError("--mst-mode must be standard, improved, signed or signed-improved, got '\(mstMode)'")
        }
        if let maskSites, !["attention", "attention+mlp"].contains(maskSites) {
            throw ValidationError("--mask-sites must be attention or attention+mlp, got '\(maskSites)'")
        }
        if let levels, levels < 2 || levels > 1 << 24 { throw ValidationError("--levels must be 2 … \(1 << 24)") }
        if let calibSamples, calibSamples < 1 { throw ValidationError("--calib-samples must be at least 1") }
        if let ugoNeurons, !(2...4096).contains(ugoNeurons) { throw ValidationError("--ugo-neurons must be 2 … 4096") }
        if let softmaxReference, !["cls", "max", "auto"].contains(softmaxReference) {
            throw ValidationError("--softmax-reference must be cls, max or auto, got '\(softmaxReference)'")
        }
        _ = try bursts()
        _ = try parsedCalibrationMethod()
    }

    /// The options as recorded in reports (provenance of an in-memory conversion with `method`).
    func recorded(method: String, timesteps: Int? = nil) -> [String: String] {
        var d = ["method": method, "calib_method": calibMethod, "calib_order": calibOrder.rawValue,
                 "seed": String(seed)]
        if let levels { d["levels"] = String(levels) }
        if let calib { d["calib"] = calib }
        if let calibSamples { d["calib_samples"] = String(calibSamples) }
        if method == "mst" || method == "sta" {
            for (k, v) in options(for: method, timesteps: timesteps) { d[method + "_" + k] = v }
        }
        return d
    }

    func parsedCalibrationMethod() throws -> CalibrationMethod {
        if calibMethod == "mse" { return .mse }
        if calibMethod == "max" { return .percentile(100) }
        if calibMethod.hasPrefix("p"), let p = Double(calibMethod.dropFirst()), p > 0, p <= 100 { return .percentile(p) }
        throw ValidationError("--calib-method must be 'mse' or 'pXX' (a percentile in (0, 100]), got '\(calibMethod)' (or 'max')")
    }

    /// Imports `modelPath` and converts it in memory with `method`.
    /// - Parameter timesteps: the T an STA conversion calibrates its thresholds for.
    func convert(modelPath: String, overrides: ModelOverrides, batchSize: Int, method: String, burst: Int = 1,
                 allowingOtherMethods: Bool = false, timesteps: Int? = nil) throws -> ConvertedModel {
        // The MST flags apply to `--method mst` (`compare` passes them to its MST conversion only); likewise STA's.
        if !methodOptions.isEmpty && method != "mst" && !allowingOtherMethods {
            throw ValidationError("--mst-mode, --mask-ratio and --mask-sites need --method mst")
        }
        if (ugoNeurons != nil || softmaxReference != nil) && method != "sta" && !allowingOtherMethods {
            throw ValidationError("--ugo-neurons and --softmax-reference need --method sta")
        }
        let model = try ViTImporter.load(modelPath, options: overrides.importOptions)
        var options = ConversionOptions(levels: levels, batchSize: batchSize, seed: seed, burst: burst,
                                        methodOptions: options(for: method, timesteps: timesteps))
        options.metadata["source_sha256"] = try SHA256.hex(ofFile: modelPath)
        if let calib {
            let reader = try ImageDatasetReader(calib, for: model.config)
            let data = try reader.read(0..<min(reader.count, calibSamples ?? reader.count))
            options.steps = .calibrate(try parsedCalibrationMethod(), calibOrder)
            options.calibrationImages = data.images
            options.metadata["calibration_file"] = calib
            options.metadata["calibration_method"] = "\(calibMethod), \(calibOrder.rawValue)"
        }
        let bar = ProgressBar("calibrate")
        return try ConversionMethods.convert(model, method: method, options: options, progress: bar.update)
    }
}

extension CalibrationOrder: ExpressibleByArgument {}

/// A registered conversion method's name (`--method`): the choices are the registry's.
struct MethodName: ExpressibleByArgument, Sendable {
    let rawValue: String
    init?(argument: String) {
        guard ConversionMethods.names.contains(argument) else { return nil }
        rawValue = argument
    }
    static var allValueStrings: [String] { ConversionMethods.names }
}
