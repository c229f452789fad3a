import Foundation

/// What `spikify inspect` reports about a model.
public struct ModelSummary: Codable, Sendable {
    public var file: String
    public var layout: String
    public var config: ViTConfig
    public var parameters: Int
    public var tokens: Int
    /// Sites with quantizer step sizes in the file (a QANN checkpoint), in graph order.
    public var quantizerSteps: Int

    public init(model: ViTModel, layout: WeightLayout) {
        file = model.source
        self.layout = layout.rawValue
        config = model.config
        parameters = model.weights.parameterCount
        tokens = model.config.tokenCount
        quantizerSteps = model.weights.stepSizes.count
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
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
        if quantizerSteps > 0 {
            lines.append("QANN          \(quantizerSteps) quantizer step sizes, levels \(c.levels.map(String.init) ?? "not declared")")
        }
        return lines.joined(separator: "\n")
    }
}
