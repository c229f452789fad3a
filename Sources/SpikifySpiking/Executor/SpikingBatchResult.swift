import SpikifyCore

/// What one batch run produced: predictions after every step, final logits, settle steps, and statistics per step.
public struct SpikingBatchResult: Sendable {
    /// `predictions[t · batch + b]`: argmax of sample b's read-out output after t + 1 steps.
    public var predictions: [Int] = []
    public var batch: Int { settleSteps.count }
    public let readout: SimulationSemantics.Readout

    /// Predictions of every sample after `steps` steps (the last step run when `steps` is larger).
    public func predictions(afterSteps steps: Int) -> ArraySlice<Int> {
        let t = min(max(steps, 1), stepsRun) - 1
        return predictions[(t * batch)..<((t + 1) * batch)]
    }
    /// Read-out output after the last step (each sample's settled output when it went quiet), `[batch, classes]`.
    public var logits = Tensor(zeros: [0])
    /// Per sample: the step after which its output was final (the first silent step t ≥ 1), or nil when it was
    /// still active at the last step run or the semantics do not make quiescence final.
    public var settleSteps: [Int?]
    public var stepsRun = 0
    /// Neuron sites (name, neurons per sample), and spikes per site summed over the batch and the steps.
    public var sites: [(name: String, neurons: Int)]
    public var siteSpikes: [Int]
    /// Spikes per sample over all steps, and steps each sample was simulated (until quiet, or all steps run).
    public var sampleSpikes: [Int]
    public var stepsActive: [Int]
    /// Synaptic layers (weight name, fan-out) and their non-zero inputs summed over the batch and the steps.
    public var layers: [(name: String, fanOut: Int)]
    public var synapticEvents: [(name: String, events: Int, fanOut: Int)] {
        layers.indices.map { (layers[$0].name, layerEvents[$0], layers[$0].fanOut) }
    }
    public private(set) var layerEvents: [Int]

    /// Per step t (row) and site (column), flattened `[stepsRun · sites]`: spikes (Σ|k|), spike events
    /// (non-zero messages), and the largest |k| emitted.
    public private(set) var stepSiteSpikes: [Int] = []
    public private(set) var stepSiteEvents: [Int] = []
    public private(set) var stepSiteLargestSpike: [Int] = []
    /// Per step and synaptic layer, flattened `[stepsRun · layers]`: non-zero input messages.
    public private(set) var stepLayerEvents: [Int] = []

    /// With an ``ExitPolicy``, per sample: the steps after which it would leave and its prediction then. A sample
    /// that never meets the policy leaves when it goes quiet (or after the last step run): its `stepsActive` and
    /// final prediction. Empty without a policy.
    public var exitSteps: [Int?] = []
    public var exitPredictions: [Int] = []

    init(batch: Int, sites: [(String, Int)], layers: [(String, Int)], readout: SimulationSemantics.Readout) {
        settleSteps = Array(repeating: nil, count: batch)
        self.sites = sites.map { (name: $0.0, neurons: $0.1) }
        self.layers = layers.map { (name: $0.0, fanOut: $0.1) }
        self.readout = readout
        siteSpikes = Array(repeating: 0, count: sites.count)
        layerEvents = Array(repeating: 0, count: layers.count)
        sampleSpikes = Array(repeating: 0, count: batch)
        stepsActive = Array(repeating: 0, count: batch)
    }

    /// Reserves room for `steps` steps of statistics, so that recording them in the time loop does not allocate.
    mutating func reserve(steps: Int) {
        stepSiteSpikes.reserveCapacity(steps * sites.count)
        stepSiteEvents.reserveCapacity(steps * sites.count)
        stepSiteLargestSpike.reserveCapacity(steps * sites.count)
        stepLayerEvents.reserveCapacity(steps * layers.count)
    }

    /// Appends one step's statistics.
    mutating func recordStep(emitters: [any SpikeEmitter], synapses: [any SynapticOperator], batch: Int) {
        for (e, emitter) in emitters.enumerated() {
            var spikes = 0, events = 0
            let stepSpikes = emitter.stepSpikes.pointer, stepEvents = emitter.stepEvents.pointer
            for p in 0..<batch {
                spikes += stepSpikes[p]
                events += stepEvents[p]
            }
            siteSpikes[e] += spikes
            stepSiteSpikes.append(spikes)
            stepSiteEvents.append(events)
            stepSiteLargestSpike.append(emitter.stepLargestSpike)
        }
        for (l, layer) in synapses.enumerated() {
            layerEvents[l] += layer.stepInputEvents
            stepLayerEvents.append(layer.stepInputEvents)
        }
    }

