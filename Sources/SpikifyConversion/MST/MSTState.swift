import HDF5
import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// Which spike trains the random spike mask drops (MST §3.3; docs/methods/mst.md).
public enum MaskSites: String, Sendable, Equatable, CaseIterable {
    /// Q spikes, K spikes and score spikes, as the released MST code.
    case attention
    /// Also the MLP's inputs (the norm2 spikes into fc1 and the fc1 spikes into fc2), as the paper's Fig. 2(e).
    case attentionAndMLP = "attention+mlp"
}

/// How the SNN treats signs and per-step nonlinearities.
public enum MSTMode: String, Sendable, Equatable, CaseIterable {
    /// MST as published: unsigned IF neurons; softmax and LayerNorm on each step's values.
    case standard
    /// Softmax, LayerNorm, GELU and the attention products on the running means of their inputs, corrected so that
    /// each output's sum over steps is `t` times the function of the means (Spikify's improvement).
    case improved
    /// For ordinary pretrained ViTs: signed IF neurons at signed sites, per-step nonlinearities as `standard`.
    case signed
    /// Signed neurons and running-mean nonlinearities.
    case signedImproved = "signed-improved"

    public var isSigned: Bool { self == .signed || self == .signedImproved }
    var nonlinearityInput: NonlinearityInput {
        self == .improved || self == .signedImproved ? .corrected : .instantaneous
    }
}

