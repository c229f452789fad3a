import Foundation
import SpikifyConversion
import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// Distribution of per-sample settle steps (steps until the output stopped changing).
public struct SettleStatistics: Codable, Sendable, Equatable {
    public var min: Int?, median: Double?, p99: Int?, max: Int?, mean: Double?
    /// Samples still active at the last step run.
    public var unsettled: Int
    /// `histogram[t]`: samples that settled after exactly t steps (t = 0…T).
    public var histogram: [Int]?

    public init(_ steps: [Int], unsettled: Int) {
        let s = steps.sorted()
        self.unsettled = unsettled
        guard !s.isEmpty else { return }
        min = s.first
        max = s.last
        median = s.count % 2 == 1 ? Double(s[s.count / 2]) : Double(s[s.count / 2 - 1] + s[s.count / 2]) / 2
        p99 = s[Swift.min(s.count - 1, Int((0.99 * Double(s.count)).rounded(.up)) - 1)]
        mean = Double(s.reduce(0, +)) / Double(s.count)
    }

    /// The statistics of a histogram (index = settle step).
    public init(histogram: [Int], unsettled: Int) {
        var steps: [Int] = []
        for (t, n) in histogram.enumerated() where n > 0 { steps += Array(repeating: t, count: n) }
        self.init(steps, unsettled: unsettled)
        self.histogram = histogram
    }
}

/// The JSON report of `spikify eval` (keys in snake_case; accuracies are fractions). Method-neutral: the
/// `reference` section describes the method's reference network; for SpikeZIP-TF, whose reference is the QANN,
/// the `qann` section and `snn.agreement_with_qann` repeat it under the names scripts already read.
public struct EvaluationReport: Codable, Sendable {
    public struct ANN: Codable, Sendable {
        public var accuracy: Double?
        public var secondsPerImage: Double
    }
    public struct QANN: Codable, Sendable {
        public var accuracy: Double?
        public var agreementWithANN: Double
    }
    public struct Reference: Codable, Sendable {
        public var name: String
        public var description: String
        public var accuracy: Double?
        public var agreementWithANN: Double
        public var secondsPerImage: Double
    }
    /// An intermediate network of a method's ladder (``ConvertedModel/stages``).
    public struct Stage: Codable, Sendable {
        public var name: String
        public var description: String
        public var accuracy: Double?
        public var agreementWithANN: Double
        public var secondsPerImage: Double
    }
    public struct SNN: Codable, Sendable {
        /// Timesteps t = 1…T; entry i describes the read-out output after `timesteps[i]` steps. Samples that
        /// went quiet earlier keep their settled output, so the last entry is each sample's settled state (or its
        /// state at T when it did not settle: see `settleSteps.unsettled`). `untilQuiet` records the CLI flag.
        public var timesteps: [Int]
        public var untilQuiet: Bool
        public var readout: String
        public var accuracy: [Double]?
        public var agreementWithANN: [Double] = []
        public var agreementWithReference: [Double] = []
        public var agreementWithQANN: [Double]?
        public var settleSteps = SettleStatistics([], unsettled: 0)
        /// Largest |SNN logit − reference logit| after the last step, over all samples.
        public var maxAbsLogitDifferenceToReference: Double = 0
        public var maxAbsLogitDifferenceToQANN: Double?
        public var secondsPerImage: Double = 0
        /// Mean number of steps a sample was simulated (until quiet, at most T).
        public var meanStepsRun: Double = 0
        /// Spikes over all sites at each step t = 1…T, summed over the data set.
        public var spikesPerStep: [Int] = []
        /// Spikes (Σ|k| over every site and step) and spike events (non-zero messages) per image: with burst
        /// spikes a message carries up to B spikes, so runs at different B compare on these, not on T alone
        /// (docs/latency.md). Absent in reports written before Spikify recorded them.
        public var spikesPerImage: Double?
        public var spikeEventsPerImage: Double?
        /// With `--exit-when`: the result had samples left early, next to running until quiet.
        public var earlyExit: EarlyExit?
    }
    /// Confidence-based early exit (``ExitPolicy``) against running until quiet (or T).
    public struct EarlyExit: Codable, Sendable {
        public var policy: String
        /// Accuracy and agreement of the predictions at exit.
        public var accuracy: Double?
        public var agreementWithANN: Double
        public var agreementWithReference: Double
        /// The same without early exit: each sample's prediction after its last step (settled when it went quiet).
        public var accuracyUntilQuiet: Double?
        public var agreementWithReferenceUntilQuiet: Double
        /// Mean steps run per sample with early exit and without, the mean saved, and the fraction that left early.
        public var meanSteps: Double
        public var meanStepsUntilQuiet: Double
        public var meanStepsSaved: Double
        public var exitedEarly: Double
    }
    public struct SiteStatistics: Codable, Sendable {
        public var site: String
        public var neurons: Int
        public var spikes: Int
        /// Spikes per neuron per simulated step (a sample is simulated until it is quiet, or for all steps).
        public var firingRate: Double
        /// Spikes per image, summed over the steps.
        public var spikesPerImage: Double
        /// Per step t = 1…T over the data set: spikes (Σ|k|), spike events (non-zero messages), largest |k|.
        public var spikesPerStep: [Int]
        public var eventsPerStep: [Int]
        public var maxSpikePerStep: [Int]
    }
    public struct SynapticLayer: Codable, Sendable {
        public var layer: String
        public var inputEvents: Int
        public var synapticOperations: Int
        public var fanOut: Int
        /// Non-zero input messages at each step t = 1…T, over the data set.
        public var eventsPerStep: [Int]
    }
    public struct Simulation: Codable, Sendable {
        public var inputCoding: String
        public var readout: String
        public var quiescenceIsFinal: Bool
        public var seed: UInt64
    }

