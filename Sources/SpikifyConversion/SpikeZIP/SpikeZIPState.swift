import HDF5
import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// SpikeZIP-TF's data in a converted model: the quantization plan (levels, and per site the step s = θ and the
/// count bounds). Its reference network is the QANN: the ANN with these quantizers (docs/methods/spikezip.md).
///
/// Saved in the converted file as group `/spikezip` (docs/converted-format.md): attribute `levels`, attribute
/// `steps` (`checkpoint` or `calibrated`), and one group per site `sites/<site>` with attributes `step`, `lower`,
/// `upper`, `signed`; and attribute `burst` (the largest spike per neuron and step; absent in files written before
/// burst spikes, which means 1).
package struct SpikeZIPState: MethodState, Equatable {
    package static let method = SpikeZIPMethod.name
    package var plan: QuantizationPlan
    package var stepSource: String
    /// Largest spike B of every ST-BIF+ neuron (1: the paper's single-spike neurons; docs/latency.md).
    package var burst: Int = 1

    package var levels: Int? { plan.levels }
    package var description: [String: String] {
        ["levels": String(plan.levels), "steps": stepSource, "burst": String(burst)]
    }

    /// The same network with burst B: every `spikezip.stbif` node's `burst` attribute, the state and the metadata.
    /// The settled output does not depend on B (docs/latency.md), so the QANN stays the reference.
    package func settingBurst(_ b: Int, graph: inout SpikingGraph) throws -> any MethodState {
        try Self.checkBurst(b, levels: plan.levels, what: "--burst")
        for i in graph.nodes.indices where graph.nodes[i].kind == STBIFSpec.kind {
            graph.nodes[i].attributes["burst"] = .int(b)
        }
        graph.metadata["burst"] = String(b)
        var state = self
        state.burst = b
        return state
    }

    /// B must be 1 … levels: a larger spike never fits within the count bounds of `levels` levels.
    static func checkBurst(_ b: Int, levels: Int, what: String) throws {
        guard (1...levels).contains(b) else {
            throw SpikifyError.invalidArgument("\(what) is \(b); expected 1 … \(levels) (the quantization levels: no "
                + "neuron can emit more spikes than levels in one step)")
        }
    }

    package func referenceNetwork(for model: ViTModel) -> ReferenceNetwork {
        let qann = QuantizedViT(forward: ViTForward(model), plan: plan)
        return ReferenceNetwork(name: "qann", description: "quantized ANN, \(plan.levels) levels (\(stepSource) steps)") {
            qann.logits($0)
        }
    }

    /// Levels must give at least two integer levels and keep every count exactly representable.
    static func checkLevels(_ levels: Int, file: String) throws {
        guard (2...(1 << 24)).contains(levels) else {
            throw SpikifyError.invalidConfig(file: file, message: "levels is \(levels); expected 2 … \(1 << 24)")
        }
    }

    package func write(to group: HDF5Group) throws {
        try group.setAttribute("levels", .int(Int64(plan.levels)))
        try group.setAttribute("steps", .string(stepSource))
        try group.setAttribute("burst", .int(Int64(burst)))
        let sites = try group.createGroup("sites")
        for (site, q) in plan.quantizers.sorted(by: { $0.key < $1.key }) {
            let s = try sites.createGroup(site.name)
            try s.setAttribute("step", .double(Double(q.step)))
            try s.setAttribute("lower", .int(Int64(q.lower)))
            try s.setAttribute("upper", .int(Int64(q.upper)))
            try s.setAttribute("signed", .int(q.lower < 0 ? 1 : 0))
        }
    }

    /// Reads and checks the plan: every site of the model present, steps finite and positive, bounds those of
    /// `levels` for the site's signedness, and each neuron of the graph using its site's step and bounds.
    static func read(from group: HDF5Group, file: String, graph: SpikingGraph) throws -> SpikeZIPState {
        func bad(_ message: String) -> SpikifyError { .invalidData(file: file, message: "/\(SpikeZIPMethod.name): \(message)") }
        guard case .int(let rawLevels)? = try hdf5({ try group.attribute("levels") }), let levels = Int(exactly: rawLevels)
        else { throw bad("attribute 'levels' is missing or not an integer") }
        try checkLevels(levels, file: file)
        var source = "checkpoint"
        if case .string(let s)? = try hdf5({ try group.attribute("steps") }) { source = s }
        var burst = 1
        if let raw = try hdf5({ try group.attribute("burst") }) {
            guard case .int(let b) = raw, let value = Int(exactly: b), (1...levels).contains(value) else {
                throw bad("attribute 'burst' is \(raw); expected an integer 1 … \(levels)")
            }
            burst = value
        }
        let siteGroup = try hdf5 { try group.group("sites") }
        var quantizers: [Site: ActivationQuantizer] = [:]
        for name in try hdf5({ try siteGroup.childNames() }) {
            guard let site = Site(name: name) else { throw bad("unknown site '\(name)' in sites/") }
            let g = try hdf5 { try siteGroup.group(name) }
            guard case .double(let step)? = try hdf5({ try g.attribute("step") }),
                  case .int(let lo)? = try hdf5({ try g.attribute("lower") }),
                  case .int(let hi)? = try hdf5({ try g.attribute("upper") })
            else { throw bad("site '\(name)' lacks step, lower or upper") }
            let s = Float(step)
            guard s.isFinite, s > 0 else { throw bad("site '\(name)' has step \(step); expected a finite positive number") }
            let signed = site.isSigned(activation: graph.config.activation)
            let bounds = ActivationQuantizer.bounds(levels: levels, signed: signed)
            guard lo == Int64(bounds.lower), hi == Int64(bounds.upper) else {
                throw bad("site '\(name)' has bounds [\(lo), \(hi)], but \(levels) \(signed ? "signed" : "unsigned") levels "
                    + "give [\(bounds.lower), \(bounds.upper)]")
            }
            quantizers[site] = ActivationQuantizer(step: s, lower: bounds.lower, upper: bounds.upper)
        }
        let missing = Site.all(depth: graph.config.depth).filter { quantizers[$0] == nil }.map(\.name)
        if !missing.isEmpty { throw bad("missing \(missing.count) site(s): \(missing.joined(separator: ", "))") }
        for (index, node) in graph.nodes.enumerated() where node.kind == STBIFSpec.kind {
            guard let name = node.site, let site = Site(name: name), let q = quantizers[site],
                  node.attributes["threshold"] == .float(q.step), node.attributes["lower"] == .int(q.lower),
                  node.attributes["upper"] == .int(q.upper)
            else {
                throw SpikifyError.invalidOperator(file: file, index: index, kind: node.kind, site: node.site,
                    message: "threshold or bounds differ from the site's quantizer in /\(SpikeZIPMethod.name)/sites")
            }
            guard (node.attributes["burst"] ?? .int(1)) == .int(burst) else {
                throw SpikifyError.invalidOperator(file: file, index: index, kind: node.kind, site: node.site,
                    message: "burst differs from /\(SpikeZIPMethod.name) attribute 'burst' (\(burst))")
            }
        }
        return SpikeZIPState(plan: QuantizationPlan(levels: levels, quantizers: quantizers), stepSource: source,
                             burst: burst)
    }
}

extension ConvertedModel {
    /// The SpikeZIP-TF quantization plan (nil for other methods).
    public var plan: QuantizationPlan? { (state as? SpikeZIPState)?.plan }
}
