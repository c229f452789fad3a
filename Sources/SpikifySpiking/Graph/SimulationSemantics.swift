/// How a spiking graph is simulated, chosen by the conversion method and saved with the graph
/// (docs/architecture.md, "Simulation semantics"). The executor follows it and never asks which method built the
/// graph.
public struct SimulationSemantics: Codable, Sendable, Equatable {
    /// How the analog image enters the network.
    public enum InputCoding: Codable, Sendable, Equatable {
        /// The image is the input's increment at t = 0 only (SpikeZIP-TF: its total stays the image).
        case analogOnce
        /// The image is the input's increment at every step (MST, STA: the input total grows as (t+1)·image).
        case analogEveryStep
        /// As `analogEveryStep`, and the graph's operator of this kind turns it into spikes (a spike encoder).
        case encoder(kind: String)

        public var description: String {
            switch self {
            case .analogOnce: return "analog-once"
            case .analogEveryStep: return "analog-every-step"
            case .encoder(let kind): return "encoder:\(kind)"
            }
        }
    }

    /// How the output value becomes logits after t steps.
    public enum Readout: String, Codable, Sendable {
        /// The accumulated output (sum of increments over the steps run).
        case sum
        /// The accumulated output divided by the number of steps run.
        case mean
    }

    public var inputCoding: InputCoding
    public var readout: Readout
    /// True when a sample whose neurons are all silent at a step t ≥ 1 can never change again, so its output is
    /// final and it may leave the batch. Only methods whose inputs stop after t = 0 and whose operators are
    /// deterministic may declare it.
    public var quiescenceIsFinal: Bool
    /// Seed of the counter-based random bits (``CounterRandom``) of stochastic operators.
    public var seed: UInt64

    public init(inputCoding: InputCoding, readout: Readout, quiescenceIsFinal: Bool, seed: UInt64 = 0) {
        self.inputCoding = inputCoding
        self.readout = readout
        self.quiescenceIsFinal = quiescenceIsFinal
        self.seed = seed
    }
}
