extension SpikingOp {
    /// Value indices the operator reads and writes.
    var valueIndices: [Int] {
        switch self {
        case .patchify(let i, let o, _, _, _), .linear(let i, let o, _, _), .stbif(let i, let o, _, _, _, _),
             .embedTokens(let i, let o, _, _), .layerNormDiff(let i, let o, _, _, _), .softmaxDiff(let i, let o),
             .activationDiff(let i, let o, _), .selectToken(let i, let o, _), .meanTokens(let i, let o, _):
            return [i, o]
        case .add(let l, let r, let o): return [l, r, o]
        case .spikeScores(let q, let k, let o, _, _): return [q, k, o]
        case .spikeWeightedValues(let a, let v, let o, _): return [a, v, o]
        }
    }

    /// Tensor names the operator needs.
    var tensorNames: [String] {
        switch self {
        case .linear(_, _, let w, let b): return [w] + (b.map { [$0] } ?? [])
        case .embedTokens(_, _, let c, let p): return (c.map { [$0] } ?? []) + [p]
        case .layerNormDiff(_, _, let w, let b, _): return [w, b]
        default: return []
        }
    }
}

extension SpikingGraph {
    /// Checks that every operator refers to existing values and tensors (a damaged or hand-edited file fails here
    /// with a message instead of crashing the executor).
    public func validate(file: String) throws {
        func bad(_ message: String) -> SpikifyError { .invalidData(file: file, message: "spiking graph: \(message)") }
        guard values.indices.contains(input), values.indices.contains(output) else {
            throw bad("input \(input) or output \(output) is not one of its \(values.count) values")
        }
        for (n, op) in ops.enumerated() {
            if let v = op.valueIndices.first(where: { !values.indices.contains($0) }) {
                throw bad("operator \(n) refers to value \(v), but there are \(values.count)")
            }
            if let t = op.tensorNames.first(where: { tensors[$0] == nil }) {
                throw bad("operator \(n) needs tensor '\(t)', which the file does not hold")
            }
        }
    }
}