    public var model: String
    public var method: String
    public var levels: Int?
    /// The largest spike per neuron and step (`--burst`; 1: single spikes). Absent in older reports.
    public var burst: Int?
    public var samples: Int
    public var dataset: String?
    public var spikifyVersion = SpikifyVersion.string
    public var blasCore = ""
    public var batchSize = 0
    public var config: ViTConfig?
    public var simulation: Simulation?
    public var ann = ANN(accuracy: nil, secondsPerImage: 0)
    public var reference: Reference
    /// The method's intermediate networks between the ANN and the reference, in order (nil when it has none).
    public var stages: [Stage]?
    public var qann: QANN?
    /// The method's settings as its converted state describes them (levels, mode, masking ratio, seed, …), sorted
    /// by name: what tells two reports of one model and method apart.
    public var methodSettings: [Setting]?
    public struct Setting: Codable, Sendable, Equatable {
        public var name: String
        public var value: String
    }
    public var snn: SNN
    public var sites: [SiteStatistics] = []
    public var synapticEvents: [SynapticLayer] = []
    /// The counts behind every figure above (present in shard reports, which `spikify merge` combines).
    public var accumulator: EvaluationAccumulator?

    /// Where a report's counts come from: merging checks that shards agree on all of it.
    public struct Provenance: Codable, Sendable, Equatable {
        /// SHA-256 of the model file evaluated (a converted file, or the checkpoint converted in memory).
        public var modelSha256: String
        /// Conversion options when the model was converted in memory (empty for a converted file).
        public var conversion: [String: String]
        public var dataset: String
        /// Images of the data set evaluated (after `--limit`): shards must cover `0..<datasetImages` once.
        public var datasetImages: Int
        public var timesteps: Int

        public init(modelSha256: String, conversion: [String: String], dataset: String, datasetImages: Int, timesteps: Int) {
            self.modelSha256 = modelSha256
            self.conversion = conversion
            self.dataset = dataset
            self.datasetImages = datasetImages
            self.timesteps = timesteps
        }
    }
    /// The slice a shard report covers.
    public struct Shard: Codable, Sendable, Equatable {
        public var index: Int
        public var count: Int
        public var start: Int
        public var end: Int

        public init(index: Int, count: Int, start: Int, end: Int) {
            self.index = index
            self.count = count
            self.start = start
            self.end = end
        }
    }

    public var provenance: Provenance?
    public var shard: Shard?

