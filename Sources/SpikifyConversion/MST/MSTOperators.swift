import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// The operator kinds MST registers (Wang et al., ICCV 2023, §3.2; docs/methods/mst.md). All of them act on each
/// step's values (increments). Kind strings are stable: they are saved in converted files.
enum MSTOperators {
    static let specs: [AnyOperatorSpec] = [
        AnyOperatorSpec(IntegrateFireSpec.self), AnyOperatorSpec(StepPatchifySpec.self),
        AnyOperatorSpec(StepLinearSpec.self), AnyOperatorSpec(StepEmbedTokensSpec.self),
        AnyOperatorSpec(StepAddSpec.self), AnyOperatorSpec(StepBatchNormSpec.self),
        AnyOperatorSpec(StepLayerNormSpec.self), AnyOperatorSpec(StepSoftmaxSpec.self),
        AnyOperatorSpec(StepGELUSpec.self), AnyOperatorSpec(StepScoresSpec.self),
        AnyOperatorSpec(StepWeightedValuesSpec.self), AnyOperatorSpec(StepPoolSpec.self),
    ]
}

/// Largest image side, patch and channel count a graph may declare.
private let sizeLimit = 1 << 16

/// Requires one input and an output of the input's shape.
private func sameShape(_ n: NodeContext) throws {
    try n.arity(inputs: 1)
    try n.expect(n.output(), rows: n.input(0).rows, width: n.input(0).width, "output")
}

/// The `input` attribute of a nonlinearity: `instantaneous` or `running_mean`.
private func nonlinearityInput(_ n: NodeContext) throws -> NonlinearityInput {
    let name = try n.string("input")
    guard let mode = NonlinearityInput(rawValue: name) else {
        throw n.fail("attribute 'input' is '\(name)'; expected instantaneous, running_mean or running_mean_corrected")
    }
    return mode
}

/// The `heads` attribute, dividing `width`.
private func heads(_ n: NodeContext, width: Int) throws -> Int {
    let h = try n.int("heads", in: 1...max(1, width))
    guard width % h == 0 else { throw n.fail("\(h) heads do not divide the width \(width)") }
    return h
}

/// Per-channel vectors must be finite (the validation of a loaded file cannot assume the importer ran).
private func finite(_ n: NodeContext, _ t: Tensor, _ role: String) throws {
    if t.scalars.contains(where: { !$0.isFinite }) { throw n.fail("tensor '\(role)' holds a non-finite value") }
}

/// `mst.if`: integrate-and-fire neurons (reset by subtraction, membrane precharged to θ/2); attributes `threshold`
/// θ > 0, `signed` (bool), `keep` ∈ (0, 1] (the random spike mask's keep probability, 1 − masking ratio); a site.
enum IntegrateFireSpec: OperatorSpec {
    static let kind = "mst.if"
    struct Parameters { let site: String, threshold: Float, signed: Bool, keep: Float }

    static func parameters(_ n: NodeContext) throws -> Parameters {
        try sameShape(n)
        guard let site = n.node.site else { throw n.fail("has no neuron site") }
        let theta = try n.float("threshold", positive: true)
        guard case .bool(let signed)? = n.node.attributes["signed"] else { throw n.fail("has no boolean attribute 'signed'") }
        let keep = try n.float("keep", positive: true)
        guard keep <= 1 else { throw n.fail("attribute 'keep' is \(keep); expected a probability in (0, 1]") }
        return Parameters(site: site, threshold: theta, signed: signed, keep: keep)
    }

    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        IntegrateFireLayer(site: p.site, input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]),
                           threshold: p.threshold, signed: p.signed, keep: p.keep, stream: n.randomStream,
                           batch: r.capacity)
    }
}

/// `mst.patchify`: this step's image `[C, H·W]` → patch rows `[P, C·p·p]`; attributes `channels`, `image_size`,
/// `patch`.
enum StepPatchifySpec: OperatorSpec {
    static let kind = "mst.patchify"
    struct Parameters { let channels, imageSize, patch: Int }

    static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 1)
        let c = try n.int("channels", in: 1...sizeLimit), size = try n.int("image_size", in: 1...sizeLimit)
        let p = try n.int("patch", in: 1...size)
        guard size % p == 0 else { throw n.fail("image_size \(size) is not a multiple of patch \(p)") }
        try n.expect(n.input(0), rows: c, width: size * size, "input")
        try n.expect(n.output(), rows: (size / p) * (size / p), width: c * p * p, "output")
        return Parameters(channels: c, imageSize: size, patch: p)
    }

    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        StepPatchifyLayer(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), channels: p.channels,
                          imageSize: p.imageSize, patch: p.patch)
    }
}

