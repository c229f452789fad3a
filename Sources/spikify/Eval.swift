import ArgumentParser
import Foundation
import Spikify

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a spiking network over timesteps and compare it with its ANN and quantized ANN.",
        discussion: """
            --model is either a converted model (from 'spikify convert') or a ViT checkpoint together with --method, \
            which is converted in memory first. Prints accuracy and top-1 agreement with the ANN and the QANN after \
            selected timesteps t (one pass gives every t ≤ --timesteps); --report writes all of them as JSON.
            """)

    @Option(help: "Converted model, or a ViT checkpoint (with --method).")
    var model: String

    @Option(help: "Dataset (HDF5 with 'images' and optional 'labels').")
    var data: String

    @Option(help: "Timesteps T to run (the cap with --until-quiet).")
    var timesteps = 64

    @Flag(name: .customLong("until-quiet"), help: "Print settle steps (every run already stops once no neuron fires, at most --timesteps; give a large --timesteps).")
    var untilQuiet = false

    @Option(help: "Write the JSON report here (atomically).")
    var report: String?

    @Option(name: .customLong("batch-size"), help: "Images per batch.")
    var batchSize = 16

    @Option(name: .customLong("limit"), help: "Evaluate only the first N images.")
    var limit: Int?

    @OptionGroup var conversion: ConversionArguments
    @OptionGroup var overrides: ModelOverrides

    func validate() throws {
        guard timesteps > 0 else { throw ValidationError("--timesteps must be positive") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let converted: ConvertedModel
        if ConvertedModelFile.isConverted(model) {
            if conversion.method != nil || conversion.calib != nil {
                throw ValidationError("\(model) is already converted; --method and --calib apply to ViT checkpoints")
            }
            converted = try ConvertedModelFile.read(model)
        } else {
            guard conversion.method != nil else {
                throw ValidationError("\(model) is a ViT checkpoint, not a converted model: add --method "
                    + "\(ConversionMethods.names.joined(separator: "|")) to convert it in memory")
            }
            converted = try conversion.convert(modelPath: model, overrides: overrides, batchSize: batchSize)
        }
        let reader = try ImageDatasetReader(data, for: converted.model.config)
        let range = 0..<min(reader.count, limit ?? reader.count)
        let bar = ProgressBar("eval")
        let r = try SpikingEvaluation.run(
            converted, data: reader, range: range,
            options: .init(timesteps: timesteps, untilQuiet: untilQuiet, batchSize: batchSize), progress: bar.update)
        let dataset = (count: range.count, source: reader.source)
        print("\(converted.method) · \(converted.levels.map { "\($0) levels · " } ?? "")\(dataset.count) images · \(model)")
        print(r.table())
        let s = r.snn.settleSteps
        if untilQuiet {
            print("settle steps: min \(s.min.map(String.init) ?? "—"), median \(s.median.map { String($0) } ?? "—"), "
                + "p99 \(s.p99.map(String.init) ?? "—"), max \(s.max.map(String.init) ?? "—"); unsettled at T=\(timesteps): \(s.unsettled)")
        }
        print(String(format: "max |SNN − %@ logit| after the last step: %.3g", r.reference.name.uppercased(), r.snn.maxAbsLogitDifferenceToReference))
        print(String(format: "time per image: ANN %.3f ms, SNN %.1f ms (%.1f steps on average; batch %d, BLAS %@)",
                     1000 * r.ann.secondsPerImage, 1000 * r.snn.secondsPerImage, r.snn.meanStepsRun, batchSize, r.blasCore))
        if let report {
            try r.write(to: report)
            print("report: \(report)")
        }
    }
}
