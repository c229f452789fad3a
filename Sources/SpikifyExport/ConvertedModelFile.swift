import Foundation
import HDF5
import SpikifyConversion
import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// The converted-model file (HDF5), versioned and self-describing; see docs/converted-format.md.
///
/// ```
/// /                 attributes: format = "spikify-snn", format_version = 2, method, spikify_version,
///                   source_file, source_sha256 (and any other metadata)
/// /config           string: JSON of the source ViT configuration
/// /graph            string: JSON of the spiking graph (values, operator nodes in execution order, input, output,
///                   simulation semantics)
/// /tensors/<name>   float32 tensors: the source ANN's parameters named as in timm (qkv split into attn.q/k/v),
///                   and every tensor the nodes reference
/// /<method>/        the method's own data (SpikeZIP-TF: levels and one group per neuron site)
/// ```
/// Reading a file back gives the same graph, tensors and method state bit for bit, after validating every
/// operator against its spec and the method's state against the graph.
public enum ConvertedModelFile {
    public static let format = "spikify-snn"
    public static let version = 2

    /// True when `path` is an HDF5 file written by ``write(_:to:)`` (any format version).
    public static func isConverted(_ path: String) -> Bool {
        guard let file = try? HDF5File.open(path), let attr = try? file.root.attribute("format") else { return false }
        return attr == .string(format)
    }

    /// Writes atomically (temporary file, then rename).
    public static func write(_ converted: ConvertedModel, to path: String) throws {
        let g = converted.graph
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let graphJSON: String, configJSON: String
        do {
            graphJSON = String(decoding: try encoder.encode(GraphDescription(g)), as: UTF8.self)
            configJSON = String(decoding: try encoder.encode(converted.model.config), as: UTF8.self)
        } catch {
            throw SpikifyError.invalidArgument("cannot write \(path): the graph or configuration holds a value JSON cannot "
                + "represent (\(error))")
        }
        try hdf5 {
            try HDF5File.write(atomically: path) { file in
                let root = file.root
                try root.setAttribute("format", .string(format))
                try root.setAttribute("format_version", .int(Int64(version)))
                try root.setAttribute("spikify_version", .string(SpikifyVersion.string))
                for (k, v) in g.metadata.sorted(by: { $0.key < $1.key }) where !["format", "file"].contains(k) {
                    try root.setAttribute(k, .string(v))
                }
                try root.setAttribute("method", .string(converted.method))
                try root.write("config", strings: [configJSON], shape: [])
                try root.write("graph", strings: [graphJSON], shape: [])
                let tensors = try root.createGroup("tensors")
                let all = converted.model.weights.canonicalTensors(config: converted.model.config)
                    .merging(g.tensors) { _, graph in graph }
                for (name, t) in all.sorted(by: { $0.key < $1.key }) {
                    try tensors.write(name, floats: t.scalars, shape: t.shape)
                }
                try converted.state.write(to: try root.createGroup(converted.method))
            }
        }
    }

    public static func read(_ path: String) throws -> ConvertedModel {
        ConversionMethods.prepare()
        let file = try hdf5 { try HDF5File.open(path) }
        let root = file.root
        guard try hdf5({ try root.attribute("format") }) == .string(format) else {
            throw SpikifyError.invalidData(file: path, message: "not a Spikify converted model (no format = \"\(format)\")")
        }
        guard case .int(let v)? = try hdf5({ try root.attribute("format_version") }) else {
            throw SpikifyError.invalidData(file: path, message: "no integer 'format_version' attribute")
        }
        guard v == version else {
            let how = v < version
                ? "it was written by Spikify 0.1; convert the source model again with this version (spikify convert --model "
                    + "SOURCE --out \(path))"
                : "it was written by a newer Spikify; use that version"
            throw SpikifyError.invalidData(file: path, message: "format_version \(v) is not readable by Spikify "
                + "\(SpikifyVersion.string), which reads format_version \(version): \(how)")
        }
        var metadata: [String: String] = [:]
        for name in try hdf5({ try root.attributeNames() }) {
            if case .string(let s)? = try hdf5({ try root.attribute(name) }) { metadata[name] = s }
        }
        guard let methodName = metadata["method"] else {
            throw SpikifyError.invalidData(file: path, message: "no 'method' attribute")
        }
        let method = try ConversionMethods.method(named: methodName)
        let decoder = JSONDecoder()
        func json<T: Decodable>(_ name: String, _ type: T.Type) throws -> T {
            guard root.isDataset(name) else { throw SpikifyError.invalidData(file: path, message: "no '\(name)' dataset") }
            let text = try hdf5 { try root.dataset(name).readStrings() }.first ?? ""
            do { return try decoder.decode(T.self, from: Data(text.utf8)) } catch {
                throw SpikifyError.invalidData(file: path, message: "'\(name)' is not valid: \(error)")
            }
        }
        let config = try json("config", ViTConfig.self)
        try config.validate(file: path)
        let description = try json("graph", GraphDescription.self)
        var tensors: [String: Tensor] = [:]
        guard root.isGroup("tensors") else { throw SpikifyError.invalidData(file: path, message: "no 'tensors' group") }
        let tensorGroup = try hdf5 { try root.group("tensors") }
        for name in try hdf5({ try tensorGroup.childNames() }) {
            let ds = try hdf5 { try tensorGroup.dataset(name) }
            tensors[name] = Tensor(shape: ds.shape, scalars: try hdf5 { try ds.readFloats() })
        }
        metadata["file"] = path
        let referenced = Set(description.nodes.flatMap { $0.tensors.values })
        let graph = SpikingGraph(values: description.values, nodes: description.nodes, input: description.input,
                                 output: description.output, tensors: tensors.filter { referenced.contains($0.key) },
                                 semantics: description.semantics,
                                 metadata: metadata, config: config)
        try graph.validate()
        let weights = try ViTWeights(canonical: tensors, config: config, file: path)
        let model = ViTModel(config: config, weights: weights, source: path)
        guard root.isGroup(methodName) else {
            throw SpikifyError.invalidData(file: path, message: "no '/\(methodName)' group with the method's data")
        }
        let state = try method.readState(from: try hdf5 { try root.group(methodName) }, file: path, graph: graph, model: model)
        return ConvertedModel(model: model, graph: graph, state: state)
    }
}

/// The serialised structure of a spiking graph (everything but tensors, metadata and config).
struct GraphDescription: Codable {
    var values: [ValueInfo]
    var nodes: [OperatorNode]
    var input: Int
    var output: Int
    var semantics: SimulationSemantics

    init(_ g: SpikingGraph) {
        values = g.values
        nodes = g.nodes
        input = g.input
        output = g.output
        semantics = g.semantics
    }
}
