import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// The operator kinds SpikeZIP-TF registers (You et al., ICML 2024; docs/methods/spikezip.md). Kind strings
/// are stable: they are saved in converted files.
enum SpikeZIPOperators {
    static let specs: [AnyOperatorSpec] = [
        AnyOperatorSpec(STBIFSpec.self), AnyOperatorSpec(LayerNormDiffSpec.self), AnyOperatorSpec(SoftmaxDiffSpec.self),
        AnyOperatorSpec(ActivationDiffSpec.self), AnyOperatorSpec(SpikeScoresSpec.self),
        AnyOperatorSpec(SpikeWeightedValuesSpec.self),
    ]
}

/// Counts stay exactly representable in Float (|count| ≤ 2²⁴) and in the neuron's Int32 state.
private let countLimit = 1 << 24

/// Requires the output to have the input's shape.
private func sameShape(_ n: NodeContext) throws {
    try n.arity(inputs: 1)
    try n.expect(n.output(), rows: n.input(0).rows, width: n.input(0).width, "output")
}

/// `spikezip.stbif`: ST-BIF+ neurons; attributes `threshold` θ > 0, count bounds `lower` ≤ 0 ≤ `upper`, and
/// optionally `burst` B, the largest spike per step (1 ≤ B ≤ upper − lower + 1, the number of levels; absent: 1,
/// files written before burst spikes); a site.
enum STBIFSpec: TotalOperatorSpec {
    static let kind = "spikezip.stbif"
    /// Its neurons count their events (a linear layer it feeds takes the count instead of reading increments).
    static var countsOutputEvents: Bool { true }
    /// It reads its input only where it changed (it keeps the settle levels, ``STBIFLayer``), and it recovers its
    /// counts from its output totals.
    static var readsChangedInputRowsOnly: Bool { true }
    static var writesOutputTotalsAfresh: Bool { false }
    /// Its output totals are counts S·θ: int8 where the bounds fit (−128…127: signed quantizers up to 256 levels,
    /// unsigned up to 128), and the layer writes them there; at up to 16 levels each count shares its byte with the
    /// neuron's settle level (``STBIFLayer``).
    static func countedOutput(_ p: Parameters) -> CountedOutput? {
        p.lower >= Int(Int8.min) && p.upper <= Int(Int8.max)
            ? CountedOutput(unit: p.threshold, levels: p.lower...p.upper, sharesBytesWithProducer: true) : nil
    }
    struct Parameters { let site: String, threshold: Float, lower: Int, upper: Int, burst: Int }

    static func parameters(_ n: NodeContext) throws -> Parameters {
        try sameShape(n)
        guard let site = n.node.site else { throw n.fail("has no neuron site") }
        let theta = try n.float("threshold", positive: true)
        let lower = try n.int("lower", in: -countLimit...0), upper = try n.int("upper", in: 0...countLimit)
        guard lower < upper else { throw n.fail("count bounds [\(lower), \(upper)] are empty") }
        let burst = n.node.attributes["burst"] == nil ? 1 : try n.int("burst", in: 1...(upper - lower + 1))
        return Parameters(site: site, threshold: theta, lower: lower, upper: upper, burst: burst)
    }

    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        STBIFLayer(site: p.site, input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]),
                   threshold: p.threshold, lower: p.lower, upper: p.upper, burst: p.burst, batch: r.capacity)
    }
}

/// `spikezip.layer_norm`: Spike-LayerNorm on totals; tensors `weight`, `bias` `[width]`, attribute `eps` > 0.
enum LayerNormDiffSpec: TotalOperatorSpec {
    static let kind = "spikezip.layer_norm"
    static var countsOutputEvents: Bool { true }
    static var readsChangedInputRowsOnly: Bool { true }  // (RowDifferentialOperator)
    struct Parameters { let gamma: Tensor, beta: Tensor, eps: Float }

    static func parameters(_ n: NodeContext) throws -> Parameters {
        try sameShape(n)
        let w = n.input(0).width
        return Parameters(gamma: try n.tensor("weight", shape: [w]), beta: try n.tensor("bias", shape: [w]),
                          eps: try n.float("eps", positive: true))
    }

    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        LayerNormDiffOperator(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), gamma: p.gamma,
                              beta: p.beta, eps: p.eps)
    }
}

