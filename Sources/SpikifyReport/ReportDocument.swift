import Foundation

/// The JSON report of `spikify eval --report`, as read by the HTML and Markdown renderers (README, "Converted
/// models and reports"). Keys are snake_case (decode with `ReportDocument.decode`). Every field is optional so
/// that reports written before a field existed still render: the renderers skip what is missing and say so.
/// Counts in `sites` and `synaptic_events` are totals over the data set and all steps; `samples` turns them
/// into per-image figures.
public struct ReportDocument: Decodable, Sendable {
    public struct ANN: Decodable, Sendable {
        public var accuracy: Double?
        public var secondsPerImage: Double?
    }
    public struct QANN: Decodable, Sendable {
        public var accuracy: Double?
        public var agreementWithAnn: Double?
    }
    /// The network the SNN should reproduce exactly (for SpikeZIP-TF: the QANN).
    public struct Reference: Decodable, Sendable {
        public var name: String?
        public var description: String?
        public var accuracy: Double?
        public var agreementWithAnn: Double?
        public var secondsPerImage: Double?
    }
    public struct SettleSteps: Decodable, Sendable {
        public var min: Int?
        public var median: Double?
        public var p99: Int?
        public var max: Int?
        public var mean: Double?
        public var unsettled: Int?
        /// Entry t: samples that settled after exactly t steps, t = 0…T.
        public var histogram: [Int]?
    }
    public struct SNN: Decodable, Sendable {
        public var timesteps: [Int]?
        public var untilQuiet: Bool?
        /// Fractions aligned with `timesteps`.
        public var accuracy: [Double]?
        public var agreementWithAnn: [Double]?
        public var agreementWithQann: [Double]?
        public var agreementWithReference: [Double]?
        public var settleSteps: SettleSteps?
        public var maxAbsLogitDifferenceToQann: Double?
        public var maxAbsLogitDifferenceToReference: Double?
        public var secondsPerImage: Double?
        public var meanStepsRun: Double?
        public var readout: String?
        /// Total spikes at each step over the data set.
        public var spikesPerStep: [Double]?
    }
    public struct Site: Decodable, Sendable {
        public var site: String
        public var neurons: Int?
        public var spikes: Double?
        public var firingRate: Double?
        public var spikesPerImage: Double?
        public var spikesPerStep: [Double]?
        /// Non-zero spike messages per step.
        public var eventsPerStep: [Double]?
        /// Largest |spike| any neuron of the site emitted at each step (1 for single spikes).
        public var maxSpikePerStep: [Double]?
    }
    public struct SynapticLayer: Decodable, Sendable {
        public var layer: String
        /// Non-zero input messages, over the data set and all steps.
        public var inputEvents: Double?
        /// `input_events × fan_out`.
        public var synapticOperations: Double?
        public var fanOut: Int?
        public var eventsPerStep: [Double]?
    }
    public struct Config: Decodable, Sendable {
        public var imageSize: Int?
        public var patchSize: Int?
        public var channels: Int?
        public var embedDim: Int?
        public var depth: Int?
        public var numHeads: Int?
        public var mlpDim: Int?
        public var numClasses: Int?
        public var classToken: Bool?
        public var globalPool: String?
        public var activation: String?
        public var layerNormEps: Double?
        public var mean: [Double]?
        public var std: [Double]?
        public var levels: Int?
    }
    public struct Simulation: Decodable, Sendable {
        public var inputCoding: String?
        public var readout: String?
        public var quiescenceIsFinal: Bool?
        public var seed: Int?
    }

    public var model: String?
    public var method: String?
    public var levels: Int?
    /// The largest spike per neuron and step (`eval --burst`; absent in older reports: 1). docs/latency.md.
    public var burst: Int?
    public var samples: Int?
    public var spikifyVersion: String?
    public var blasCore: String?
    public var batchSize: Int?
    public var ann: ANN?
    public var qann: QANN?
    public var reference: Reference?
    /// A method's intermediate networks between the ANN and the reference (same fields as ``Reference``).
    public var stages: [Reference]?
    /// The method's settings (`method_settings`: name and value pairs, e.g. `mode`, `masking_ratio`).
    public var methodSettings: [Setting]?
    public struct Setting: Decodable, Sendable {
        public var name: String?
        public var value: String?
    }
    public var snn: SNN?
    public var sites: [Site]?
    public var synapticEvents: [SynapticLayer]?
    public var config: Config?
    public var simulation: Simulation?
    public var dataset: String?
    public var command: String?

    /// Decodes a report from JSON with snake_case keys.
    public static func decode(from data: Data) throws -> ReportDocument {
        try decoder().decode(ReportDocument.self, from: data)
    }

    /// The decoder of report JSON: snake_case keys, and the strings `inf`, `-inf` and `nan` that
    /// `EvaluationReport` writes for non-finite numbers.
    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// Reads and decodes the report at `path`; throws `ReportReadError` naming the file and the key.
    public static func load(path: String) throws -> ReportDocument {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ReportReadError(path: path, message: "cannot read the file (\(error.localizedDescription))")
        }
        do {
            return try decode(from: data)
        } catch {
            throw ReportReadError(path: path, message: ReportReadError.message(for: error))
        }
    }

    /// A short name for legends and headings: model, method, levels and burst spikes when B > 1, e.g.
    /// `vit-mnist · spikezip · L=16 · B=4` (the curves of a `--burst` sweep differ in B only).
    public var title: String {
        var parts = [model.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "report"]
        if let method { parts.append(method) }
        if let levels { parts.append("L=\(levels)") }
        if let burst, burst > 1 { parts.append("B=\(burst)") }
        return parts.joined(separator: " · ")
    }

    /// The name of the reference network: `reference.name`, or `QANN` for reports that predate the field.
    public var referenceName: String { reference?.name.map { $0.uppercased() } ?? "QANN" }
    /// The reference's accuracy (the QANN's in older reports).
    public var referenceAccuracy: Double? { reference?.accuracy ?? qann?.accuracy }
    /// The SNN's agreement with the reference after each step (with the QANN in older reports).
    public var agreementWithReference: [Double]? { snn?.agreementWithReference ?? snn?.agreementWithQann }
    /// The largest |SNN − reference| logit difference after the last step.
    public var maxLogitDifferenceToReference: Double? {
        snn?.maxAbsLogitDifferenceToReference ?? snn?.maxAbsLogitDifferenceToQann
    }
    /// The timesteps 1…T; `1…n` when a report lists per-step values without them.
    public var timesteps: [Int] {
        if let t = snn?.timesteps, !t.isEmpty { return t }
        let n = [snn?.accuracy?.count, snn?.agreementWithAnn?.count, agreementWithReference?.count]
            .compactMap { $0 }.max() ?? 0
        return n > 0 ? Array(1...n) : []
    }
    /// Largest |spike| over all sites at each step; `nil` when no site reports it.
    public var spikeAlphabetPerStep: [Double]? {
        let perSite = (sites ?? []).compactMap(\.maxSpikePerStep)
        guard let longest = perSite.map(\.count).max(), longest > 0 else { return nil }
        return (0..<longest).map { t in perSite.compactMap { $0.indices.contains(t) ? $0[t] : nil }.max() ?? 0 }
    }
}
