import Foundation

/// Distribution of per-sample settle steps (steps until the output stopped changing).
public struct SettleStatistics: Codable, Sendable, Equatable {
    public var min: Int?, median: Double?, p99: Int?, max: Int?, mean: Double?
    /// Samples still active at the last step run.
    public var unsettled: Int

    public init(_ steps: [Int], unsettled: Int) {
        let s = steps.sorted()
        self.unsettled = unsettled
        guard !s.isEmpty else { return }
        min = s.first
        max = s.last
        median = s.count % 2 == 1 ? Double(s[s.count / 2]) : Double(s[s.count / 2 - 1] + s[s.count / 2]) / 2
        p99 = s[Swift.min(s.count - 1, Int((0.99 * Double(s.count)).rounded(.up)) - 1)]
        mean = Double(s.reduce(0, +)) / Double(s.count)
    }
}

/// The JSON report of `spikify eval` (keys in snake_case; accuracies are fractions).
public struct EvaluationReport: Codable, Sendable {
    public struct ANN: Codable, Sendable {
        public var accuracy: Double?
        public var secondsPerImage: Double
    }
    public struct QANN: Codable, Sendable {
        public var accuracy: Double?
        public var agreementWithANN: Double
    }
    public struct SNN: Codable, Sendable {
        /// Timesteps t = 1…T; entry i describes the accumulated output after `timesteps[i]` steps. Samples that
        /// went quiet earlier keep their settled output, so the last entry is each sample's settled state (or its
        /// state at T when it did not settle: see `settleSteps.unsettled`). `untilQuiet` records the CLI flag.
        public var timesteps: [Int]
        public var untilQuiet: Bool
        public var accuracy: [Double]?
        public var agreementWithANN: [Double] = []
        public var agreementWithQANN: [Double] = []
        public var settleSteps = SettleStatistics([], unsettled: 0)
        /// Largest |SNN logit − QANN logit| after the last step, over all samples.
        public var maxAbsLogitDifferenceToQANN: Double = 0
        public var secondsPerImage: Double = 0
        /// Mean number of steps a sample was simulated (until quiet, at most T).
        public var meanStepsRun: Double = 0

        init(timesteps: [Int], untilQuiet: Bool) {
            self.timesteps = timesteps
            self.untilQuiet = untilQuiet
        }
    }
    public struct SiteStatistics: Codable, Sendable {
        public var site: String
        public var neurons: Int
        public var spikes: Int
        /// Spikes per neuron per simulated step (a sample is simulated until it is quiet, or for all steps).
        public var firingRate: Double
        /// Spikes per image, summed over the steps.
        public var spikesPerImage: Double
    }
    public struct SynapticLayer: Codable, Sendable {
        public var layer: String
        public var inputEvents: Int
        public var synapticOperations: Int
    }

    public var model: String
    public var method: String
    public var levels: Int
    public var samples: Int
    public var spikifyVersion = SpikifyVersion.string
    public var blasCore = ""
    public var batchSize = 0
    public var ann = ANN(accuracy: nil, secondsPerImage: 0)
    public var qann = QANN(accuracy: nil, agreementWithANN: 0)
    public var snn = SNN(timesteps: [], untilQuiet: false)
    public var sites: [SiteStatistics] = []
    public var synapticEvents: [SynapticLayer] = []

    init(model: String, method: String, levels: Int, samples: Int) {
        self.model = model
        self.method = method
        self.levels = levels
        self.samples = samples
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }

    /// Writes the JSON atomically (temporary file, then rename).
    public func write(to path: String) throws {
        try AtomicFile.write(try json(), to: path)
    }

    /// The accuracy-vs-T table: selected t (powers of two and their midpoints, and T).
    public func table() -> String {
        let T = snn.timesteps.count
        var rows = Set([1, T])
        var p = 1
        while p <= T { rows.insert(p); if p + p / 2 <= T && p >= 2 { rows.insert(p + p / 2) }; p *= 2 }
        func pct(_ x: Double?) -> String { x.map { String(format: "%7.2f%%", 100 * $0) } ?? "      —" }
        var lines = ["     t   SNN acc  agree ANN  agree QANN"]
        for t in rows.sorted() {
            let i = t - 1
            lines.append(String(format: "%6d  %@   %@    %@", t, pct(snn.accuracy?[i]), pct(snn.agreementWithANN[i]),
                                pct(snn.agreementWithQANN[i])))
        }
        lines.append(String(format: "   ANN  %@", pct(ann.accuracy)))
        lines.append(String(format: "  QANN  %@   %@", pct(qann.accuracy), pct(qann.agreementWithANN)))
        return lines.joined(separator: "\n")
    }
}
