/// Runs a ``SpikingGraph`` over timesteps for a batch of images.
///
/// Buffers are allocated once for a batch capacity; each batch resets the state and runs t = 0, 1, … with the
/// analog image entering at t = 0. After every step the accumulated output (logits) gives a prediction, so one pass
/// yields the accuracy at every T. The executor knows only the operator protocol: which conversion method built the
/// graph never matters here.
public final class SpikingExecutor {
    public let graph: SpikingGraph
    public let capacity: Int
    private let slots: [ValueSlot]
    private let operators: [SpikingOperator]
    private let emitters: [SpikeEmitter]
    private let linears: [(name: String, op: LinearOperator)]
    private let logits: ScalarBuffer<Double>

    public init(graph: SpikingGraph, batchCapacity: Int) throws {
        try graph.validate(file: graph.metadata["file"] ?? "<graph>")
        self.graph = graph
        capacity = max(1, batchCapacity)
        let slots = graph.values.map { ValueSlot($0, batch: batchCapacity) }
        self.slots = slots
        var operators: [SpikingOperator] = [], linears: [(String, LinearOperator)] = []
        func tensor(_ name: String) throws -> Tensor {
            guard let t = graph.tensors[name] else {
                throw SpikifyError.invalidData(file: graph.metadata["file"] ?? "<graph>",
                                               message: "spiking graph names tensor '\(name)', which it does not hold")
            }
            return t
        }
        for op in graph.ops {
            switch op {
            case .patchify(let i, let o, let c, let size, let p):
                operators.append(PatchifyOperator(input: slots[i], output: slots[o], channels: c, imageSize: size, patch: p))
            case .linear(let i, let o, let w, let b):
                let linear = LinearOperator(input: slots[i], output: slots[o], weight: try tensor(w),
                                            bias: try b.map(tensor))
                operators.append(linear)
                linears.append((w, linear))
            case .stbif(let i, let o, let site, let theta, let lo, let hi):
                operators.append(STBIFLayer(site: site, input: slots[i], output: slots[o], threshold: theta,
                                            lower: lo, upper: hi, batch: capacity))
            case .embedTokens(let i, let o, let cls, let pos):
                operators.append(EmbedTokensOperator(input: slots[i], output: slots[o], classToken: try cls.map(tensor),
                                                     position: try tensor(pos)))
            case .add(let l, let r, let o):
                operators.append(AddOperator(lhs: slots[l], rhs: slots[r], output: slots[o]))
            case .layerNormDiff(let i, let o, let w, let b, let eps):
                operators.append(LayerNormDiffOperator(input: slots[i], output: slots[o], gamma: try tensor(w),
                                                       beta: try tensor(b), eps: eps, batch: capacity))
            case .softmaxDiff(let i, let o):
                operators.append(SoftmaxDiffOperator(input: slots[i], output: slots[o], batch: capacity))
            case .activationDiff(let i, let o, let act):
                operators.append(ActivationDiffOperator(input: slots[i], output: slots[o], activation: act, batch: capacity))
            case .spikeScores(let q, let k, let o, let heads, let scale):
                operators.append(SpikeScoresOperator(a: slots[q], b: slots[k], output: slots[o], heads: heads,
                                                     alpha: scale, batch: capacity))
            case .spikeWeightedValues(let a, let v, let o, let heads):
                operators.append(SpikeWeightedValuesOperator(a: slots[a], b: slots[v], output: slots[o], heads: heads,
                                                             alpha: 1, batch: capacity))
            case .selectToken(let i, let o, let index):
                operators.append(SelectTokenOperator(input: slots[i], output: slots[o], index: index))
            case .meanTokens(let i, let o, let from):
                operators.append(MeanTokensOperator(input: slots[i], output: slots[o], from: from))
            }
        }
        self.operators = operators
        emitters = operators.compactMap { $0 as? SpikeEmitter }
        self.linears = linears
        logits = ScalarBuffer<Double>(count: capacity * graph.values[graph.output].perSample)
    }