/// `spikezip.softmax`: Spike-Softmax along rows.
enum SoftmaxDiffSpec: TotalOperatorSpec {
    static let kind = "spikezip.softmax"
    static var readsCountedInputs: Bool { true }
    static var countsOutputEvents: Bool { true }
    static var readsChangedInputRowsOnly: Bool { true }  // (RowDifferentialOperator)
    static func parameters(_ n: NodeContext) throws { try sameShape(n) }
    static func instantiate(_ p: Void, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        SoftmaxDiffOperator(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]))
    }
}

/// `spikezip.activation`: differential GELU or ReLU; attribute `activation`.
enum ActivationDiffSpec: TotalOperatorSpec {
    static let kind = "spikezip.activation"
    static var readsCountedInputs: Bool { true }
    static var countsOutputEvents: Bool { true }
    static var readsChangedInputRowsOnly: Bool { true }  // (RowDifferentialOperator)
    static func parameters(_ n: NodeContext) throws -> Activation {
        try sameShape(n)
        let name = try n.string("activation")
        guard let a = Activation(rawValue: name) else {
            throw n.fail("activation '\(name)' is not one of \(Activation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return a
    }
    /// GELU or ReLU element by element, with the operator's kernels (over the counts of an ST-BIF+ layer the GELU
    /// is then a table, ``OperatorSpec/elementwiseFunction(_:)``).
    static func elementwiseFunction(_ a: Activation) -> ElementwiseFunction? {
        switch a {
        case .gelu: { Kernels.gelu($0, count: $1) }
        case .relu: { Kernels.relu($0, count: $1) }
        }
    }
    static func instantiate(_ a: Activation, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        ActivationDiffOperator(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), activation: a)
    }
}

/// Checks `heads` against a token-major value `[N, D]`: 1 ≤ heads ≤ D and heads divides D.
private func heads(_ n: NodeContext, width d: Int) throws -> Int {
    let h = try n.int("heads", in: 1...d)
    guard d % h == 0 else { throw n.fail("heads \(h) does not divide the width \(d)") }
    return h
}

/// `spikezip.attention_scores`: SESA `scale·Q̂·K̂ᵀ`; inputs q, k `[N, D]`, output `[heads·N, N]`.
enum SpikeScoresSpec: TotalOperatorSpec {
    static let kind = "spikezip.attention_scores"
    static var readsCountedInputs: Bool { true }
    struct Parameters { let heads: Int, scale: Float }

    static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 2)
        let q = n.input(0), rows = q.rows
        try n.expect(n.input(1), rows: q.rows, width: q.width, "k")
        let h = try heads(n, width: q.width)
        try n.expect(n.output(), rows: h * rows, width: rows, "output")
        return Parameters(heads: h, scale: try n.float("scale"))
    }

    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        SpikeScoresOperator(q: r.slot(n.node.inputs[0]), k: r.slot(n.node.inputs[1]), output: r.slot(n.node.outputs[0]),
                            heads: p.heads, scale: p.scale, batch: r.capacity, scratch: r.scratch)
    }
}

/// `spikezip.attention_values`: SESA `Â·V̂`; inputs attention `[heads·N, N]`, v `[N, D]`, output `[N, D]`.
enum SpikeWeightedValuesSpec: TotalOperatorSpec {
    static let kind = "spikezip.attention_values"
    static var readsCountedInputs: Bool { true }

    static func parameters(_ n: NodeContext) throws -> Int {
        try n.arity(inputs: 2)
        let v = n.input(1)
        let h = try heads(n, width: v.width)
        try n.expect(n.input(0), rows: h * v.rows, width: v.rows, "attention")
        try n.expect(n.output(), rows: v.rows, width: v.width, "output")
        return h
    }

    static func instantiate(_ h: Int, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        SpikeWeightedValuesOperator(a: r.slot(n.node.inputs[0]), b: r.slot(n.node.inputs[1]),
                                    output: r.slot(n.node.outputs[0]), heads: h, batch: r.capacity,
                                    scratch: r.scratch)
    }
}
