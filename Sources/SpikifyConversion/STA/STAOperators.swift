import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// The operator kinds STA registers (Jiang et al., ICLR 2024; docs/methods/sta.md), plus MST's per-step patchify,
/// linear, token embedding, residual add and pooling, whose semantics (bias on every step) are STA's too.
///
/// Every value carries an estimate as its running mean (total / k after k steps). Affine operators act on each
/// step's increments (biases every step); the others compute their function of their inputs' running means, E_k,
/// and emit the correction c_k = k·E_k − Σ_{j<k} c_j, so that their own running mean is E_k (digest of STA §5.2:
/// "temporal correction"). Kind strings are stable: they are saved in converted files.
enum STAOperators {
    static let specs: [AnyOperatorSpec] = [
        AnyOperatorSpec(STANeuronSpec.self), AnyOperatorSpec(STAFloatNeuronSpec.self),
        AnyOperatorSpec(UGOInputSpec.self), AnyOperatorSpec(UGOOutputSpec.self), AnyOperatorSpec(STAFunctionSpec.self),
        AnyOperatorSpec(STACenterSpec.self), AnyOperatorSpec(STAVarianceSpec.self), AnyOperatorSpec(STAAffineSpec.self),
        AnyOperatorSpec(STARowSumSpec.self), AnyOperatorSpec(STASoftmaxShiftSpec.self),
        AnyOperatorSpec(STAProductSpec.self), AnyOperatorSpec(STALayerNormSpec.self),
    ] + MSTOperators.specs.filter { $0.kind != IntegrateFireSpec.kind }
}

/// One input, an output of `rows × width`.
private func unary(_ n: NodeContext, width: Int? = nil) throws {
    try n.arity(inputs: 1)
    try n.expect(n.output(), rows: n.input(0).rows, width: width ?? n.input(0).width, "output")
}

private func finiteTensor(_ n: NodeContext, _ role: String, shape: [Int]) throws -> Tensor {
    let t = try n.tensor(role, shape: shape)
    if t.scalars.contains(where: { !$0.isFinite }) { throw n.fail("tensor '\(role)' holds a non-finite value") }
    return t
}

/// `sta.ugo_in`: a UGO's hidden-layer input, per step, `[r, w] → [r, w·N]`: `h[r, f·N + j] = w1ⱼ·x[r, f] + b1ⱼ`;
/// tensors `w1`, `b1` `[N]`.
enum UGOInputSpec: OperatorSpec {
    static let kind = "sta.ugo_in"
    struct Parameters { let w1: [Float], b1: [Float] }
    static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 1)
        let x = n.input(0), y = n.output()
        guard y.width > 0, y.width % max(x.width, 1) == 0 else { throw n.fail("output width \(y.width) is not a multiple of \(x.width)") }
        try n.expect(y, rows: x.rows, width: y.width, "output")
        let hidden = y.width / x.width
        return Parameters(w1: try finiteTensor(n, "w1", shape: [hidden]).scalars,
                          b1: try finiteTensor(n, "b1", shape: [hidden]).scalars)
    }
    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        UGOLayer(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), w: p.w1, b: p.b1, expand: true)
    }
}

/// `sta.ugo_out`: a UGO's read-out, per step, `[r, w·N] → [r, w]`: `y[r, f] = Σⱼ w2ⱼ·s[r, f·N + j] + b2`;
/// tensors `w2` `[N]`, `b2` `[1]`.
enum UGOOutputSpec: OperatorSpec {
    static let kind = "sta.ugo_out"
    struct Parameters { let w2: [Float], b2: [Float] }
    static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 1)
        let x = n.input(0), y = n.output()
        guard y.width > 0, x.width % y.width == 0 else { throw n.fail("input width \(x.width) is not a multiple of \(y.width)") }
        try n.expect(y, rows: x.rows, width: y.width, "output")
        return Parameters(w2: try finiteTensor(n, "w2", shape: [x.width / y.width]).scalars,
                          b2: try finiteTensor(n, "b2", shape: [1]).scalars)
    }
    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        UGOLayer(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), w: p.w2, b: p.b2, expand: false)
    }
}

/// `sta.function`: the exact function (attribute `function`: a ``UGOFunction``) of the running mean, corrected;
/// the float stages of the ladder use it where the SNN has a UGO.
enum STAFunctionSpec: OperatorSpec {
    static let kind = "sta.function"
    static func parameters(_ n: NodeContext) throws -> UGOFunction {
        try unary(n)
        let name = try n.string("function")
        guard let f = UGOFunction(rawValue: name) else { throw n.fail("attribute 'function' is '\(name)'; expected gelu, exp, reciprocal or rsqrt") }
        return f
    }
    static func instantiate(_ f: UGOFunction, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        STAMapLayer(inputs: [r.slot(n.node.inputs[0])], output: r.slot(n.node.outputs[0]), batch: r.capacity,
                    map: .function(f))
    }
}

/// `sta.center`: `x − mean_row(x)` per step (LayerNorm's centring, affine).
enum STACenterSpec: OperatorSpec {
    static let kind = "sta.center"
    static func parameters(_ n: NodeContext) throws { try unary(n) }
    static func instantiate(_ p: Void, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        STAMapLayer(inputs: [r.slot(n.node.inputs[0])], output: r.slot(n.node.outputs[0]), batch: r.capacity,
                    map: .center)
    }
}

