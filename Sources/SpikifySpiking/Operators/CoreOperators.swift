import SpikifyCore

/// The method-neutral operator kinds the core registers (``TotalOperators``); methods register their own.
/// Kind strings are stable: they are saved in converted files (docs/converted-format.md).
package enum CoreOperators {
    package static let specs: [AnyOperatorSpec] = [
        AnyOperatorSpec(PatchifySpec.self), AnyOperatorSpec(LinearSpec.self), AnyOperatorSpec(EmbedTokensSpec.self),
        AnyOperatorSpec(AddSpec.self), AnyOperatorSpec(SelectTokenSpec.self), AnyOperatorSpec(MeanTokensSpec.self),
    ]
}

/// Largest image side, patch and channel count a graph may declare (far above any ViT; keeps sizes computable).
private let sizeLimit = 1 << 16

/// `patchify`: analog image `[C, H·W]` → patch rows `[P, C·p·p]`; attributes `channels`, `image_size`, `patch`.
package enum PatchifySpec: TotalOperatorSpec {
    package static let kind = "patchify"
    package static var countsOutputEvents: Bool { true }
    package struct Parameters { let channels, imageSize, patch: Int }

    package static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 1)
        let c = try n.int("channels", in: 1...sizeLimit), size = try n.int("image_size", in: 1...sizeLimit)
        let p = try n.int("patch", in: 1...size)
        guard size % p == 0 else { throw n.fail("image_size \(size) is not a multiple of patch \(p)") }
        try n.expect(n.input(0), rows: c, width: size * size, "input")
        try n.expect(n.output(), rows: (size / p) * (size / p), width: c * p * p, "output")
        return Parameters(channels: c, imageSize: size, patch: p)
    }

    package static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        PatchifyOperator(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), channels: p.channels,
                         imageSize: p.imageSize, patch: p.patch)
    }
}

/// `linear`: `Y = W·X̂ + b` on totals; tensors `weight` `[out, in]` and optional `bias` `[out]`.
package enum LinearSpec: OperatorSpec {
    package static let kind = "linear"
    package static var readsCountedInputs: Bool { true }
    /// It reads its input's increments only to count its input events (or takes the producer's count); its own
    /// output is a total (rewritten rows).
    package static var keepsOutputIncrements: Bool { false }
    package static var countsInputEventsOnly: Bool { true }
    package static var writesOutputTotalsAfresh: Bool { true }
    package struct Parameters { let weight: Tensor, bias: Tensor?, name: String }

    package static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 1)
        let x = n.input(0), y = n.output()
        try n.expect(y, rows: x.rows, width: y.width, "output")
        let w = try n.tensor("weight", shape: [y.width, x.width])
        let b = try n.optionalTensor("bias", shape: [y.width])
        return Parameters(weight: w, bias: b, name: n.node.tensors["weight"] ?? "")
    }

    package static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        LinearOperator(layer: p.name, input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]),
                       weight: p.weight, bias: p.bias, node: n.index, runtime: r)
    }
}

/// `embed_tokens`: prepends the class token (tensor `class_token` `[D]`, optional) and adds `position` `[N, D]`.
package enum EmbedTokensSpec: TotalOperatorSpec {
    package static let kind = "embed_tokens"
    package static var readsCountedInputs: Bool { true }
    package struct Parameters { let classToken: Tensor?, position: Tensor }

    package static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 1)
        let x = n.input(0), y = n.output()
        let cls = try n.optionalTensor("class_token", shape: [x.width])
        try n.expect(y, rows: x.rows + (cls == nil ? 0 : 1), width: x.width, "output")
        let pos = try n.tensor("position", shape: [y.rows, y.width])
        return Parameters(classToken: cls, position: pos)
    }

    package static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        EmbedTokensOperator(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]),
                            classToken: p.classToken, position: p.position)
    }
}

/// `add`: elementwise sum of two values of the output's shape (a residual connection).
package enum AddSpec: TotalOperatorSpec {
    package static let kind = "add"
    package static var readsCountedInputs: Bool { true }
    package static func parameters(_ n: NodeContext) throws {
        try n.arity(inputs: 2)
        let y = n.output()
        try n.expect(n.input(0), rows: y.rows, width: y.width, "left input")
        try n.expect(n.input(1), rows: y.rows, width: y.width, "right input")
    }

    package static func instantiate(_ p: Void, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        AddOperator(lhs: r.slot(n.node.inputs[0]), rhs: r.slot(n.node.inputs[1]), output: r.slot(n.node.outputs[0]))
    }
}

/// `select_token`: row `index` of the input (`[1, width]`).
package enum SelectTokenSpec: TotalOperatorSpec {
    package static let kind = "select_token"
    package static func parameters(_ n: NodeContext) throws -> Int {
        try n.arity(inputs: 1)
        let x = n.input(0)
        try n.expect(n.output(), rows: 1, width: x.width, "output")
        return try n.int("index", in: 0...(x.rows - 1))
    }

    package static func instantiate(_ index: Int, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        SelectTokenOperator(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), index: index)
    }
}

/// `mean_tokens`: mean of rows `from..<rows` (`[1, width]`).
package enum MeanTokensSpec: TotalOperatorSpec {
    package static let kind = "mean_tokens"
    package static func parameters(_ n: NodeContext) throws -> Int {
        try n.arity(inputs: 1)
        let x = n.input(0)
        try n.expect(n.output(), rows: 1, width: x.width, "output")
        return try n.int("from", in: 0...(x.rows - 1))
    }

    package static func instantiate(_ from: Int, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        MeanTokensOperator(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), from: from)
    }
}
