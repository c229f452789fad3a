import ArgumentParser
import Foundation
import Spikify

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert one ViT checkpoint with several methods, evaluate each, and put them on one page.",
        discussion: """
            Each method in --methods converts --model in memory with the same conversion flags (--levels, --calib, \
            --calib-method, --calib-order, --calib-samples, --seed) and is evaluated in one pass of --timesteps \
            over the same images. Writes DIR/<method>.json per method, DIR/compare.json (a list of the reports, and \
            {"method": …, "status": "not available …"} for each method this Spikify does not have) and \
            DIR/report.html. Exits 0 when at least one method ran; non-zero when none is available.
            """)

    @Option(help: "ViT checkpoint (HDF5).")
    var model: String

    @Option(help: "Dataset (HDF5 with 'images' and optional 'labels').")
    var data: String

    @Option(help: "Comma-separated conversion methods, e.g. spikezip,mst,sta (available: \(ConversionMethods.names.joined(separator: ", "))).")
    var methods: String

    @Option(help: "Timesteps T to run for every method.")
    var timesteps = 64

    @Option(help: "Output folder (created when missing).")
    var out: String

    @Option(name: .customLong("limit"), help: "Evaluate only the first N images.")
    var limit: Int?

    @Option(name: .customLong("batch-size"), help: "Images per batch (evaluation and calibration).")
    var batchSize = 16

    @OptionGroup var conversion: ConversionArguments
    @OptionGroup var overrides: ModelOverrides

    func validate() throws {
        guard timesteps >= 1, timesteps <= 1 << 20 else { throw ValidationError("--timesteps must be 1 … \(1 << 20)") }
        guard batchSize > 0, batchSize <= 1 << 16 else { throw ValidationError("--batch-size must be 1 … \(1 << 16)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        _ = try MethodComparison.parseMethods(methods)
    }

    func run() throws {
        let comparison = MethodComparison(
            modelPath: model, dataPath: data, methods: try MethodComparison.parseMethods(methods),
            options: SpikingEvaluation.Options(timesteps: timesteps, batchSize: batchSize), limit: limit)
        let bar = ProgressBar("compare")
        let result = try comparison.run(into: out, convert: { method in
            (try conversion.convert(modelPath: model, overrides: overrides, batchSize: batchSize, method: method,
                                    allowingOtherMethods: true, timesteps: timesteps),
             conversion.recorded(method: method, timesteps: timesteps))
        }, progress: { _, done, total in bar.update(done, total) }, report: { r in
            print("== \(r.method) · \(r.levels.map { "\($0) levels · " } ?? "")\(r.samples) images · \(model)")
            print(r.table())
            if let line = try? r.energyEstimate().summaryLine { print(line) }
        })
        for u in result.unavailable { print("\(u.method): \(u.status)") }
        for file in result.reportFiles { print("report: \(file)") }
        print("combined: \(result.combinedFile)")
        print("html report: \(result.pageFile)")
    }
}