    /// The report of an accumulator's counts for a converted model.
    public init(_ a: EvaluationAccumulator, converted: ConvertedModel, reference r: ReferenceNetwork,
                untilQuiet: Bool, batchSize: Int, dataset: String?) {
        model = converted.model.source
        method = converted.method
        levels = converted.levels
        burst = converted.burst
        methodSettings = converted.state.description.sorted { $0.key < $1.key }.map { Setting(name: $0.key, value: $0.value) }
        samples = a.samples
        self.dataset = dataset
        blasCore = BLAS.coreName
        self.batchSize = batchSize
        config = converted.model.config
        let s = converted.graph.semantics
        simulation = Simulation(inputCoding: s.inputCoding.description, readout: s.readout.rawValue,
                                quiescenceIsFinal: s.quiescenceIsFinal, seed: s.seed)
        reference = Reference(name: r.name, description: r.description, accuracy: nil, agreementWithANN: 0,
                              secondsPerImage: 0)
        snn = SNN(timesteps: [], untilQuiet: untilQuiet, readout: s.readout.rawValue)
        let networks = converted.stages
        if !networks.isEmpty {
            stages = networks.map { Stage(name: $0.name, description: $0.description, accuracy: nil, agreementWithANN: 0,
                                          secondsPerImage: 0) }
        }
        fill(from: a)
    }