    /// The result of one batch run in parts (the executor's lanes), each part a contiguous run of the batch, in
    /// order: what one run over the whole batch gives. A part that ended earlier (all its samples quiet) keeps its
    /// samples' last predictions and adds nothing to the later steps' statistics, as quiet samples that left the
    /// batch would. Without compaction (`compacted` false) every sample of one run stays active until the run ends,
    /// so each is counted active for all the steps.
    static func merged(_ parts: [SpikingBatchResult], compacted: Bool) -> SpikingBatchResult {
        guard let first = parts.first, parts.count > 1 else { return parts[0] }
        let total = parts.reduce(0) { $0 + $1.batch }, steps = parts.map(\.stepsRun).max() ?? 0
        let sites = first.sites.count, layers = first.layers.count
        var m = SpikingBatchResult(batch: total, sites: first.sites.map { ($0.name, $0.neurons) },
                                   layers: first.layers.map { ($0.name, $0.fanOut) }, readout: first.readout)
        m.stepsRun = steps
        m.predictions = [Int](repeating: 0, count: steps * total)
        m.stepSiteSpikes = [Int](repeating: 0, count: steps * sites)
        m.stepSiteEvents = m.stepSiteSpikes
        m.stepSiteLargestSpike = m.stepSiteSpikes
        m.stepLayerEvents = [Int](repeating: 0, count: steps * layers)
        let exits = !first.exitSteps.isEmpty
        m.settleSteps = []
        m.sampleSpikes = []
        m.stepsActive = []
        var logits: [Float] = [], offset = 0
        for part in parts {
            let n = part.batch
            for t in 0..<steps {
                let source = Swift.min(t, part.stepsRun - 1) * n
                for s in 0..<n { m.predictions[t * total + offset + s] = part.predictions[source + s] }
                guard t < part.stepsRun else { continue }
                for i in 0..<sites {
                    m.stepSiteSpikes[t * sites + i] += part.stepSiteSpikes[t * sites + i]
                    m.stepSiteEvents[t * sites + i] += part.stepSiteEvents[t * sites + i]
                    m.stepSiteLargestSpike[t * sites + i] = Swift.max(m.stepSiteLargestSpike[t * sites + i],
                                                                      part.stepSiteLargestSpike[t * sites + i])
                }
                for l in 0..<layers { m.stepLayerEvents[t * layers + l] += part.stepLayerEvents[t * layers + l] }
            }
            for i in 0..<sites { m.siteSpikes[i] += part.siteSpikes[i] }
            for l in 0..<layers { m.layerEvents[l] += part.layerEvents[l] }
            m.settleSteps += part.settleSteps
            m.sampleSpikes += part.sampleSpikes
            m.stepsActive += part.stepsActive
            if exits {
                m.exitSteps += part.exitSteps
                m.exitPredictions += part.exitPredictions
            }
            logits += part.logits.scalars
            offset += n
        }
        m.logits = Tensor(shape: [total, first.logits.shape[1]], scalars: logits)
        if !compacted { m.stepsActive = [Int](repeating: steps, count: total) }
        return m
    }

    /// Samples that left the batch keep their last prediction for the later steps; drops unused rows.
    mutating func finish(steps: Int, logits: Tensor) {
        let total = batch
        for t in 1..<max(stepsRun, 1) {
            for s in 0..<total where predictions[t * total + s] < 0 {
                predictions[t * total + s] = predictions[(t - 1) * total + s]
            }
        }
        predictions.removeLast((steps - stepsRun) * total)
        self.logits = logits
        if !exitSteps.isEmpty {
            let last = predictions(afterSteps: stepsRun)
            for s in 0..<total {
                // A quiet sample leaves at the step that found it silent, with its final output.
                let quietAt = settleSteps[s].map { $0 + 1 } ?? stepsActive[s]
                if let e = exitSteps[s], e < quietAt { continue }
                exitSteps[s] = quietAt
                exitPredictions[s] = last[last.startIndex + s]
            }
        }
    }
}