/// `sta.variance`: `[r, w] → [r, 1]`, `mean_row(x̄²) + eps` of the (centred) running mean x̄, corrected;
/// attribute `eps` ≥ 0.
enum STAVarianceSpec: OperatorSpec {
    static let kind = "sta.variance"
    static func parameters(_ n: NodeContext) throws -> Float {
        try unary(n, width: 1)
        let eps = try n.float("eps")
        guard eps >= 0 else { throw n.fail("attribute 'eps' is \(eps); expected ≥ 0") }
        return eps
    }
    static func instantiate(_ eps: Float, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        STAMapLayer(inputs: [r.slot(n.node.inputs[0])], output: r.slot(n.node.outputs[0]), batch: r.capacity,
                    map: .variance(eps: eps))
    }
}

/// `sta.affine`: `x·γ + β` per column, per step (β every step); tensors `weight`, `bias` `[w]`.
enum STAAffineSpec: OperatorSpec {
    static let kind = "sta.affine"
    struct Parameters { let gamma: Tensor, beta: Tensor }
    static func parameters(_ n: NodeContext) throws -> Parameters {
        try unary(n)
        let w = n.input(0).width
        return Parameters(gamma: try finiteTensor(n, "weight", shape: [w]), beta: try finiteTensor(n, "bias", shape: [w]))
    }
    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        STAAffineLayer(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), gamma: p.gamma.scalars,
                       beta: p.beta.scalars)
    }
}

/// `sta.row_sum`: `[r, w] → [r, 1]`, the row sum per step (softmax partition).
enum STARowSumSpec: OperatorSpec {
    static let kind = "sta.row_sum"
    static func parameters(_ n: NodeContext) throws { try unary(n, width: 1) }
    static func instantiate(_ p: Void, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        STAMapLayer(inputs: [r.slot(n.node.inputs[0])], output: r.slot(n.node.outputs[0]), batch: r.capacity,
                    map: .rowSum)
    }
}

/// `sta.softmax_shift`: the shifted logits z = s̄ − s̄_ref + `offset`, at most `upper`, of the running-mean scores,
/// corrected; attribute `reference`: `cls` (the logit against key 0, as STA) or `max` (the row maximum).
enum STASoftmaxShiftSpec: OperatorSpec {
    static let kind = "sta.softmax_shift"
    struct Parameters { let cls: Bool, offset: Float, upper: Float }
    static func parameters(_ n: NodeContext) throws -> Parameters {
        try unary(n)
        let reference = try n.string("reference")
        guard reference == "cls" || reference == "max" else { throw n.fail("attribute 'reference' is '\(reference)'; expected cls or max") }
        return Parameters(cls: reference == "cls", offset: try n.float("offset"), upper: try n.float("upper"))
    }
    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        STAMapLayer(inputs: [r.slot(n.node.inputs[0])], output: r.slot(n.node.outputs[0]), batch: r.capacity,
                    map: .shift(cls: p.cls, offset: p.offset, upper: p.upper))
    }
}

/// `sta.layer_norm`: exact LayerNorm (tensors `weight`, `bias`, attribute `eps` > 0) of the running mean,
/// corrected (the final norm, which STA keeps in float).
enum STALayerNormSpec: OperatorSpec {
    static let kind = "sta.layer_norm"
    struct Parameters { let gamma: Tensor, beta: Tensor, eps: Float }
    static func parameters(_ n: NodeContext) throws -> Parameters {
        try unary(n)
        let w = n.input(0).width
        return Parameters(gamma: try finiteTensor(n, "weight", shape: [w]), beta: try finiteTensor(n, "bias", shape: [w]),
                          eps: try n.float("eps", positive: true))
    }
    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        STAMapLayer(inputs: [r.slot(n.node.inputs[0])], output: r.slot(n.node.outputs[0]), batch: r.capacity,
                    map: .layerNorm(gamma: FloatBuffer(p.gamma.scalars), beta: FloatBuffer(p.beta.scalars), eps: p.eps))
    }
}

/// `sta.product`: temporal-corrective products (TCSA, STA §5.2) of two running signals A and B, attribute `form`:
/// `scores` (per head `scale·Q·Kᵀ`, `[N, D]` × `[N, D]` → `[H·N, N]`; attributes `heads`, `scale`), `weighted`
/// (per head `A·V`, `[H·N, N]` × `[N, D]` → `[N, D]`; attribute `heads`) or `scale_rows` (`[r, w]` × `[r, 1]`
/// → `[r, w]`).
enum STAProductSpec: OperatorSpec {
    static let kind = "sta.product"
    static func parameters(_ n: NodeContext) throws -> ProductForm {
        try n.arity(inputs: 2)
        let a = n.input(0), b = n.input(1), y = n.output()
        func heads(_ width: Int) throws -> Int {
            let h = try n.int("heads", in: 1...max(1, width))
            guard width % h == 0 else { throw n.fail("\(h) heads do not divide the width \(width)") }
            return h
        }
        switch try n.string("form") {
        case "scores":
            try n.expect(b, rows: a.rows, width: a.width, "right input")
            let h = try heads(a.width)
            try n.expect(y, rows: h * a.rows, width: a.rows, "output")
            return .scores(heads: h, scale: try n.float("scale", positive: true))
        case "weighted":
            let h = try heads(b.width)
            try n.expect(a, rows: h * b.rows, width: b.rows, "left input")
            try n.expect(y, rows: b.rows, width: b.width, "output")
            return .weighted(heads: h)
        case "scale_rows":
            try n.expect(b, rows: a.rows, width: 1, "right input")
            try n.expect(y, rows: a.rows, width: a.width, "output")
            return .scaleRows
        case let other:
            throw n.fail("attribute 'form' is '\(other)'; expected scores, weighted or scale_rows")
        }
    }
    static func instantiate(_ form: ProductForm, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        TCSAProductLayer(a: r.slot(n.node.inputs[0]), b: r.slot(n.node.inputs[1]), output: r.slot(n.node.outputs[0]),
                         form: form, batch: r.capacity)
    }
}
