import Foundation
import HDF5
import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// STA's data in a converted model: the fitted UGOs, the softmax reference and the T the neuron thresholds were
/// calibrated for (the thresholds themselves are the `threshold` tensors of the graph's `sta.neuron` nodes). Its
/// reference network is the FNN of the released code: the SNN's graph in float with every UGO (neurons as ReLU or
/// identity, one step); the GNN (the ANN with the GELU UGO) is an extra stage of the ladder.
///
/// Saved as group `/sta` (docs/converted-format.md): attributes `timesteps`, `softmax_reference`, `ugo_neurons`,
/// `calibration_images`, `softmax_reference_choice`, and one group per UGO `ugos/<name>` with attributes `function`, `lower`, `upper`, `w1`,
/// `b1`, `w2` (arrays) and `b2`.
package struct STAState: MethodState, Equatable {
    package static let method = STAMethod.name
    package var timesteps: Int
    package var reference: SoftmaxReference
    package var ugoNeurons: Int
    package var ugos: [String: UGO]
    package var calibrationImages: Int
    /// How the softmax reference was chosen: `given`, or `auto: …` with the agreements measured.
    package var referenceChoice: String

    package var levels: Int? { nil }
    package var description: [String: String] {
        ["timesteps": String(timesteps), "softmax_reference": reference.rawValue, "ugo_neurons": String(ugoNeurons),
         "ugos": String(ugos.count), "calibration_images": String(calibrationImages),
         "softmax_reference_choice": referenceChoice]
    }

    /// The float network of `stage` as logits (one step of the float graph).
    static func floatNetwork(_ model: ViTModel, stage: STAStage, ugos: [String: UGO], name: String,
                             description: String) -> ReferenceNetwork {
        let graph = STAGraph.build(model, stage: stage, ugos: ugos, thresholds: [:], metadata: [:]).graph
        let classes = model.config.numClasses, spare = SpareExecutor()
        return ReferenceNetwork(name: name, description: description) { images in
            let batch = images.shape[0]
            guard let executor = spare.take(capacity: batch) ?? (try? SpikingExecutor(graph: graph, batchCapacity: batch)),
                  let r = try? executor.run(images, timesteps: 1)
            else { return Tensor(shape: [batch, classes], scalars: [Float](repeating: .nan, count: batch * classes)) }
            spare.give(executor)
            return r.logits
        }
    }

    package func referenceNetwork(for model: ViTModel) -> ReferenceNetwork {
        Self.floatNetwork(model, stage: .float(reference), ugos: ugos, name: "fnn",
                          description: "the SNN's graph in float with every UGO (\(reference.rawValue) softmax "
                            + "reference\(referenceChoice == "given" ? "" : " — " + referenceChoice), \(ugoNeurons) hidden "
                            + "units per UGO)")
    }

    package func stages(for model: ViTModel) -> [ReferenceNetwork] {
        guard model.config.activation == .gelu else { return [] }
        return [Self.floatNetwork(model, stage: .gelu, ugos: ugos, name: "gnn",
                                  description: "the ANN with GELU replaced by its UGO")]
    }

    package func warnings(timesteps evaluated: Int) -> [String] {
        evaluated == timesteps ? [] : ["sta: the neuron thresholds were calibrated for T = \(timesteps); this run "
            + "uses T = \(evaluated) (convert again with --timesteps \(evaluated) for thresholds that fit it)"]
    }

    package func write(to group: HDF5Group) throws {
        try group.setAttribute("timesteps", .int(Int64(timesteps)))
        try group.setAttribute("softmax_reference", .string(reference.rawValue))
        try group.setAttribute("ugo_neurons", .int(Int64(ugoNeurons)))
        try group.setAttribute("calibration_images", .int(Int64(calibrationImages)))
        try group.setAttribute("softmax_reference_choice", .string(referenceChoice))
        let all = try group.createGroup("ugos")
        for (name, u) in ugos.sorted(by: { $0.key < $1.key }) {
            let g = try all.createGroup(name)
            try g.setAttribute("function", .string(u.function.rawValue))
            try g.setAttribute("lower", .double(Double(u.lower)))
            try g.setAttribute("upper", .double(Double(u.upper)))
            try g.setAttribute("w1", .doubles(u.w1.map(Double.init)))
            try g.setAttribute("b1", .doubles(u.b1.map(Double.init)))
            try g.setAttribute("w2", .doubles(u.w2.map(Double.init)))
            try g.setAttribute("b2", .double(Double(u.b2)))
        }
    }

    /// Reads and checks the state: known reference, positive T, every UGO well-formed and equal to the graph's
    /// `<name>.w1|b1|w2|b2` tensors.
    static func read(from group: HDF5Group, file: String, graph: SpikingGraph) throws -> STAState {
        func bad(_ message: String) -> SpikifyError { .invalidData(file: file, message: "/\(STAMethod.name): \(message)") }
        func int(_ g: HDF5Group, _ name: String, _ range: ClosedRange<Int>) throws -> Int {
            guard let v = try hdf5({ try g.attribute(name) })?.intValue, let i = Int(exactly: v), range.contains(i) else {
                throw bad("attribute '\(name)' is missing or not an integer in \(range.lowerBound) … \(range.upperBound)")
            }
            return i
        }
        guard case .string(let referenceName)? = try hdf5({ try group.attribute("softmax_reference") }),
              let reference = SoftmaxReference(rawValue: referenceName)
        else { throw bad("attribute 'softmax_reference' is missing or not cls or max") }
        var state = STAState(timesteps: try int(group, "timesteps", 1...(1 << 20)), reference: reference,
                             ugoNeurons: try int(group, "ugo_neurons", 1...4096), ugos: [:],
                             calibrationImages: try int(group, "calibration_images", 0...(1 << 40)),
                             referenceChoice: "")
        guard case .string(let choice)? = try hdf5({ try group.attribute("softmax_reference_choice") }) else {
            throw bad("attribute 'softmax_reference_choice' is missing or not a string")
        }
        state.referenceChoice = choice
        let all = try hdf5 { try group.group("ugos") }
        for name in try hdf5({ try all.childNames() }) {
            let g = try hdf5 { try all.group(name) }
            func floats(_ key: String) throws -> [Float] {
                switch try hdf5({ try g.attribute(key) }) {
                case .doubles(let v)?: return v.map(Float.init)
                case .double(let v)?: return [Float(v)]
                default: throw bad("UGO '\(name)' lacks the numeric attribute '\(key)'")
                }
            }
            guard case .string(let fn)? = try hdf5({ try g.attribute("function") }), let function = UGOFunction(rawValue: fn)
            else { throw bad("UGO '\(name)' has no known 'function'") }
            let lower = try floats("lower"), upper = try floats("upper"), b2 = try floats("b2")
            let u = UGO(function: function, lower: lower.first ?? 0, upper: upper.first ?? 0, w1: try floats("w1"),
                        b1: try floats("b1"), w2: try floats("w2"), b2: b2.first ?? 0)
            let k = u.neurons
            guard k >= 1, u.b1.count == k, u.w2.count == k, lower.count == 1, upper.count == 1, b2.count == 1,
                  u.lower < u.upper, (u.w1 + u.b1 + u.w2 + [u.b2]).allSatisfy(\.isFinite)
            else { throw bad("UGO '\(name)' is malformed (sizes, domain or non-finite weights)") }
            for (role, values) in [("w1", u.w1), ("b1", u.b1), ("w2", u.w2), ("b2", [u.b2])] {
                guard graph.tensors[name + "." + role]?.scalars == values else {
                    throw bad("UGO '\(name)': the graph's tensor '\(name).\(role)' differs from the saved operator")
                }
            }
            state.ugos[name] = u
        }
        let used = Set(graph.nodes.filter { $0.kind == UGOInputSpec.kind }.compactMap { $0.tensors["w1"] })
        let missing = used.subtracting(state.ugos.keys.map { $0 + ".w1" })
        if let first = missing.sorted().first { throw bad("the graph uses a UGO ('\(first)') that /sta/ugos lacks") }
        return state
    }
}

/// The last float-network executor, reused by the next call of the same batch size (allocating one per batch costs
/// more than the float network's single step); concurrent callers each get their own.
private final class SpareExecutor: @unchecked Sendable {
    private let lock = NSLock()
    private var executor: SpikingExecutor?
    func take(capacity: Int) -> SpikingExecutor? {
        lock.withLock {
            guard let e = executor, e.capacity == capacity else { return nil }
            executor = nil
            return e
        }
    }
    func give(_ e: SpikingExecutor) { lock.withLock { executor = e } }
}

extension ConvertedModel {
    /// The STA UGOs by name (nil for other methods).
    public var universalGroupOperators: [String: UGO]? { (state as? STAState)?.ugos }
}
