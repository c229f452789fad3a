import HDF5
import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// The result of a conversion: the source ANN, the spiking graph, and the method's own state (for SpikeZIP-TF
/// its quantizers). Evaluation and export work on this alone, whatever the method.
public struct ConvertedModel: Sendable {
    public var model: ViTModel
    public var graph: SpikingGraph
    package var state: any MethodState

    package init(model: ViTModel, graph: SpikingGraph, state: any MethodState) {
        self.model = model
        self.graph = graph
        self.state = state
    }

    /// The conversion method's name (`spikezip`, …).
    public var method: String { type(of: state).method }
    /// Quantization levels, for methods that quantize.
    public var levels: Int? { state.levels }
    /// The network the SNN is built to reproduce and is measured against (SpikeZIP-TF: the QANN).
    public var reference: ReferenceNetwork { state.referenceNetwork(for: model) }
    /// What the method records about itself (levels, step source, …), for summaries and reports.
    public var methodDescription: [String: String] { state.description }
    /// The method's intermediate networks between the ANN and ``reference`` (docs/architecture.md, "Reference
    /// networks"); empty for most methods.
    public var stages: [ReferenceNetwork] { state.stages(for: model) }
    /// Warnings for running this SNN for `timesteps` steps (empty when nothing is amiss).
    public func warnings(timesteps: Int) -> [String] { state.warnings(timesteps: timesteps) }
    /// The largest spike a neuron emits in one step (1 for single-spike methods; docs/latency.md).
    public var burst: Int { state.burst }

    /// The same network with neurons that emit up to `burst` spikes per step (`--burst B`, docs/latency.md).
    /// Methods without graded spikes accept only 1; the reference network does not change.
    public func withBurst(_ burst: Int) throws -> ConvertedModel {
        var copy = self
        copy.state = try state.settingBurst(burst, graph: &copy.graph)
        return copy
    }
}

/// The network a method's SNN is measured against, with the name reports use for it (`qann` for SpikeZIP-TF).
public struct ReferenceNetwork: Sendable {
    /// Short name, used as a report key (`reference.name`).
    public let name: String
    /// One line describing it.
    public let description: String
    private let run: @Sendable (Tensor) -> Tensor

    public init(name: String, description: String, logits: @escaping @Sendable (Tensor) -> Tensor) {
        self.name = name
        self.description = description
        run = logits
    }

    /// Logits `[batch, classes]` for normalised images `[batch, C, H, W]`.
    public func logits(_ images: Tensor) -> Tensor { run(images) }
}

/// A method's own data in a converted model: saved in the file's group named after the method, and the source of
/// the method's reference network.
package protocol MethodState: Sendable {
    /// The method that made it (its registry name).
    static var method: String { get }
    var levels: Int? { get }
    var description: [String: String] { get }
    func referenceNetwork(for model: ViTModel) -> ReferenceNetwork
    /// Writes the state into the method's group of a converted file.
    func write(to group: HDF5Group) throws
    /// Whether another state holds the same data (a saved and reloaded model compares equal).
    func isEqual(to other: any MethodState) -> Bool
    /// The largest spike per neuron and step (methods with graded spikes; 1 otherwise).
    var burst: Int { get }
    /// Sets the largest spike per neuron and step on the graph's neurons; returns the updated state. Methods
    /// without graded spikes accept only 1.
    func settingBurst(_ burst: Int, graph: inout SpikingGraph) throws -> any MethodState
    /// Further networks between the ANN and the reference network that evaluations also measure (a method's
    /// ladder of approximations, in order); none by default.
    func stages(for model: ViTModel) -> [ReferenceNetwork]
    /// Warnings for running the SNN for `timesteps` steps (a method calibrated for another T, say); none by default.
    func warnings(timesteps: Int) -> [String]
}

extension MethodState {
    package func stages(for model: ViTModel) -> [ReferenceNetwork] { [] }
    package func warnings(timesteps: Int) -> [String] { [] }
    package var burst: Int { 1 }
    package func settingBurst(_ burst: Int, graph: inout SpikingGraph) throws -> any MethodState {
        guard burst == 1 else {
            throw SpikifyError.invalidArgument("--burst \(burst): \(Self.method) neurons emit single spikes only; "
                + "expected --burst 1")
        }
        return self
    }
}

extension MethodState where Self: Equatable {
    package func isEqual(to other: any MethodState) -> Bool { (other as? Self) == self }
}
