import Foundation
import SpikifyConversion
import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// Runs a converted model against its source ANN and its method's reference network on a data set, batch by batch:
/// accuracy and agreement after every timestep from one pass, settle statistics, spikes and events per site and
/// step, and timings, all counted in an ``EvaluationAccumulator``.
public enum SpikingEvaluation {
    public struct Options: Sendable {
        public var timesteps: Int
        public var untilQuiet: Bool
        public var batchSize: Int
        /// Keep the accumulator in the report (shard reports, for `spikify merge`).
        public var keepAccumulator: Bool
        /// Confidence-based early exit to measure next to running until quiet (`--exit-when`; nil: off).
        public var exitPolicy: ExitPolicy?
        public init(timesteps: Int, untilQuiet: Bool = false, batchSize: Int = 16, keepAccumulator: Bool = false,
                    exitPolicy: ExitPolicy? = nil) {
            self.exitPolicy = exitPolicy
            self.timesteps = timesteps
            self.untilQuiet = untilQuiet
            self.batchSize = batchSize
            self.keepAccumulator = keepAccumulator
        }
    }

    /// Evaluates images `range` (default: all) of `data`, reading one batch at a time. Progress: (done, total).
    public static func run(
        _ converted: ConvertedModel, data: ImageDatasetReader, range: Range<Int>? = nil, options: Options,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> EvaluationReport {
        let slice = range ?? 0..<data.count
        let accumulator = try accumulate(converted, range: slice, options: options, progress: progress) {
            try data.read($0)
        }
        return report(accumulator, converted: converted, options: options, dataset: data.source)
    }

    /// Evaluates an in-memory data set (all of it).
    public static func run(
        _ converted: ConvertedModel, data: ImageDataset, options: Options, progress: ((Int, Int) -> Void)? = nil
    ) throws -> EvaluationReport {
        let accumulator = try accumulate(converted, range: 0..<data.count, options: options, progress: progress) {
            data.subset($0)
        }
        return report(accumulator, converted: converted, options: options, dataset: data.source)
    }

    /// The report of (merged) counts.
    public static func report(_ a: EvaluationAccumulator, converted: ConvertedModel, options: Options,
                              dataset: String?) -> EvaluationReport {
        var r = EvaluationReport(a, converted: converted, reference: converted.reference, untilQuiet: options.untilQuiet,
                                 batchSize: options.batchSize, dataset: dataset)
        if options.keepAccumulator { r.accumulator = a }
        return r
    }

    /// Counts data-set indices `range` in batches of `options.batchSize`; `load` returns a batch's images and labels.
    public static func accumulate(
        _ converted: ConvertedModel, range: Range<Int>, options: Options, progress: ((Int, Int) -> Void)? = nil,
        load: (Range<Int>) throws -> ImageDataset
    ) throws -> EvaluationAccumulator {
        guard options.timesteps >= 1 else { throw SpikifyError.invalidArgument("timesteps must be at least 1, got \(options.timesteps)") }
        guard options.batchSize >= 1 else { throw SpikifyError.invalidArgument("batch size must be at least 1, got \(options.batchSize)") }
        let forward = ViTForward(converted.model)
        let reference = converted.reference, stages = converted.stages
        let executor = try SpikingExecutor(graph: converted.graph, batchCapacity: min(options.batchSize, max(range.count, 1)))
        var a = EvaluationAccumulator(timesteps: options.timesteps)
        if let policy = options.exitPolicy { a.earlyExit = .init(policy: policy.description) }
        for start in stride(from: range.lowerBound, to: range.upperBound, by: options.batchSize) {
            let batch = start..<min(range.upperBound, start + options.batchSize)
            let data = try load(batch)
            var clock = Date()
            let annLogits = forward.logits(data.images)
            a.annSeconds += Date().timeIntervalSince(clock)
            try forward.checkFinite(annLogits, images: data.images, network: "ANN", file: converted.model.source)
            clock = Date()
            let referenceLogits = reference.logits(data.images)
            a.referenceSeconds += Date().timeIntervalSince(clock)
            if referenceLogits.scalars.contains(where: { !$0.isFinite }) {
                throw SpikifyError.invalidData(file: converted.model.source, message: "the \(reference.name) produces "
                    + "non-finite logits (NaN or infinity) for images \(batch.lowerBound)..<\(batch.upperBound)")
            }
            for (index, stage) in stages.enumerated() {
                clock = Date()
                let logits = stage.logits(data.images)
                a.addStage(index, name: stage.name, predictions: logits.argmaxRows(), labels: data.labels,
                           ann: annLogits.argmaxRows(), seconds: Date().timeIntervalSince(clock))
            }
            clock = Date()
            let r = try executor.run(data.images, samples: Array(batch), timesteps: options.timesteps,
                                     exitPolicy: options.exitPolicy)
            a.snnSeconds += Date().timeIntervalSince(clock)
            if r.logits.scalars.contains(where: { !$0.isFinite }) {
                throw SpikifyError.invalidData(file: converted.model.source, message: "the SNN produces non-finite logits "
                    + "(NaN or infinity) for images \(batch.lowerBound)..<\(batch.upperBound)")
            }
            a.add(range: batch, labels: data.labels, ann: annLogits.argmaxRows(), reference: referenceLogits.argmaxRows(),
                  snn: r, logitDifference: Double(comparableLogits(r, converted.graph.semantics)
                      .maxAbsDifference(referenceLogits)))
            progress?(batch.upperBound - range.lowerBound, range.count)
        }
        return a
    }

    /// The SNN's logits on the reference network's scale: with a summed readout of an input that enters on every
    /// step, the sum over steps estimates the reference logits times the steps, so each sample's sum is divided by its
    /// steps run; otherwise the logits as read out.
    static func comparableLogits(_ r: SpikingBatchResult, _ semantics: SimulationSemantics) -> Tensor {
        guard semantics.readout == .sum, semantics.inputCoding != .analogOnce else { return r.logits }
        var logits = r.logits
        let width = logits.count / max(r.stepsActive.count, 1)
        for (s, steps) in r.stepsActive.enumerated() where steps > 0 {
            for j in (s * width)..<((s + 1) * width) { logits.scalars[j] /= Float(steps) }
        }
        return logits
    }
}
