import Foundation
import SpikifyConversion
import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// What `spikify inspect` reports about a model.
public struct ModelSummary: Codable, Sendable {
    public var file: String
    public var layout: String
    public var config: ViTConfig
    public var parameters: Int
    public var tokens: Int
    /// Sites with quantizer step sizes in the file (a QANN checkpoint), in graph order.
    public var quantizerSteps: Int
    /// QCFS thresholds in the file (an MST-trained checkpoint) or in the converted model's MST state.
    public var qcfsThresholds = 0
    /// For a converted model: its description (method, levels, source, …), operators and neurons per image.
    public var converted: [String: String]?
    public var operators: Int?
    public var neuronSites: Int?
    public var neuronsPerImage: Int?

    public init(model: ViTModel, layout: WeightLayout) {
        file = model.source
        self.layout = layout.rawValue
        config = model.config
        parameters = model.weights.parameterCount
        tokens = model.config.tokenCount
        quantizerSteps = model.weights.stepSizes.count
        qcfsThresholds = model.weights.qcfsThresholds.count
    }

    public init(converted c: ConvertedModel) {
        file = c.model.source
        layout = "spikify-snn"
        config = c.model.config
        parameters = c.model.weights.parameterCount
        tokens = c.model.config.tokenCount
        quantizerSteps = c.plan?.quantizers.count ?? 0
        qcfsThresholds = c.qcfsThresholds?.count ?? 0
        converted = c.graph.metadata.filter { $0.key != "file" }.merging(c.methodDescription) { file, _ in file }
        converted?["simulation"] = "input \(c.graph.semantics.inputCoding.description), readout "
            + "\(c.graph.semantics.readout.rawValue), quiescence \(c.graph.semantics.quiescenceIsFinal ? "final" : "not final")"
        converted?["reference"] = c.reference.description
        operators = c.graph.nodes.count
        neuronSites = c.graph.neuronSites.count
        neuronsPerImage = c.graph.neuronSites.reduce(0) { $0 + $1.neurons }
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // With non-finite numbers written as strings, encoding these plain values cannot fail.
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"

    }

    public var text: String {
        let c = config
        var lines = [
            "file          \(file)",
            "layout        \(layout)",
            "image         \(c.imageSize)×\(c.imageSize)×\(c.channels), patch \(c.patchSize) → \(c.patchCount) patches, \(tokens) tokens",
            "width         \(c.embedDim), depth \(c.depth), heads \(c.numHeads) (head dim \(c.headDim)), MLP \(c.mlpDim) \(c.activation.rawValue)",
            "class token   \(c.classToken ? "yes" : "no"), pooling \(c.globalPool.rawValue)",
            "classes       \(c.numClasses)",
            "LayerNorm eps \(c.layerNormEps)",
            "mean / std    \(c.mean) / \(c.std)",
            "parameters    \(parameters)",
        ]
        if let bn = c.blockBatchNorm {
            lines.append("block norms   BatchNorm (running statistics, eps \(bn.eps)); final norm LayerNorm")
        }
        if qcfsThresholds > 0 {
            lines.append("QCFS          \(qcfsThresholds) thresholds λ, levels \(c.levels.map(String.init) ?? "not declared")")
        }
        if quantizerSteps > 0 {
            lines.append("QANN          \(quantizerSteps) quantizer step sizes, levels \(c.levels.map(String.init) ?? "not declared")")
        }
        if let converted, let operators, let neuronSites, let neuronsPerImage {
            lines.append("spiking       \(converted["method"] ?? "?"), \(operators) operators, \(neuronSites) neuron sites, "
                + "\(neuronsPerImage) neurons per image")
            for key in converted.keys.sorted() where key != "method" {
                lines.append("  \(key.padding(toLength: 18, withPad: " ", startingAt: 0)) \(converted[key]!)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
