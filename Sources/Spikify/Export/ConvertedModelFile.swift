import Foundation
import HDF5

/// The converted-model file (HDF5), versioned and self-describing; see docs/converted-format.md.
///
/// ```
/// /                 attributes: format = "spikify-snn", format_version, method, levels, spikify_version,
///                   source_file, source_sha256 (and any other metadata)
/// /config           string: JSON of the source ViT configuration
/// /graph            string: JSON of the spiking graph (values, operators in execution order, input, output)
/// /tensors/<name>   float32 parameters named as in timm (qkv split into attn.q/k/v), referenced by the graph
/// /sites/<site>     one group per neuron site: attributes step (θ), lower, upper, signed
/// ```
/// Reading a file back gives the same graph, tensors and quantizers bit for bit.
public enum ConvertedModelFile {
    public static let format = "spikify-snn"
    public static let version = 1

    /// True when `path` is an HDF5 file written by ``write(_:to:)``.
    public static func isConverted(_ path: String) -> Bool {
        guard let file = try? HDF5File.open(path), let attr = try? file.root.attribute("format") else { return false }
        return attr == .string(format)
    }

    /// Writes atomically (temporary file, then rename).
    public static func write(_ converted: ConvertedModel, to path: String) throws {
        let g = converted.graph
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let graphJSON = String(decoding: try encoder.encode(GraphDescription(g)), as: UTF8.self)
        let configJSON = String(decoding: try encoder.encode(converted.model.config), as: UTF8.self)
        try hdf5 {
            try HDF5File.write(atomically: path) { file in
                let root = file.root
                try root.setAttribute("format", .string(format))
                try root.setAttribute("format_version", .int(Int64(version)))
                try root.setAttribute("spikify_version", .string(SpikifyVersion.string))
                for (k, v) in g.metadata.sorted(by: { $0.key < $1.key }) where k != "format" {
                    try root.setAttribute(k, .string(v))
                }
                try root.write("config", strings: [configJSON], shape: [])
                try root.write("graph", strings: [graphJSON], shape: [])
                let tensors = try root.createGroup("tensors")
                for (name, t) in g.tensors.sorted(by: { $0.key < $1.key }) {
                    try tensors.write(name, floats: t.scalars, shape: t.shape)
                }
                let sites = try root.createGroup("sites")
                for (site, q) in converted.plan.quantizers.sorted(by: { $0.key < $1.key }) {
                    let s = try sites.createGroup(site.name)
                    try s.setAttribute("step", .double(Double(q.step)))
                    try s.setAttribute("lower", .int(Int64(q.lower)))
                    try s.setAttribute("upper", .int(Int64(q.upper)))
                    try s.setAttribute("signed", .int(q.lower < 0 ? 1 : 0))
                }
            }
        }
    }

    public static func read(_ path: String) throws -> ConvertedModel {
        let file = try hdf5 { try HDF5File.open(path) }
        let root = file.root
        guard try hdf5({ try root.attribute("format") }) == .string(format) else {
            throw SpikifyError.invalidData(file: path, message: "not a Spikify converted model (no format = \"\(format)\")")
        }
        guard case .int(let v)? = try hdf5({ try root.attribute("format_version") }), v <= version else {
            throw SpikifyError.invalidData(file: path, message: "unsupported format_version (this Spikify reads ≤ \(version))")
        }
        var metadata: [String: String] = [:]
        for name in try hdf5({ try root.attributeNames() }) {
            if case .string(let s)? = try hdf5({ try root.attribute(name) }) { metadata[name] = s }
        }
        let decoder = JSONDecoder()
        func json<T: Decodable>(_ name: String, _ type: T.Type) throws -> T {
            let text = try hdf5 { try root.dataset(name).readStrings() }.first ?? ""
            do { return try decoder.decode(T.self, from: Data(text.utf8)) } catch {
                throw SpikifyError.invalidData(file: path, message: "'\(name)' is not valid: \(error)")
            }
        }
        let config = try json("config", ViTConfig.self)
        let description = try json("graph", GraphDescription.self)
        var tensors: [String: Tensor] = [:]
        let tensorGroup = try hdf5 { try root.group("tensors") }
        for name in try hdf5({ try tensorGroup.childNames() }) {
            let ds = try hdf5 { try tensorGroup.dataset(name) }
            tensors[name] = Tensor(shape: ds.shape, scalars: try hdf5 { try ds.readFloats() })
        }
        var quantizers: [Site: ActivationQuantizer] = [:]
        let siteGroup = try hdf5 { try root.group("sites") }
        for name in try hdf5({ try siteGroup.childNames() }) {
            guard let site = Site(name: name) else {
                throw SpikifyError.invalidData(file: path, message: "unknown site '\(name)' in /sites")
            }
            let g = try hdf5 { try siteGroup.group(name) }
            guard case .double(let step)? = try hdf5({ try g.attribute("step") }),
                  case .int(let lo)? = try hdf5({ try g.attribute("lower") }),
                  case .int(let hi)? = try hdf5({ try g.attribute("upper") })
            else { throw SpikifyError.invalidData(file: path, message: "site '\(name)' lacks step, lower or upper") }
            quantizers[site] = ActivationQuantizer(step: Float(step), lower: Int(lo), upper: Int(hi))
        }
        metadata["file"] = path
        let graph = SpikingGraph(values: description.values, ops: description.ops, input: description.input,
                                 output: description.output, tensors: tensors, metadata: metadata, config: config)
        try graph.validate(file: path)
        let weights = try ViTWeights(canonical: tensors, config: config, file: path)
        let levels = Int(metadata["levels"] ?? "") ?? config.levels ?? 0
        let model = ViTModel(config: config, weights: weights, source: path)
        return ConvertedModel(model: model, plan: QuantizationPlan(levels: levels, quantizers: quantizers), graph: graph)
    }
}

/// The serialised structure of a spiking graph (everything but tensors, metadata and config).
struct GraphDescription: Codable {
    var values: [ValueInfo]
    var ops: [SpikingOp]
    var input: Int
    var output: Int

    init(_ g: SpikingGraph) {
        values = g.values
        ops = g.ops
        input = g.input
        output = g.output
    }
}
