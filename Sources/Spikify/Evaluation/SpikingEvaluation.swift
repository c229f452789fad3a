import Foundation

/// Runs a converted model against its source ANN and its quantized network on a dataset: accuracy and agreement
/// after every timestep from one pass, settle statistics, firing rates, and timings.
public enum SpikingEvaluation {
    public struct Options: Sendable {
        public var timesteps: Int
        public var untilQuiet: Bool
        public var batchSize: Int
        public init(timesteps: Int, untilQuiet: Bool = false, batchSize: Int = 16) {
            self.timesteps = timesteps
            self.untilQuiet = untilQuiet
            self.batchSize = batchSize
        }
    }

    /// Progress: (stage, done, total) with stage "ann", "qann" or "snn".
    public static func run(
        _ converted: ConvertedModel, data: ImageDataset, options: Options,
        progress: ((String, Int, Int) -> Void)? = nil
    ) throws -> EvaluationReport {
        let n = data.count, T = max(1, options.timesteps), bs = max(1, options.batchSize)
        let forward = ViTForward(converted.model)
        var clock = Date()
        let annLogits = Prediction.logits(of: data, batchSize: bs, progress: { progress?("ann", $0, $1) }) {
            forward.logits($0)
        }
        let annSeconds = Date().timeIntervalSince(clock)
        let qann = QuantizedViT(forward: forward, plan: converted.plan)
        let qannLogits = Prediction.logits(of: data, batchSize: bs, progress: { progress?("qann", $0, $1) }) {
            qann.logits($0)
        }
        let annPred = annLogits.argmaxRows(), qannPred = qannLogits.argmaxRows()

        let executor = try SpikingExecutor(graph: converted.graph, batchCapacity: min(bs, n))
        var perStep = [[Int]](repeating: [], count: T)  // predictions after t+1 steps, all samples
        var settle: [Int?] = [], snnLogits: [Float] = []
        var siteSpikes: [Int] = [], neuronSteps: [Int] = [], sites: [(name: String, neurons: Int)] = []
        var events: [String: (events: Int, fanOut: Int)] = [:]
        var stepsTotal = 0
        clock = Date()
        for start in stride(from: 0, to: n, by: bs) {
            let end = min(n, start + bs)
            let r = executor.run(data.batch(start..<end), timesteps: T)
            let simulated = r.stepsActive.reduce(0, +)
            for t in 0..<T { perStep[t] += r.predictions(afterSteps: t + 1) }
            settle += r.settleSteps
            snnLogits += r.logits.scalars
            if sites.isEmpty {
                sites = r.sites
                siteSpikes = Array(repeating: 0, count: sites.count)
                neuronSteps = Array(repeating: 0, count: sites.count)
            }
            for i in sites.indices {
                siteSpikes[i] += r.siteSpikes[i]
                neuronSteps[i] += sites[i].neurons * simulated
            }
            for e in r.synapticEvents { events[e.name, default: (0, e.fanOut)].events += e.events }
            stepsTotal += simulated
            progress?("snn", end, n)
        }
        let snnSeconds = Date().timeIntervalSince(clock)
        let classes = annLogits.shape[1]
        let final = Tensor(shape: [n, classes], scalars: snnLogits)

        var report = EvaluationReport(
            model: converted.model.source, method: converted.method, levels: converted.plan.levels, samples: n)
        report.ann = .init(accuracy: data.labels.map { Prediction.accuracy(annLogits, labels: $0) },
                           secondsPerImage: annSeconds / Double(max(n, 1)))
        report.qann = .init(accuracy: data.labels.map { Prediction.accuracy(qannLogits, labels: $0) },
                            agreementWithANN: Prediction.agreement(qannPred, annPred))
        var snn = EvaluationReport.SNN(timesteps: Array(1...T), untilQuiet: options.untilQuiet)
        snn.accuracy = data.labels.map { labels in perStep.map { Prediction.agreement($0, labels) } }
        snn.agreementWithANN = perStep.map { Prediction.agreement($0, annPred) }
        snn.agreementWithQANN = perStep.map { Prediction.agreement($0, qannPred) }
        snn.maxAbsLogitDifferenceToQANN = Double(final.maxAbsDifference(qannLogits))
        let settled = settle.compactMap { $0 }
        snn.settleSteps = SettleStatistics(settled, unsettled: n - settled.count)
        snn.secondsPerImage = snnSeconds / Double(max(n, 1))
        snn.meanStepsRun = Double(stepsTotal) / Double(max(n, 1))
        report.snn = snn
        report.sites = sites.indices.map { i in
            EvaluationReport.SiteStatistics(
                site: sites[i].name, neurons: sites[i].neurons, spikes: siteSpikes[i],
                firingRate: neuronSteps[i] == 0 ? 0 : Double(siteSpikes[i]) / Double(neuronSteps[i]),
                spikesPerImage: Double(siteSpikes[i]) / Double(max(n, 1)))
        }
        report.synapticEvents = events.keys.sorted().map { k in
            EvaluationReport.SynapticLayer(layer: k, inputEvents: events[k]!.events,
                                           synapticOperations: events[k]!.events * events[k]!.fanOut)
        }
        report.blasCore = BLAS.coreName
        report.batchSize = bs
        return report
    }
}