    /// Runs one batch (at most `capacity` images `[B, C, H, W]`) for up to `timesteps` steps.
    /// - Parameter untilQuiet: stop early once every sample is quiet (a step t ≥ 1 with no spike anywhere; from
    ///   then on nothing changes). Without it, exactly `timesteps` steps run.
    public func run(_ images: Tensor, timesteps: Int, untilQuiet: Bool = false) -> SpikingBatchResult {
        let batch = images.shape[0]
        precondition(batch <= capacity && images.count == batch * graph.values[graph.input].perSample,
                     "batch of \(images.shape) does not fit the executor")
        for op in operators { op.reset(batch: batch) }
        for slot in slots { slot.isZero = false; slot.setZero(batch: batch) }
        logits.zero()
        let input = slots[graph.input], output = slots[graph.output]
        images.scalars.withUnsafeBufferPointer { input.pointer.update(from: $0.baseAddress!, count: images.count) }
        input.isZero = false
        let classes = output.info.perSample
        var result = SpikingBatchResult(batch: batch, sites: emitters.map { ($0.site, $0.neuronsPerSample) })
        result.predictions.reserveCapacity(max(1, timesteps) * batch)
        var quietCount = 0
        for t in 0..<max(1, timesteps) {
            if t == 1 { input.setZero(batch: batch) }
            for op in operators { op.step(t, batch: batch) }
            // Statistics and quiescence.
            for (e, emitter) in emitters.enumerated() {
                for b in 0..<batch {
                    let s = emitter.stepSpikes[b]
                    result.siteSpikes[e] += s
                    result.sampleSpikes[b] += s
                    if s != 0 { result.lastActiveStep[b] = t }
                }
            }
            if t >= 1 {
                for b in 0..<batch where result.settleSteps[b] == nil && result.lastActiveStep[b] < t {
                    result.settleSteps[b] = t
                    quietCount += 1
                }
            }
            // Accumulate outputs and record the prediction after t + 1 steps.
            if !output.isZero {
                for i in 0..<(batch * classes) { logits[i] += Double(output.pointer[i]) }
            }
            for b in 0..<batch {
                var best = 0
                for c in 1..<classes where logits[b * classes + c] > logits[b * classes + best] { best = c }
                result.predictions.append(best)
            }
            result.stepsRun = t + 1
            if untilQuiet && quietCount == batch { break }
        }
        result.logits = Tensor(shape: [batch, classes], scalars: (0..<(batch * classes)).map { Float(logits[$0]) })
        result.synapticEvents = linears.map { ($0.name, $0.op.inputEvents, $0.op.outFeatures) }
        return result
    }
}

/// What one batch run produced.
public struct SpikingBatchResult: Sendable {
    /// `predictions[t · batch + b]`: argmax of sample b's accumulated output after t + 1 steps.
    public var predictions: [Int] = []
    public var batch: Int { settleSteps.count }

    /// Predictions of every sample after `steps` steps (the last step run when `steps` is larger).
    public func predictions(afterSteps steps: Int) -> ArraySlice<Int> {
        let t = min(max(steps, 1), stepsRun) - 1
        return predictions[(t * batch)..<((t + 1) * batch)]
    }
    /// Accumulated output after the last step, `[batch, classes]`.
    public var logits = Tensor(zeros: [0])
    /// Per sample: the number of steps after which its output was final (the first silent step t ≥ 1), or nil
    /// when it was still active at the last step run.
    public var settleSteps: [Int?]
    public var stepsRun = 0
    /// Neuron sites (name, neurons per sample), and spikes per site summed over the batch and the steps.
    public var sites: [(name: String, neurons: Int)]
    public var siteSpikes: [Int]
    /// Spikes per sample over all steps; last step at which each sample spiked.
    public var sampleSpikes: [Int]
    var lastActiveStep: [Int]
    /// Per linear layer: (weight name, non-zero inputs seen, fan-out).
    public var synapticEvents: [(name: String, events: Int, fanOut: Int)] = []

    init(batch: Int, sites: [(String, Int)]) {
        settleSteps = Array(repeating: nil, count: batch)
        self.sites = sites.map { (name: $0.0, neurons: $0.1) }
        siteSpikes = Array(repeating: 0, count: sites.count)
        sampleSpikes = Array(repeating: 0, count: batch)
        lastActiveStep = Array(repeating: 0, count: batch)
    }
}
