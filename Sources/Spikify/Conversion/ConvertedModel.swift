/// The result of a conversion: the source ANN, the quantized network the SNN is built to reproduce (quantizers
/// at activation sites), and the spiking graph. Evaluation and export work on this alone, whatever the method.
public struct ConvertedModel: Sendable {
    public var model: ViTModel
    public var plan: QuantizationPlan
    public var graph: SpikingGraph
    public var method: String { graph.metadata["method"] ?? "unknown" }

    public init(model: ViTModel, plan: QuantizationPlan, graph: SpikingGraph) {
        self.model = model
        self.plan = plan
        self.graph = graph
    }
}

/// Where a conversion takes its quantizer step sizes from.
public enum StepSource: Sendable, Equatable {
    /// The checkpoint's own step sizes (a SpikeZIP-TF QANN); levels from the file or the options.
    case checkpoint
    /// Training-free calibration on images.
    case calibrate(CalibrationMethod, CalibrationOrder = .sequential)
}

/// Options shared by conversion methods.
public struct ConversionOptions: Sendable {
    public var levels: Int?
    public var steps: StepSource
    public var calibrationImages: Tensor?
    public var batchSize: Int
    /// Extra metadata recorded in the converted model (source SHA-256, say).
    public var metadata: [String: String]

    public init(levels: Int? = nil, steps: StepSource = .checkpoint, calibrationImages: Tensor? = nil,
                batchSize: Int = 32, metadata: [String: String] = [:]) {
        self.levels = levels
        self.steps = steps
        self.calibrationImages = calibrationImages
        self.batchSize = batchSize
        self.metadata = metadata
    }
}

/// The conversion methods Spikify knows, by name (the one place that maps a method name to code).
public enum ConversionMethods {
    public static let names = ["spikezip"]

    public static func convert(
        _ model: ViTModel, method: String, options: ConversionOptions, progress: ((Int, Int) -> Void)? = nil
    ) throws -> ConvertedModel {
        switch method {
        case "spikezip": return try SpikeZIPConversion.convert(model, options: options, progress: progress)
        default:
            throw SpikifyError.invalidArgument("unknown conversion method '\(method)'; available: \(names.joined(separator: ", "))")
        }
    }
}
