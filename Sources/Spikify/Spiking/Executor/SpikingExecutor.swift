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
                                                       beta: try tensor(b), eps: eps))
            case .softmaxDiff(let i, let o):
                operators.append(SoftmaxDiffOperator(input: slots[i], output: slots[o]))
            case .activationDiff(let i, let o, let act):
                operators.append(ActivationDiffOperator(input: slots[i], output: slots[o], activation: act))
            case .spikeScores(let q, let k, let o, let heads, let scale):
                operators.append(SpikeScoresOperator(q: slots[q], k: slots[k], output: slots[o], heads: heads,
                                                     scale: scale, batch: capacity))
            case .spikeWeightedValues(let a, let v, let o, let heads):
                operators.append(SpikeWeightedValuesOperator(a: slots[a], b: slots[v], output: slots[o], heads: heads,
                                                             batch: capacity))
            case .selectToken(let i, let o, let index):
                operators.append(SelectTokenOperator(input: slots[i], output: slots[o], index: index))
            case .meanTokens(let i, let o, let from):
                operators.append(MeanTokensOperator(input: slots[i], output: slots[o], from: from))
            }
        }
        self.operators = operators
        emitters = operators.compactMap { $0 as? SpikeEmitter }
        self.linears = linears
    }

    /// Runs one batch (at most `capacity` images `[B, C, H, W]`) for up to `timesteps` steps.
    ///
    /// A sample is *quiet* at step t ≥ 1 when no neuron of it fired: its inputs are zero from t = 1 on, so nothing
    /// can change any more and its output is final. Quiet samples leave the batch (their state is compacted out, so
    /// the remaining ones run faster), and the run ends when every sample is quiet or after `timesteps` steps.
    /// Predictions, logits and spike counts are the same as running every sample for all steps.
    /// - Parameter compact: keep quiet samples in the batch instead (for tests of the compaction itself).
    public func run(_ images: Tensor, timesteps: Int, compact: Bool = true) -> SpikingBatchResult {
        let total = images.shape[0]
        precondition(total <= capacity && images.count == total * graph.values[graph.input].perSample,
                     "batch of \(images.shape) does not fit the executor")
        for op in operators { op.reset(batch: total) }
        for slot in slots { slot.reset() }
        let input = slots[graph.input], output = slots[graph.output]
        images.scalars.withUnsafeBufferPointer { input.total.pointer.update(from: $0.baseAddress!, count: images.count) }
        input.changed = true
        let classes = output.info.perSample, steps = max(1, timesteps)
        var result = SpikingBatchResult(batch: total, sites: emitters.map { ($0.site, $0.neuronsPerSample) })
        result.predictions = [Int](repeating: -1, count: steps * total)
        var finalLogits = [Float](repeating: 0, count: total * classes)
        var active = Array(0..<total)  // batch position → sample
        var spikesAt = [Int](repeating: 0, count: total)  // per position, this step
        for t in 0..<steps {
            let batch = active.count
            if t == 1 { input.changed = false }
            for op in operators { op.step(t, batch: batch) }
            for p in 0..<batch { spikesAt[p] = 0 }
            for (e, emitter) in emitters.enumerated() {
                for p in 0..<batch {
                    let s = emitter.stepSpikes[p]
                    result.siteSpikes[e] += s
                    spikesAt[p] += s
                }
            }
            let logits = output.total.pointer  // the accumulated output: after settling, the QANN's logits
            for p in 0..<batch {
                let sample = active[p]
                result.sampleSpikes[sample] += spikesAt[p]
                result.stepsActive[sample] = t + 1
                var best = 0
                for c in 1..<classes where logits[p * classes + c] > logits[p * classes + best] { best = c }
                result.predictions[t * total + sample] = best
            }
            result.stepsRun = t + 1
            // Quiet samples: record the settle step and final output; compact them out of the batch.
            var p = batch - 1
            while p >= 0 {
                let sample = active[p]
                if t >= 1 && spikesAt[p] == 0 && result.settleSteps[sample] == nil {
                    result.settleSteps[sample] = t
                    if compact {
                        for c in 0..<classes { finalLogits[sample * classes + c] = logits[p * classes + c] }
                        let last = active.count - 1
                        if p != last {
                            for op in operators { op.moveSample(from: last, to: p) }
                            for slot in slots { slot.moveSample(from: last, to: p) }
                            active[p] = active[last]
                            spikesAt[p] = spikesAt[last]
                        }
                        active.removeLast()
                    }
                }
                p -= 1
            }
            if active.isEmpty || (!compact && result.settleSteps.allSatisfy({ $0 != nil })) { break }
        }
        for (p, sample) in active.enumerated() {
            for c in 0..<classes { finalLogits[sample * classes + c] = output.total[p * classes + c] }
        }
        // Samples that left the batch keep their last prediction for the later steps.
        for t in 1..<result.stepsRun {
            for s in 0..<total where result.predictions[t * total + s] < 0 {
                result.predictions[t * total + s] = result.predictions[(t - 1) * total + s]
            }
        }
        result.predictions.removeLast((steps - result.stepsRun) * total)
        result.logits = Tensor(shape: [total, classes], scalars: finalLogits)
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
    /// Spikes per sample over all steps, and steps each sample was simulated (until quiet, or all steps run).
    public var sampleSpikes: [Int]
    public var stepsActive: [Int]
    /// Per linear layer: (weight name, non-zero inputs seen, fan-out).
    public var synapticEvents: [(name: String, events: Int, fanOut: Int)] = []

    init(batch: Int, sites: [(String, Int)]) {
        settleSteps = Array(repeating: nil, count: batch)
        self.sites = sites.map { (name: $0.0, neurons: $0.1) }
        siteSpikes = Array(repeating: 0, count: sites.count)
        sampleSpikes = Array(repeating: 0, count: batch)
        stepsActive = Array(repeating: 0, count: batch)
    }
}
