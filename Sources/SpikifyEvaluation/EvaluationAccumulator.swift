import SpikifyCore
import SpikifySpiking

/// Everything an evaluation counts, in a form that merges exactly: integer counts per step, a settle-step
/// histogram, spikes and events per site and step, maxima, and summed timings. Evaluating slices of a data set
/// (shards) and merging their accumulators gives the same counts as one run over the whole set, so the same
/// report except for timings (docs/scaling.md).
public struct EvaluationAccumulator: Codable, Sendable, Equatable {
    /// Timesteps T of the run (every per-step list has T entries).
    public var timesteps: Int
    /// The data-set slices covered, as `[start, end)` pairs, sorted.
    public var slices: [[Int]] = []
    public var samples = 0
    /// Samples with a label (all or none of a data set).
    public var labelled = 0
    public var annCorrect = 0
    public var referenceCorrect = 0
    public var referenceAgreesWithANN = 0
    /// Per step t = 1…T: samples whose SNN prediction after t steps is right / equals the ANN's / the reference's.
    public var snnCorrect: [Int]
    public var snnAgreesWithANN: [Int]
    public var snnAgreesWithReference: [Int]
    /// `settleHistogram[t]`: samples whose output was final after t steps; `unsettled`: samples still active at T.
    public var settleHistogram: [Int]
    public var unsettled = 0
    /// Neuron sites (names, neurons per sample) and, per site and step, spikes, events and the largest spike.
    public var sites: [String] = []
    public var neurons: [Int] = []
    public var siteSpikes: [[Int]] = []
    public var siteEvents: [[Int]] = []
    public var siteLargestSpike: [[Int]] = []
    /// Per site: neurons × steps simulated, summed over samples (the denominator of firing rates).
    public var neuronSteps: [Int] = []
    /// Synaptic layers (weight names, fan-out) and their non-zero inputs per step.
    public var layers: [String] = []
    public var fanOuts: [Int] = []
    public var layerEvents: [[Int]] = []
    public var sampleSpikes = 0
    public var stepsSimulated = 0
    /// Largest |SNN − reference| logit after the last step, over all samples.
    public var maxAbsLogitDifferenceToReference: Double = 0
    public var annSeconds: Double = 0
    public var referenceSeconds: Double = 0
    public var snnSeconds: Double = 0
    /// With an exit policy (`--exit-when`): what the samples would have given had they left early.
    public var earlyExit: EarlyExitCounts?
    /// The method's intermediate networks (``ConvertedModel/stages``), in order; nil when it has none.
    public var stages: [StageCounts]?

    /// Counts of one intermediate network of a method's ladder.
    public struct StageCounts: Codable, Sendable, Equatable {
        public var name: String
        public var correct = 0
        public var agreesWithANN = 0
        public var seconds: Double = 0

        public init(name: String) { self.name = name }
    }

    /// Counts the predictions of stage `index` (named `name`) on one batch.
    public mutating func addStage(_ index: Int, name: String, predictions: [Int], labels: [Int]?, ann: [Int],
                                  seconds: Double) {
        var all = stages ?? []
        while all.count <= index { all.append(StageCounts(name: name)) }
        if let labels { all[index].correct += zip(predictions, labels).filter { $0 == $1 }.count }
        all[index].agreesWithANN += zip(predictions, ann).filter { $0 == $1 }.count
        all[index].seconds += seconds
        stages = all
    }

    /// Counts of a confidence-based early exit (``ExitPolicy``), next to running until quiet.
    public struct EarlyExitCounts: Codable, Sendable, Equatable {
        /// The policy, as `--exit-when` spells it.
        public var policy: String
        /// Samples whose prediction at their exit is right / equals the ANN's / the reference's.
        public var correct = 0
        public var agreesWithANN = 0
        public var agreesWithReference = 0
        /// Samples that left before going quiet (before the last step run, when they did not).
        public var exitedEarly = 0
        /// Steps run until exit, and steps saved against running until quiet (or T), summed over samples.
        public var steps = 0
        public var stepsSaved = 0