/// `mst.linear`: `y_t = W·x_t + b` on every step; tensors `weight` `[out, in]`, optional `bias` `[out]`.
extension SpikingGraphBuilder {
    /// Adds a `mst.linear` node on `value` for the layer `name` with its registered weight and optional bias (MST
    /// and STA graphs both build their per-step linear layers this way).
    mutating func addStepLinear(_ value: Int, _ name: String, out width: Int, weight: String, bias: String?) -> Int {
        var roles = ["weight": weight]
        if let bias { roles["bias"] = bias }
        return add(StepLinearSpec.kind, [value], output: name + ".out", rows: info(value).rows, width: width,
                   tensors: roles)
    }
}

enum StepLinearSpec: OperatorSpec {
    static let kind = "mst.linear"
    struct Parameters { let weight: Tensor, bias: Tensor?, name: String }

    static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 1)
        let x = n.input(0), y = n.output()
        try n.expect(y, rows: x.rows, width: y.width, "output")
        let w = try n.tensor("weight", shape: [y.width, x.width])
        let b = try n.optionalTensor("bias", shape: [y.width])
        return Parameters(weight: w, bias: b, name: n.node.tensors["weight"] ?? "")
    }

    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        StepLinearLayer(layer: p.name, input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]),
                        weight: p.weight, bias: p.bias)
    }
}

/// `mst.embed_tokens`: prepends `class_token` `[D]` (optional) and adds `position` `[N, D]` on every step.
enum StepEmbedTokensSpec: OperatorSpec {
    static let kind = "mst.embed_tokens"
    struct Parameters { let classToken: Tensor?, position: Tensor }

    static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 1)
        let x = n.input(0), y = n.output()
        let cls = try n.optionalTensor("class_token", shape: [x.width])
        try n.expect(y, rows: x.rows + (cls == nil ? 0 : 1), width: x.width, "output")
        return Parameters(classToken: cls, position: try n.tensor("position", shape: [y.rows, y.width]))
    }

    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        StepEmbedTokensLayer(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]),
                             classToken: p.classToken, position: p.position)
    }
}

/// `mst.add`: `y_t = a_t + b_t`, all three of one shape.
enum StepAddSpec: OperatorSpec {
    static let kind = "mst.add"
    static func parameters(_ n: NodeContext) throws {
        try n.arity(inputs: 2)
        let y = n.output()
        try n.expect(n.input(0), rows: y.rows, width: y.width, "left input")
        try n.expect(n.input(1), rows: y.rows, width: y.width, "right input")
    }

    static func instantiate(_ p: Void, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        StepAddLayer(lhs: r.slot(n.node.inputs[0]), rhs: r.slot(n.node.inputs[1]), output: r.slot(n.node.outputs[0]))
    }
}

/// `mst.batch_norm`: BatchNorm with running statistics on every step; tensors `weight`, `bias`, `running_mean`,
/// `running_var` (≥ 0) `[width]`, attribute `eps` > 0.
enum StepBatchNormSpec: OperatorSpec {
    static let kind = "mst.batch_norm"
    struct Parameters { let scale: [Float], shift: [Float] }

    static func parameters(_ n: NodeContext) throws -> Parameters {
        try sameShape(n)
        let w = n.input(0).width
        let gamma = try n.tensor("weight", shape: [w]), beta = try n.tensor("bias", shape: [w])
        let mean = try n.tensor("running_mean", shape: [w]), variance = try n.tensor("running_var", shape: [w])
        for (t, role) in [(gamma, "weight"), (beta, "bias"), (mean, "running_mean"), (variance, "running_var")] {
            try finite(n, t, role)
        }
        if variance.scalars.contains(where: { $0 < 0 }) { throw n.fail("tensor 'running_var' holds a negative variance") }
        let eps = try n.float("eps", positive: true)
        // The ANN's arithmetic (PreparedBlock): scale = γ/√(σ² + eps), shift = β − μ·scale.
        let scale = (0..<w).map { gamma.scalars[$0] / (variance.scalars[$0] + eps).squareRoot() }
        let shift = (0..<w).map { beta.scalars[$0] - mean.scalars[$0] * scale[$0] }
        return Parameters(scale: scale, shift: shift)
    }

    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        StepBatchNormLayer(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), scale: p.scale,
                           shift: p.shift)
    }
}

/// `mst.layer_norm`: LayerNorm of each row; tensors `weight`, `bias` `[width]`, attributes `eps` > 0 and `input`.
enum StepLayerNormSpec: OperatorSpec {
    static let kind = "mst.layer_norm"
    struct Parameters { let gamma: Tensor, beta: Tensor, eps: Float, mode: NonlinearityInput }