/// MST's data in a converted model: the QCFS thresholds λ of every site, the levels L, the mode, and the random
/// spike masking (ratio, sites, seed). Its reference network is the QCFS network: the ANN with a QCFS activation at
/// every site (Bu et al., ICLR 2022), BatchNorm where the model has it, and the expected mask (×(1 − p)) at the
/// masked sites.
///
/// Saved as group `/mst` (docs/converted-format.md): attributes `levels`, `mode`, `masking_ratio`, `mask_sites`,
/// `seed`, `thresholds` (`checkpoint` or `calibrated`), and one group per site `sites/<site>` with attributes
/// `threshold` and `signed`.
package struct MSTState: MethodState, Equatable {
    package static let method = MSTMethod.name
    package var thresholds: [Site: Float]
    package var signedSites: Set<Site>
    package var levelCount: Int
    package var mode: MSTMode
    package var maskingRatio: Double
    package var maskSites: MaskSites
    package var seed: UInt64
    package var thresholdSource: String

    package var levels: Int? { levelCount }
    package var description: [String: String] {
        ["levels": String(levelCount), "mode": mode.rawValue, "masking_ratio": String(maskingRatio),
         "mask_sites": maskSites.rawValue, "seed": String(seed), "thresholds": thresholdSource]
    }

    /// The keep probability of the random spike mask, 1 − p.
    var keep: Float { Float(1 - maskingRatio) }

    /// Whether the mask acts on a site's spikes.
    func isMasked(_ site: Site) -> Bool {
        guard maskingRatio > 0 else { return false }
        switch site.kind {
        case .q, .k, .scores: return true
        case .norm2, .fc1: return maskSites == .attentionAndMLP
        default: return false
        }
    }

    func quantizer(_ site: Site) -> QCFS? {
        thresholds[site].map { QCFS(threshold: $0, levels: levelCount, signed: signedSites.contains(site)) }
    }

    package func referenceNetwork(for model: ViTModel) -> ReferenceNetwork {
        let forward = ViTForward(model)
        let state = self
        return ReferenceNetwork(name: "qcfs", description: "QCFS network, L = \(levelCount) (\(thresholdSource) "
            + "thresholds, masking \(maskingRatio) as its expectation)") { images in
            forward.logits(images) { site, values in
                guard let q = state.quantizer(site) else { return }
                q.apply(values, keep: state.isMasked(site) ? state.keep : 1)
            }
        }
    }

    package func write(to group: HDF5Group) throws {
        try group.setAttribute("levels", .int(Int64(levelCount)))
        try group.setAttribute("mode", .string(mode.rawValue))
        try group.setAttribute("masking_ratio", .double(maskingRatio))
        try group.setAttribute("mask_sites", .string(maskSites.rawValue))
        try group.setAttribute("seed", .string(String(seed)))
        try group.setAttribute("thresholds", .string(thresholdSource))
        let sites = try group.createGroup("sites")
        for (site, lambda) in thresholds.sorted(by: { $0.key < $1.key }) {
            let s = try sites.createGroup(site.name)
            try s.setAttribute("threshold", .double(Double(lambda)))
            try s.setAttribute("signed", .int(signedSites.contains(site) ? 1 : 0))
        }
    }

    /// Reads and checks the state: every QCFS site present with a finite positive threshold, the masking ratio in
    /// [0, 1), and every IF neuron of the graph using its site's threshold, sign and keep probability.
    static func read(from group: HDF5Group, file: String, graph: SpikingGraph) throws -> MSTState {
        func bad(_ message: String) -> SpikifyError { .invalidData(file: file, message: "/\(MSTMethod.name): \(message)") }
        func string(_ name: String) throws -> String {
            guard case .string(let s)? = try hdf5({ try group.attribute(name) }) else {
                throw bad("attribute '\(name)' is missing or not a string")
            }
            return s
        }
        guard case .int(let rawLevels)? = try hdf5({ try group.attribute("levels") }), let levels = Int(exactly: rawLevels),
              (1...(1 << 24)).contains(levels)
        else { throw bad("attribute 'levels' is missing or not an integer in 1 … \(1 << 24)") }
        guard let mode = MSTMode(rawValue: try string("mode")) else { throw bad("attribute 'mode' is not a known mode") }
        guard case .double(let ratio)? = try hdf5({ try group.attribute("masking_ratio") }), ratio >= 0, ratio < 1 else {
            throw bad("attribute 'masking_ratio' is missing or not in [0, 1)")
        }
        guard let maskSites = MaskSites(rawValue: try string("mask_sites")) else {
            throw bad("attribute 'mask_sites' is not attention or attention+mlp")
        }
        guard let seed = UInt64(try string("seed")) else { throw bad("attribute 'seed' is not an unsigned integer") }
        guard seed == graph.semantics.seed else {
            throw bad("seed \(seed) differs from the graph's simulation seed \(graph.semantics.seed)")
        }
        let source = try string("thresholds")
        let siteGroup = try hdf5 { try group.group("sites") }
        var thresholds: [Site: Float] = [:], signed: Set<Site> = []
        for name in try hdf5({ try siteGroup.childNames() }) {
            guard let site = Site(name: name) else { throw bad("unknown site '\(name)' in sites/") }
            let g = try hdf5 { try siteGroup.group(name) }
            guard case .double(let lambda)? = try hdf5({ try g.attribute("threshold") }),
                  case .int(let isSigned)? = try hdf5({ try g.attribute("signed") })
            else { throw bad("site '\(name)' lacks threshold or signed") }
            let t = Float(lambda)
            guard t.isFinite, t > 0 else { throw bad("site '\(name)' has threshold \(lambda); expected a finite positive number") }
            thresholds[site] = t
            if isSigned != 0 { signed.insert(site) }
        }
        let expected = Site.qcfs(depth: graph.config.depth)
        let missing = expected.filter { thresholds[$0] == nil }.map(\.name)
        if !missing.isEmpty { throw bad("missing \(missing.count) site(s): \(missing.joined(separator: ", "))") }
        let extra = Set(thresholds.keys).subtracting(expected).map(\.name).sorted()
        if !extra.isEmpty { throw bad("sites that this model does not have: \(extra.joined(separator: ", "))") }
        let state = MSTState(thresholds: thresholds, signedSites: signed, levelCount: levels, mode: mode,
                             maskingRatio: ratio, maskSites: maskSites, seed: seed, thresholdSource: source)
        var seen = 0
        for (index, node) in graph.nodes.enumerated() where node.kind == IntegrateFireSpec.kind {
            seen += 1
            guard let name = node.site, let site = Site(name: name), let lambda = thresholds[site],
                  node.attributes["threshold"] == .float(lambda),
                  node.attributes["signed"] == .bool(signed.contains(site)),
                  node.attributes["keep"] == .float(state.isMasked(site) ? state.keep : 1)
            else {
                throw SpikifyError.invalidOperator(file: file, index: index, kind: node.kind, site: node.site,
                    message: "threshold, sign or keep probability differ from /\(MSTMethod.name) (sites, masking_ratio, mask_sites)")
            }
        }
        guard seen == expected.count else { throw bad("the graph has \(seen) IF sites; expected \(expected.count)") }
        return state
    }
}

extension ConvertedModel {
    /// The MST thresholds by site (nil for other methods).
    public var qcfsThresholds: [Site: Float]? { (state as? MSTState)?.thresholds }
}