        public init(policy: String) { self.policy = policy }
    }

    public init(timesteps: Int) {
        self.timesteps = timesteps
        snnCorrect = Array(repeating: 0, count: timesteps)
        snnAgreesWithANN = snnCorrect
        snnAgreesWithReference = snnCorrect
        settleHistogram = Array(repeating: 0, count: timesteps + 1)
    }

    /// Counts one batch: data-set indices `range`, the ANN's and reference's predictions, and the SNN's run.
    public mutating func add(range: Range<Int>, labels: [Int]?, ann: [Int], reference: [Int],
                             snn r: SpikingBatchResult, logitDifference: Double) {
        let n = range.count
        if sites.isEmpty && neurons.isEmpty {
            sites = r.sites.map(\.name)
            neurons = r.sites.map(\.neurons)
            siteSpikes = Array(repeating: Array(repeating: 0, count: timesteps), count: sites.count)
            siteEvents = siteSpikes
            siteLargestSpike = siteSpikes
            neuronSteps = Array(repeating: 0, count: sites.count)
            layers = r.layers.map(\.name)
            fanOuts = r.layers.map(\.fanOut)
            layerEvents = Array(repeating: Array(repeating: 0, count: timesteps), count: layers.count)
        }
        addSlice(range.lowerBound, range.upperBound)
        samples += n
        if let labels {
            labelled += n
            annCorrect += zip(ann, labels).filter { $0 == $1 }.count
            referenceCorrect += zip(reference, labels).filter { $0 == $1 }.count
        }
        referenceAgreesWithANN += zip(reference, ann).filter { $0 == $1 }.count
        for t in 0..<timesteps {
            let p = r.predictions(afterSteps: t + 1)
            for (i, prediction) in p.enumerated() {
                if let labels, prediction == labels[i] { snnCorrect[t] += 1 }
                if prediction == ann[i] { snnAgreesWithANN[t] += 1 }
                if prediction == reference[i] { snnAgreesWithReference[t] += 1 }
            }
        }
        for s in r.settleSteps {
            if let s { settleHistogram[s] += 1 } else { unsettled += 1 }
        }
        let simulated = r.stepsActive.reduce(0, +)
        let sitesCount = sites.count, layerCount = layers.count
        for t in 0..<r.stepsRun {
            for e in 0..<sitesCount {
                siteSpikes[e][t] += r.stepSiteSpikes[t * sitesCount + e]
                siteEvents[e][t] += r.stepSiteEvents[t * sitesCount + e]
                siteLargestSpike[e][t] = max(siteLargestSpike[e][t], r.stepSiteLargestSpike[t * sitesCount + e])
            }
            for l in 0..<layerCount { layerEvents[l][t] += r.stepLayerEvents[t * layerCount + l] }
        }
        for e in 0..<sitesCount { neuronSteps[e] += neurons[e] * simulated }
        sampleSpikes += r.sampleSpikes.reduce(0, +)
        stepsSimulated += simulated
        maxAbsLogitDifferenceToReference = max(maxAbsLogitDifferenceToReference, logitDifference)
        if var e = earlyExit, r.exitSteps.count == n {
            for i in 0..<n {
                let prediction = r.exitPredictions[i], steps = r.exitSteps[i] ?? r.stepsActive[i]
                if let labels, prediction == labels[i] { e.correct += 1 }
                if prediction == ann[i] { e.agreesWithANN += 1 }
                if prediction == reference[i] { e.agreesWithReference += 1 }
                e.steps += steps
                e.stepsSaved += r.stepsActive[i] - steps
                if steps < r.stepsActive[i] { e.exitedEarly += 1 }
            }
            earlyExit = e
        }
    }

