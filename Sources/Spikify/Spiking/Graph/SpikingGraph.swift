/// A value flowing between spiking operators: per sample a `[rows, width]` block of increments per timestep.
public struct ValueInfo: Codable, Sendable, Equatable {
    public var name: String
    public var rows: Int
    public var width: Int
    public init(name: String, rows: Int, width: Int) {
        self.name = name
        self.rows = rows
        self.width = width
    }
    public var perSample: Int { rows * width }
}

/// The spiking operators a conversion method can instantiate. Every operator consumes and produces *increments*
/// (the change at the current timestep); summed over time they give the quantized ANN's values.
/// Inputs and outputs are indices into ``SpikingGraph/values``; parameters name tensors in ``SpikingGraph/tensors``.
public enum SpikingOp: Codable, Sendable, Equatable {
    /// Analog image `[C, H·W]` → patch rows `[P, C·p·p]` (im2col). Images enter at t = 0 only (analog coding).
    case patchify(input: Int, output: Int, channels: Int, imageSize: Int, patch: Int)
    /// `y_t = W·x_t`, plus the bias once at t = 0 (SpikeZIP-TF `LLLinear`, spikezip.md §3).
    case linear(input: Int, output: Int, weight: String, bias: String?)
    /// ST-BIF+ neurons (spikezip.md §1): threshold θ, count bounds `[lower, upper]`, membrane starting at θ/2.
    case stbif(input: Int, output: Int, site: String, threshold: Float, lower: Int, upper: Int)
    /// Prepends the class token and adds the position embedding, once at t = 0.
    case embedTokens(input: Int, output: Int, classToken: String?, position: String)
    /// Elementwise sum (residual connection).
    case add(lhs: Int, rhs: Int, output: Int)
    /// Spike-LayerNorm: `LN(X̂_t) − LN(X̂_{t−1})` on the accumulated input, per row (spikezip.md §3).
    case layerNormDiff(input: Int, output: Int, weight: String, bias: String, eps: Float)
    /// Spike-Softmax: `softmax(Â_t) − softmax(Â_{t−1})` along rows.
    case softmaxDiff(input: Int, output: Int)
    /// Differential activation `f(X̂_t) − f(X̂_{t−1})` (Spikify's GELU extension of SpikeZIP-TF).
    case activationDiff(input: Int, output: Int, activation: Activation)
    /// SESA `Q·Kᵀ` on increments: `Δ_t = scale·(Q̂_t k_tᵀ + q_t K̂_{t−1}ᵀ)` per head; q, k `[N, D]` with heads as
    /// column blocks; output `[heads·N, N]`.
    case spikeScores(q: Int, k: Int, output: Int, heads: Int, scale: Float)
    /// SESA `A·V` on increments: `Δ_t = Â_t v_t + a_t V̂_{t−1}` per head; output `[N, D]`.
    case spikeWeightedValues(attn: Int, v: Int, output: Int, heads: Int)
    /// Row `index` of the input.
    case selectToken(input: Int, output: Int, index: Int)
    /// Mean of rows `from..<rows`.
    case meanTokens(input: Int, output: Int, from: Int)
}

/// A converted network: values, operators in execution order, parameter tensors, and a description.
/// Produced by a conversion method, run by ``SpikingExecutor``, written by ``ConvertedModelFile``.
public struct SpikingGraph: Sendable, Equatable {
    public var values: [ValueInfo]
    public var ops: [SpikingOp]
    /// The analog image input, `[channels, height·width]` per sample.
    public var input: Int
    /// The output whose increments are summed over time into logits (`[1, classes]`).
    public var output: Int
    public var tensors: [String: Tensor]
    /// Free-form description: method, levels, source model, its SHA-256, and so on.
    public var metadata: [String: String]
    /// The configuration of the source model (image size, normalisation, classes).
    public var config: ViTConfig

    public init(values: [ValueInfo], ops: [SpikingOp], input: Int, output: Int, tensors: [String: Tensor],
                metadata: [String: String], config: ViTConfig) {
        self.values = values
        self.ops = ops
        self.input = input
        self.output = output
        self.tensors = tensors
        self.metadata = metadata
        self.config = config
    }

    /// Neuron sites in execution order with their neuron count per sample.
    public var neuronSites: [(site: String, neurons: Int)] {
        ops.compactMap {
            if case .stbif(let input, _, let site, _, _, _) = $0 { return (site, values[input].perSample) }
            return nil
        }
    }
}

/// Builds a graph value by value (used by conversion methods).
public struct SpikingGraphBuilder {
    public private(set) var values: [ValueInfo] = []
    public private(set) var ops: [SpikingOp] = []
    public private(set) var tensors: [String: Tensor] = [:]

    public init() {}

    public mutating func value(_ name: String, rows: Int, width: Int) -> Int {
        values.append(ValueInfo(name: name, rows: rows, width: width))
        return values.count - 1
    }

    public mutating func tensor(_ name: String, _ scalars: [Float], shape: [Int]) -> String {
        tensors[name] = Tensor(shape: shape, scalars: scalars)
        return name
    }

    public mutating func append(_ op: SpikingOp) { ops.append(op) }

    public func info(_ v: Int) -> ValueInfo { values[v] }
}