    static func parameters(_ n: NodeContext) throws -> Parameters {
        try sameShape(n)
        let w = n.input(0).width
        let gamma = try n.tensor("weight", shape: [w]), beta = try n.tensor("bias", shape: [w])
        try finite(n, gamma, "weight")
        try finite(n, beta, "bias")
        return Parameters(gamma: gamma, beta: beta, eps: try n.float("eps", positive: true), mode: try nonlinearityInput(n))
    }

    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        StepLayerNormLayer(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), gamma: p.gamma,
                           beta: p.beta, eps: p.eps, mode: p.mode, batch: r.capacity)
    }
}

/// `mst.softmax`: row softmax of scores `[H·N, N]`; attribute `input`.
enum StepSoftmaxSpec: OperatorSpec {
    static let kind = "mst.softmax"
    static func parameters(_ n: NodeContext) throws -> NonlinearityInput {
        try sameShape(n)
        return try nonlinearityInput(n)
    }

    static func instantiate(_ p: NonlinearityInput, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        StepSoftmaxLayer(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), mode: p)
    }
}

/// `mst.gelu`: exact GELU of each element; attribute `input`.
enum StepGELUSpec: OperatorSpec {
    static let kind = "mst.gelu"
    static func parameters(_ n: NodeContext) throws -> NonlinearityInput {
        try sameShape(n)
        return try nonlinearityInput(n)
    }

    static func instantiate(_ p: NonlinearityInput, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        StepGELULayer(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), mode: p)
    }
}

/// `mst.scores`: per head `scale·Q_t·K_tᵀ`; inputs Q, K `[N, D]`, output `[heads·N, N]`; attributes `heads`
/// (dividing D), `scale` > 0 and `input` (running_mean: of the running means of Q and K).
enum StepScoresSpec: OperatorSpec {
    static let kind = "mst.scores"
    struct Parameters { let heads: Int, scale: Float, mode: NonlinearityInput }

    static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 2)
        let q = n.input(0)
        try n.expect(n.input(1), rows: q.rows, width: q.width, "key input")
        let h = try heads(n, width: q.width)
        try n.expect(n.output(), rows: h * q.rows, width: q.rows, "output")
        return Parameters(heads: h, scale: try n.float("scale", positive: true), mode: try nonlinearityInput(n))
    }

    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        StepScoresLayer(q: r.slot(n.node.inputs[0]), k: r.slot(n.node.inputs[1]), output: r.slot(n.node.outputs[0]),
                        heads: p.heads, scale: p.scale, mode: p.mode, batch: r.capacity)
    }
}

/// `mst.weighted_values`: per head `A_t·V_t`; inputs A `[heads·N, N]` and V `[N, D]`, output `[N, D]`; attributes
/// `heads` (dividing D) and `input` (running_mean: with the running mean of V).
enum StepWeightedValuesSpec: OperatorSpec {
    static let kind = "mst.weighted_values"
    struct Parameters { let heads: Int, mode: NonlinearityInput }
    static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 2)
        let v = n.input(1)
        let h = try heads(n, width: v.width)
        try n.expect(n.input(0), rows: h * v.rows, width: v.rows, "attention input")
        try n.expect(n.output(), rows: v.rows, width: v.width, "output")
        return Parameters(heads: h, mode: try nonlinearityInput(n))
    }

    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        StepWeightedValuesLayer(attention: r.slot(n.node.inputs[0]), v: r.slot(n.node.inputs[1]),
                                output: r.slot(n.node.outputs[0]), heads: p.heads, mode: p.mode, batch: r.capacity)
    }
}

/// `mst.pool`: output `[1, width]`; attribute `index` (one row: token pooling) or `from` (mean of rows `from…`:
/// average pooling), not both.
enum StepPoolSpec: OperatorSpec {
    static let kind = "mst.pool"
    struct Parameters { let index: Int?, from: Int }

    static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 1)
        let x = n.input(0)
        try n.expect(n.output(), rows: 1, width: x.width, "output")
        let hasIndex = n.node.attributes["index"] != nil, hasFrom = n.node.attributes["from"] != nil
        guard hasIndex != hasFrom else { throw n.fail("needs exactly one of the attributes 'index' and 'from'") }
        if hasIndex { return Parameters(index: try n.int("index", in: 0...(x.rows - 1)), from: 0) }
        return Parameters(index: nil, from: try n.int("from", in: 0...(x.rows - 1)))
    }

    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        StepPoolLayer(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), index: p.index, from: p.from)
    }
}