    /// Adds another accumulator's counts (a shard of the same model, options and data set).
    public mutating func merge(_ o: EvaluationAccumulator) throws {
        guard o.timesteps == timesteps else {
            throw SpikifyError.invalidArgument("cannot merge evaluations of \(timesteps) and \(o.timesteps) timesteps")
        }
        if sites.isEmpty && layers.isEmpty && samples == 0 {
            let mine = self
            self = o
            for s in mine.slices { addSlice(s[0], s[1]) }
            return
        }
        guard o.samples == 0 || (o.sites == sites && o.layers == layers && o.neurons == neurons) else {
            throw SpikifyError.invalidArgument("cannot merge evaluations of different networks (sites or layers differ)")
        }
        guard earlyExit?.policy == o.earlyExit?.policy else {
            throw SpikifyError.invalidArgument("cannot merge evaluations with different exit policies (--exit-when "
                + "\(earlyExit?.policy ?? "none") and \(o.earlyExit?.policy ?? "none"))")
        }
        for s in o.slices { try checkDisjoint(s[0], s[1]) }
        for s in o.slices { addSlice(s[0], s[1]) }
        samples += o.samples
        labelled += o.labelled
        annCorrect += o.annCorrect
        referenceCorrect += o.referenceCorrect
        referenceAgreesWithANN += o.referenceAgreesWithANN
        for t in 0..<timesteps {
            snnCorrect[t] += o.snnCorrect[t]
            snnAgreesWithANN[t] += o.snnAgreesWithANN[t]
            snnAgreesWithReference[t] += o.snnAgreesWithReference[t]
        }
        for t in settleHistogram.indices { settleHistogram[t] += o.settleHistogram[t] }
        unsettled += o.unsettled
        guard o.samples > 0 else { return }
        for e in sites.indices {
            for t in 0..<timesteps {
                siteSpikes[e][t] += o.siteSpikes[e][t]
                siteEvents[e][t] += o.siteEvents[e][t]
                siteLargestSpike[e][t] = max(siteLargestSpike[e][t], o.siteLargestSpike[e][t])
            }
            neuronSteps[e] += o.neuronSteps[e]
        }
        for l in layers.indices { for t in 0..<timesteps { layerEvents[l][t] += o.layerEvents[l][t] } }
        sampleSpikes += o.sampleSpikes
        stepsSimulated += o.stepsSimulated
        maxAbsLogitDifferenceToReference = max(maxAbsLogitDifferenceToReference, o.maxAbsLogitDifferenceToReference)
        if var e = earlyExit, let x = o.earlyExit {
            e.correct += x.correct
            e.agreesWithANN += x.agreesWithANN
            e.agreesWithReference += x.agreesWithReference
            e.exitedEarly += x.exitedEarly
            e.steps += x.steps
            e.stepsSaved += x.stepsSaved
            earlyExit = e
        }
        if var mine = stages, let theirs = o.stages, mine.map(\.name) == theirs.map(\.name) {
            for i in mine.indices {
                mine[i].correct += theirs[i].correct
                mine[i].agreesWithANN += theirs[i].agreesWithANN
                mine[i].seconds += theirs[i].seconds
            }
            stages = mine
        } else if stages == nil {
            stages = o.stages
        }
        annSeconds += o.annSeconds
        referenceSeconds += o.referenceSeconds
        snnSeconds += o.snnSeconds
    }

    private func checkDisjoint(_ lo: Int, _ hi: Int) throws {
        if let s = slices.first(where: { $0[0] < hi && lo < $0[1] }) {
            throw SpikifyError.invalidArgument("slices [\(lo), \(hi)) and [\(s[0]), \(s[1])) overlap: a shard is counted twice")
        }
    }

    /// Records `[lo, hi)` as covered, joining touching slices.
    private mutating func addSlice(_ lo: Int, _ hi: Int) {
        slices.append([lo, hi])
        slices.sort { $0[0] < $1[0] }
        var joined: [[Int]] = []
        for s in slices {
            if let last = joined.last, last[1] == s[0] { joined[joined.count - 1][1] = s[1] } else { joined.append(s) }
        }
        slices = joined
    }
}