    /// Recomputes every count-derived field from `a`, keeping the descriptive ones (model, method, reference name,
    /// configuration, …): how a merged report is made from its first shard's.
    public mutating func fill(from a: EvaluationAccumulator) {
        let n = max(a.samples, 1), labelled = a.labelled > 0 && a.labelled == a.samples
        func fraction(_ x: Int) -> Double { Double(x) / Double(n) }
        samples = a.samples
        ann = ANN(accuracy: labelled ? fraction(a.annCorrect) : nil, secondsPerImage: a.annSeconds / Double(n))
        reference.accuracy = labelled ? fraction(a.referenceCorrect) : nil
        reference.agreementWithANN = fraction(a.referenceAgreesWithANN)
        reference.secondsPerImage = a.referenceSeconds / Double(n)
        if let counts = a.stages {
            stages = counts.map { c in
                Stage(name: c.name, description: stages?.first(where: { $0.name == c.name })?.description ?? "",
                      accuracy: labelled ? fraction(c.correct) : nil, agreementWithANN: fraction(c.agreesWithANN),
                      secondsPerImage: c.seconds / Double(n))
            }
        }
        var snn = SNN(timesteps: Array(1...max(a.timesteps, 1)), untilQuiet: self.snn.untilQuiet, readout: self.snn.readout)
        snn.accuracy = labelled ? a.snnCorrect.map(fraction) : nil
        snn.agreementWithANN = a.snnAgreesWithANN.map(fraction)
        snn.agreementWithReference = a.snnAgreesWithReference.map(fraction)
        snn.settleSteps = SettleStatistics(histogram: a.settleHistogram, unsettled: a.unsettled)
        snn.maxAbsLogitDifferenceToReference = a.maxAbsLogitDifferenceToReference
        snn.secondsPerImage = a.snnSeconds / Double(n)
        snn.meanStepsRun = Double(a.stepsSimulated) / Double(n)
        snn.spikesPerStep = (0..<a.timesteps).map { t in a.siteSpikes.reduce(0) { $0 + $1[t] } }
        snn.spikesPerImage = Double(a.siteSpikes.reduce(0) { $0 + $1.reduce(0, +) }) / Double(n)
        snn.spikeEventsPerImage = Double(a.siteEvents.reduce(0) { $0 + $1.reduce(0, +) }) / Double(n)
        if let e = a.earlyExit {
            snn.earlyExit = EarlyExit(
                policy: e.policy, accuracy: labelled ? fraction(e.correct) : nil,
                agreementWithANN: fraction(e.agreesWithANN), agreementWithReference: fraction(e.agreesWithReference),
                accuracyUntilQuiet: snn.accuracy?.last, agreementWithReferenceUntilQuiet: snn.agreementWithReference.last ?? 0,
                meanSteps: Double(e.steps) / Double(n), meanStepsUntilQuiet: snn.meanStepsRun,
                meanStepsSaved: Double(e.stepsSaved) / Double(n), exitedEarly: fraction(e.exitedEarly))
        }
        if reference.name == "qann" {  // the keys scripts read since Spikify 0.1
            qann = QANN(accuracy: reference.accuracy, agreementWithANN: reference.agreementWithANN)
            snn.agreementWithQANN = snn.agreementWithReference
            snn.maxAbsLogitDifferenceToQANN = snn.maxAbsLogitDifferenceToReference
        }
        self.snn = snn
        sites = a.sites.indices.map { i in
            let spikes = a.siteSpikes[i].reduce(0, +)
            return SiteStatistics(
                site: a.sites[i], neurons: a.neurons[i], spikes: spikes,
                firingRate: a.neuronSteps[i] == 0 ? 0 : Double(spikes) / Double(a.neuronSteps[i]),
                spikesPerImage: Double(spikes) / Double(n), spikesPerStep: a.siteSpikes[i],
                eventsPerStep: a.siteEvents[i], maxSpikePerStep: a.siteLargestSpike[i])
        }
        synapticEvents = a.layers.indices.sorted { a.layers[$0] < a.layers[$1] }.map { l in
            let events = a.layerEvents[l].reduce(0, +)
            return SynapticLayer(layer: a.layers[l], inputEvents: events, synapticOperations: events * a.fanOuts[l],
                                 fanOut: a.fanOuts[l], eventsPerStep: a.layerEvents[l])
        }
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// Reads a report written by ``write(to:)``.
    public static func read(_ path: String) throws -> EvaluationReport {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpikifyError.invalidArgument("cannot read report \(path)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { path in SnakeCaseKey(camelFromSnake: path.last!.stringValue) }
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return try decoder.decode(EvaluationReport.self, from: data) } catch {
            throw SpikifyError.invalidData(file: path, message: "not a Spikify evaluation report: \(error)")
        }
    }

    /// Writes the JSON atomically (temporary file, then rename).
    public func write(to path: String) throws {
        try AtomicFile.write(try json(), to: path)
    }

    /// The accuracy-vs-T table: selected t (powers of two and their midpoints, and T).
    public func table() -> String {
        let T = snn.timesteps.count
        var rows = Set([1, T])
        var p = 1
        while p <= T { rows.insert(p); if p + p / 2 <= T && p >= 2 { rows.insert(p + p / 2) }; p *= 2 }
        func pct(_ x: Double?) -> String { x.map { String(format: "%7.2f%%", 100 * $0) } ?? "      —" }
        let name = reference.name.uppercased()
        var lines = ["     t   SNN acc  agree ANN  agree \(name)"]
        for t in rows.sorted() {
            let i = t - 1
            lines.append(String(format: "%6d  %@   %@    %@", t, pct(snn.accuracy?[i]), pct(snn.agreementWithANN[i]),
                                pct(snn.agreementWithReference[i])))
        }
        lines.append(String(format: "   ANN  %@", pct(ann.accuracy)))
        for stage in stages ?? [] {
            let stageName = stage.name.uppercased()
            lines.append(String(repeating: " ", count: max(0, 6 - stageName.count)) + stageName
                + String(format: "  %@   %@", pct(stage.accuracy), pct(stage.agreementWithANN)))
        }
        let label = String(repeating: " ", count: max(0, 6 - name.count)) + name
        lines.append(label + String(format: "  %@   %@", pct(reference.accuracy), pct(reference.agreementWithANN)))
        return lines.joined(separator: "\n")
    }
}

/// Decodes the report's snake_case keys back to property names, with the acronyms the encoder lower-cased
/// (`agreement_with_ann` → `agreementWithANN`; Foundation's `.convertFromSnakeCase` would give `…WithAnn`).
private struct SnakeCaseKey: CodingKey {
    static let acronyms: Set<String> = ["ann", "qann", "snn"]
    var stringValue: String
    var intValue: Int? { nil }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }

    init(camelFromSnake key: String) {
        let parts = key.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { stringValue = key; return }
        stringValue = parts[0] + parts.dropFirst().map { p in
            Self.acronyms.contains(p) ? p.uppercased() : p.prefix(1).uppercased() + p.dropFirst()
        }.joined()
    }
}
