import ArgumentParser
import Foundation
import Spikify

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a spiking network over timesteps and compare it with its ANN and its reference network.",
        discussion: """
            --model is either a converted model (from 'spikify convert') or a ViT checkpoint together with --method, \
            which is converted in memory first. Prints accuracy and top-1 agreement with the ANN and the method's \
            reference network (SpikeZIP-TF: the QANN) after selected timesteps t (one pass gives every t ≤ \
            --timesteps); --report writes all of them as JSON. Images are read batch by batch. With --shard I/N (or \
            --shards N inside a Slurm array or Kubernetes Indexed Job) only slice I of N is evaluated and --report \
            writes a shard report for 'spikify merge' (docs/scaling.md).
            """)

    @Option(help: "Converted model, or a ViT checkpoint (with --method).")
    var model: String

    @Option(help: "Dataset (HDF5 with 'images' and optional 'labels').")
    var data: String

    @Option(help: "Timesteps T to run (default 64; 1024 with --until-quiet, as a cap).")
    var timesteps: Int?

    @Flag(name: .customLong("until-quiet"), help: "Run until every sample is quiet (its output final), at most --timesteps, and print settle steps; only for methods whose quiescence is final (SpikeZIP-TF).")
    var untilQuiet = false

    @Option(help: "Write the JSON report here (atomically).")
    var report: String?

    @Flag(help: "Also write the HTML report next to --report (R.json → R.html; docs/report.md).")
    var plot = false

    @Option(name: .customLong("batch-size"), help: "Images per batch.")
    var batchSize = 16

    @Option(name: .customLong("limit"), help: "Evaluate only the first N images.")
    var limit: Int?

    @Option(help: "Evaluate slice I of N (0-based, contiguous) and write a shard report (needs --report).")
    var shard: String?

    @Option(help: "Evaluate slice I of N, I from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX (N defaults to SLURM_ARRAY_TASK_COUNT).")
    var shards: Int?

    @Flag(help: "Skip the run when --report already holds a report of the same model, options, data and slice.")
    var resume = false

    @Option(name: .customLong("exit-when"), help: "Confidence-based early exit, measured next to running until quiet: stable:K[,margin:M] lets a sample leave once its prediction has not changed for K steps and its top-1 − top-2 logit margin exceeds M (docs/latency.md). Off by default.")
    var exitWhen: String?

    @OptionGroup var method: MethodArgument
    @OptionGroup var conversion: ConversionArguments
    @OptionGroup var overrides: ModelOverrides

    func validate() throws {
        if let timesteps, timesteps < 1 || timesteps > 1 << 20 { throw ValidationError("--timesteps must be 1 … \(1 << 20)") }
        guard batchSize > 0, batchSize <= 1 << 16 else { throw ValidationError("--batch-size must be 1 … \(1 << 16)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if shard != nil && shards != nil { throw ValidationError("give --shard I/N or --shards N, not both") }
        if plot && report == nil {
            throw ValidationError("--plot needs --report R.json: the HTML page is written next to it (R.html)")
        }
        if (shard != nil || shards != nil || resume) && report == nil {
            throw ValidationError("--shard, --shards and --resume need --report (the shard report's path)")
        }
        if let exitWhen { _ = try ExitPolicy(parsing: exitWhen) }
    }

    /// The report path for burst B in a sweep: `R.json` → `R-burst4.json` (one file per B; docs/latency.md).
    static func reportPath(_ path: String, burst: Int, sweep: Bool) -> String {
        guard sweep else { return path }
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let stem = ext.isEmpty ? path : String(path.dropLast(ext.count + 1))
        return stem + "-burst\(burst)" + (ext.isEmpty ? "" : "." + ext)
    }

    func run() throws {
        let shardSpec: ShardSpec? = try shard.map { try ShardSpec(parsing: $0) }
            ?? (shards != nil ? try ShardSpec.fromEnvironment(shards: shards, ProcessInfo.processInfo.environment) : nil)
        let (base, conversionOptions) = try load()
        if untilQuiet && !base.graph.semantics.quiescenceIsFinal {
            throw ValidationError("--until-quiet: \(base.method) networks never become final by falling silent; give --timesteps")
        }
        let exitPolicy = try exitWhen.map { try ExitPolicy(parsing: $0) }
        let bursts: [Int?] = try conversion.bursts() ?? [nil]
        let sweep = bursts.count > 1
        // Every B is checked before anything runs: a sweep fails at once, not after its first blocks.
        let models = try bursts.map { b in try b.map { try base.withBurst($0) } ?? base }
        for (burst, converted) in zip(bursts, models) {
            var options = conversionOptions
            if let burst { options["burst"] = String(burst) }
            if sweep { print("== burst \(converted.burst)") }
            try evaluate(converted, conversionOptions: options, shardSpec: shardSpec, exitPolicy: exitPolicy,
                         reportPath: report.map { Self.reportPath($0, burst: converted.burst, sweep: sweep) })
            if sweep && burst != bursts.last { print("") }
        }
    }

    /// Evaluates one converted model (one block of a `--burst` sweep) and writes its report.
    private func evaluate(_ converted: ConvertedModel, conversionOptions: [String: String], shardSpec: ShardSpec?,
                          exitPolicy: ExitPolicy?, reportPath: String?) throws {
        let T = timesteps ?? (untilQuiet ? 1024 : 64)
        let reader = try ImageDatasetReader(data, for: converted.model.config)
        let total = 0..<min(reader.count, limit ?? reader.count)
        let range = shardSpec?.slice(of: total) ?? total
        var conversion = conversionOptions
        if let exitPolicy { conversion["exit_when"] = exitPolicy.description }
        let provenance = EvaluationReport.Provenance(
            modelSha256: try SHA256.hex(ofFile: model), conversion: conversion, dataset: reader.source,
            datasetImages: total.count, timesteps: T)
        let shardInfo = shardSpec.map { EvaluationReport.Shard(index: $0.index, count: $0.count, start: range.lowerBound, end: range.upperBound) }
        if resume, let reportPath, FileManager.default.fileExists(atPath: reportPath),
           let existing = try? EvaluationReport.read(reportPath), existing.provenance == provenance, existing.shard == shardInfo {
            print("\(reportPath) already holds this evaluation; skipped (--resume)")
            if plot { try writePage(existing, report: reportPath) }
            return
        }
        for warning in converted.warnings(timesteps: T) { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let bar = ProgressBar(shardSpec.map { "shard \($0.index)/\($0.count)" } ?? "eval")
        let options = SpikingEvaluation.Options(timesteps: T, untilQuiet: untilQuiet, batchSize: batchSize,
                                                keepAccumulator: shardSpec != nil, exitPolicy: exitPolicy)
        var r = try SpikingEvaluation.run(converted, data: reader, range: range, options: options, progress: bar.update)
        r.provenance = provenance
        r.shard = shardInfo
        let slice = shardSpec.map { " (shard \($0.index) of \($0.count): images \(range.lowerBound)..<\(range.upperBound))" } ?? ""
        print("\(converted.method) · \(converted.levels.map { "\($0) levels · " } ?? "")burst \(converted.burst) · "
            + "\(range.count) images\(slice) · \(model)")
        print(r.table())
        for stage in r.stages ?? [] { print("\(stage.name.uppercased()): \(stage.description)") }
        if r.stages != nil { print("\(r.reference.name.uppercased()): \(r.reference.description)") }
        let s = r.snn.settleSteps
        if untilQuiet {
            print("settle steps: min \(s.min.map(String.init) ?? "—"), median \(s.median.map { String($0) } ?? "—"), "
                + "p99 \(s.p99.map(String.init) ?? "—"), max \(s.max.map(String.init) ?? "—"); unsettled at T=\(T): \(s.unsettled)")
        }
        let largest = r.sites.map { $0.maxSpikePerStep.max() ?? 0 }.max() ?? 0
        print(String(format: "spikes per image %.0f, spike events per image %.0f, largest spike %d",
                     r.snn.spikesPerImage ?? 0, r.snn.spikeEventsPerImage ?? 0, largest))
        if let e = r.snn.earlyExit {
            func pct(_ x: Double?) -> String { x.map { String(format: "%.2f%%", 100 * $0) } ?? "—" }
            let name = r.reference.name.uppercased()
            print("early exit \(e.policy): accuracy \(pct(e.accuracy)) (until quiet \(pct(e.accuracyUntilQuiet))), "
                + "agree \(name) \(pct(e.agreementWithReference)) (until quiet \(pct(e.agreementWithReferenceUntilQuiet))), "
                + String(format: "%.2f steps on average instead of %.2f (%.2f saved), %@ left early",
                         e.meanSteps, e.meanStepsUntilQuiet, e.meanStepsSaved, pct(e.exitedEarly)))
        }
        print(String(format: "max |SNN − %@ logit| after the last step: %.3g", r.reference.name.uppercased(), r.snn.maxAbsLogitDifferenceToReference))
        print(String(format: "time per image: ANN %.3f ms, SNN %.1f ms (%.1f steps on average; batch %d, BLAS %@)",
                     1000 * r.ann.secondsPerImage, 1000 * r.snn.secondsPerImage, r.snn.meanStepsRun, batchSize, r.blasCore))
        print(try r.energyEstimate().summaryLine)
        if let reportPath {
            try r.write(to: reportPath)
            print("report: \(reportPath)")
            if plot { try writePage(r, report: reportPath) }
        }
    }

    /// Writes the HTML page of `r` next to its JSON report (`--plot`).
    private func writePage(_ r: EvaluationReport, report: String) throws {
        let page = ReportPages.htmlPath(forReport: report)
        try ReportPages.write(ReportSet(documents: [try r.document()]), format: .html, to: page)
        print("html report: \(page)")
    }

    /// The converted model, and the conversion options when it was converted in memory.
    private func load() throws -> (ConvertedModel, [String: String]) {
        if ConvertedModelFile.isConverted(model) {
            if method.method != nil || conversion.calib != nil {
                throw ValidationError("\(model) is already converted; --method and --calib apply to ViT checkpoints "
                    + "(--burst applies to both)")
            }
            return (try ConvertedModelFile.read(model), [:])
        }
        guard let name = method.method?.rawValue else {
            throw ValidationError("\(model) is a ViT checkpoint, not a converted model: add --method "
                + "\(ConversionMethods.names.joined(separator: "|")) to convert it in memory")
        }
        let T = timesteps ?? (untilQuiet ? 1024 : 64)
        let converted = try conversion.convert(modelPath: model, overrides: overrides, batchSize: batchSize, method: name,
                                               timesteps: T)
        return (converted, conversion.recorded(method: name, timesteps: T))
    }
}
