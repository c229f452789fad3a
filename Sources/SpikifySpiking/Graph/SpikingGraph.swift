import SpikifyCore
import SpikifyModel

/// A converted network: values, operator nodes in execution order, parameter tensors, how it is simulated, and a
/// description. Produced by a conversion method, run by ``SpikingExecutor``, saved in converted-model files.
public struct SpikingGraph: Sendable, Equatable {
    public var values: [ValueInfo]
    public var nodes: [OperatorNode]
    /// The analog image input, `[channels, height·width]` per sample.
    public var input: Int
    /// The output whose accumulated total (or mean, per ``SimulationSemantics/readout``) gives the logits
    /// (`[1, classes]` per sample).
    public var output: Int
    public var tensors: [String: Tensor]
    public var semantics: SimulationSemantics
    /// Free-form description: method, source model, its SHA-256, and so on.
    public var metadata: [String: String]
    /// The configuration of the source model (image size, normalisation, classes).
    public var config: ViTConfig

    public init(values: [ValueInfo], nodes: [OperatorNode], input: Int, output: Int, tensors: [String: Tensor],
                semantics: SimulationSemantics, metadata: [String: String], config: ViTConfig) {
        self.values = values
        self.nodes = nodes
        self.input = input
        self.output = output
        self.tensors = tensors
        self.semantics = semantics
        self.metadata = metadata
        self.config = config
    }

    /// Neuron sites in execution order with their neuron count per sample (nodes that declare a site).
    public var neuronSites: [(site: String, neurons: Int)] {
        nodes.compactMap { node in
            guard let site = node.site, let out = node.outputs.first, values.indices.contains(out) else { return nil }
            return (site, values[out].perSample)
        }
    }

    /// The file or description used in error messages.
    public var origin: String { metadata["file"] ?? "<graph>" }
}

/// Builds a graph value by value (used by conversion methods).
public struct SpikingGraphBuilder {
    public private(set) var values: [ValueInfo] = []
    public private(set) var nodes: [OperatorNode] = []
    public private(set) var tensors: [String: Tensor] = [:]

    public init() {}

    public mutating func value(_ name: String, rows: Int, width: Int) -> Int {
        values.append(ValueInfo(name: name, rows: rows, width: width))
        return values.count - 1
    }

    public mutating func tensor(_ name: String, _ scalars: [Float], shape: [Int]) -> String {
        tensors[name] = Tensor(shape: shape, scalars: scalars)
        return name
    }

    public mutating func tensor(_ name: String, _ t: Tensor) -> String {
        tensors[name] = t
        return name
    }

    public mutating func append(_ node: OperatorNode) { nodes.append(node) }

    /// A new value shaped like `like` (or `rows × width`) written by a node of `kind` reading `inputs`.
    @discardableResult
    public mutating func add(_ kind: String, _ inputs: [Int], output name: String, rows: Int, width: Int,
                             tensors: [String: String] = [:], attributes: [String: AttributeValue] = [:],
                             site: String? = nil) -> Int {
        let out = value(name, rows: rows, width: width)
        nodes.append(OperatorNode(kind: kind, inputs: inputs, outputs: [out], tensors: tensors,
                                  attributes: attributes, site: site))
        return out
    }

    public func info(_ v: Int) -> ValueInfo { values[v] }

    public func graph(input: Int, output: Int, semantics: SimulationSemantics, metadata: [String: String],
                      config: ViTConfig) -> SpikingGraph {
        SpikingGraph(values: values, nodes: nodes, input: input, output: output, tensors: tensors,
                     semantics: semantics, metadata: metadata, config: config)
    }
}
