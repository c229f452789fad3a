import Foundation

/// One row of the energy table, per image: the ANN's MACs, the bit-width-matched QANN's energy and the SNN's
/// accumulates (ACs) and remaining MACs (docs/energy.md).
public struct EnergyRow: Sendable, Equatable {
    public var name: String
    public var kind: OperationKind
    public var block: Int?
    /// ANN multiply-accumulates per image; `nil` when the configuration does not describe this layer.
    public var annMACs: Double?
    /// SNN accumulates per image; `nil` when the report has no synaptic events for this layer.
    public var snnACs: Double?
    /// SNN multiply-accumulates per image (analog input layer, products of spike trains, norms, softmax).
    public var snnMACs: Double?

    public func annPJ(_ c: EnergyConstants) -> Double? { annMACs.map { $0 * c.macPJ } }
    /// The QANN at `bits`: integer MACs for linear layers and products, float MACs for norms and softmax.
    public func qannPJ(_ c: EnergyConstants, bits: Int?) -> Double? {
        guard let annMACs else { return nil }
        guard let bits, kind == .linear || kind == .product else { return annMACs * c.macPJ }
        return annMACs * c.integerMACPJ(bits: bits)
    }
    public func snnPJ(_ c: EnergyConstants) -> Double? {
        guard snnACs != nil || snnMACs != nil else { return nil }
        return (snnACs ?? 0) * c.acPJ + (snnMACs ?? 0) * c.macPJ
    }
}

/// The energy estimate of one report: per-layer rows, totals, the constants used and the notes that qualify
/// the numbers. Everything is per image.
public struct EnergyEstimate: Sendable {
    public var constants: EnergyConstants
    public var rows: [EnergyRow]
    /// QANN bit width ⌈log₂ L⌉, `nil` without a level count.
    public var bits: Int?
    /// Mean simulated steps per image (the bound used for norms, softmax and products without per-step data).
    public var stepsRun: Double
    /// Mean |spike| per spike message (Σ spikes / Σ events over the sites), 1 without per-step data.
    public var meanSpikeSize: Double
    /// Steps at which the analog input changes (1 for analog input at t = 0 only).
    public var inputSteps: Double
    public var notes: [String]

    public var annPJ: Double { rows.compactMap { $0.annPJ(constants) }.reduce(0, +) }
    public var qannPJ: Double { rows.compactMap { $0.qannPJ(constants, bits: bits) }.reduce(0, +) }
    public var snnPJ: Double { rows.compactMap { $0.snnPJ(constants) }.reduce(0, +) }
    public var annMACs: Double { rows.compactMap(\.annMACs).reduce(0, +) }
    public var snnACs: Double { rows.compactMap(\.snnACs).reduce(0, +) }
    public var snnMACs: Double { rows.compactMap(\.snnMACs).reduce(0, +) }

    /// Per-block sums (`patch_embed`, `block 0` …, `head` with the final norm) of ANN, QANN and SNN energy,
    /// in pJ, for the bar chart.
    public func perBlock() -> [(name: String, ann: Double?, qann: Double?, snn: Double?)] {
        var order: [String] = [], sums: [String: (Double?, Double?, Double?)] = [:]
        func add(_ a: Double?, _ b: Double?) -> Double? { a == nil && b == nil ? nil : (a ?? 0) + (b ?? 0) }
        for row in rows {
            let key = row.block.map { "block \($0)" } ?? (row.name.hasPrefix("patch_embed") ? "patch_embed" : "head")
            if sums[key] == nil { order.append(key); sums[key] = (nil, nil, nil) }
            let s = sums[key] ?? (nil, nil, nil)
            sums[key] = (add(s.0, row.annPJ(constants)), add(s.1, row.qannPJ(constants, bits: bits)),
                         add(s.2, row.snnPJ(constants)))
        }
        return order.map { (name: $0, ann: sums[$0]?.0, qann: sums[$0]?.1, snn: sums[$0]?.2) }
    }

    /// The estimate for `report` (docs/energy.md): ANN MACs from `config`; SNN accumulates = synaptic events ×
    /// fan-out × mean spike size per image; the SNN's remaining MACs: the patch embedding on the analog image at
    /// every step its input changes, Q·Kᵀ and A·V at the ANN's cost at every step a factor spiked (an upper
    /// bound), norms and softmax at the ANN's cost at every simulated step (an upper bound).
    public static func estimate(_ report: ReportDocument,
                                constants: EnergyConstants = .horowitz45nm) -> EnergyEstimate {
        var notes: [String] = []
        let samples = Double(max(report.samples ?? 0, 0))
        let levels = report.config?.levels ?? report.levels
        let steps = report.snn?.meanStepsRun.flatMap { $0 > 0 ? $0 : nil }
            ?? report.timesteps.last.map(Double.init) ?? 1
        let sites = Dictionary((report.sites ?? []).map { ($0.site, $0) }, uniquingKeysWith: { a, _ in a })
        let size = spikeSize(report, notes: &notes)
        let coding = report.simulation?.inputCoding?.lowercased() ?? "analog"
        let inputSteps = ["analog", "analog_once", "analog-once", "direct"].contains(coding) ? 1 : steps
        if inputSteps != 1 {
            notes.append("Input coding “\(coding)”: the patch embedding is counted at every step.")
        }
        var synaptic: [String: ReportDocument.SynapticLayer] = [:]
        for layer in report.synapticEvents ?? [] { synaptic[layer.layer] = layer }
        /// Synaptic operations per image (messages × fan-out).
        func operations(_ name: String) -> Double? {
            guard samples > 0, let layer = synaptic[name] else { return nil }
            let ops = layer.synapticOperations ?? layer.inputEvents.flatMap { e in layer.fanOut.map { e * Double($0) } }
            return ops.map { $0 / samples }
        }
        var rows: [EnergyRow] = []
        let ann = report.config.flatMap(ViTOperationCount.layers)
        if ann == nil {
            notes.append("No complete model configuration in the report: ANN and QANN energy are not estimated.")
        }
        for layer in ann ?? [] {
            var row = EnergyRow(name: layer.name, kind: layer.kind, block: layer.block, annMACs: layer.macs)
            switch layer.kind {
            case .linear where layer.block == nil && layer.name.hasPrefix("patch_embed"):
                row.snnACs = 0
                row.snnMACs = layer.macs * inputSteps
            case .linear: row.snnACs = operations(layer.name).map { $0 * size }
            case .product:
                let factors = ViTOperationCount.factorSites(of: layer).map { sites[$0] }
                row.snnMACs = layer.macs * min(steps, activeSteps(factors) ?? steps)
            case .norm, .softmax: row.snnMACs = layer.macs * steps
            }
            rows.append(row)
        }
        let known = Set(rows.map(\.name))
        // Layers the configuration does not describe (or all, without one): accumulates, except that the patch
        // embedding's events are analog pixels, each a multiply-accumulate per output.
        for layer in report.synapticEvents ?? [] where !known.contains(layer.layer) {
            let ops = operations(layer.layer), analog = layer.layer.hasPrefix("patch_embed")
            rows.append(EnergyRow(name: layer.layer, kind: .linear, block: nil, annMACs: nil,
                                  snnACs: analog ? ops.map { _ in 0 } : ops.map { $0 * size },
                                  snnMACs: analog ? ops : nil))
        }
        if samples == 0 { notes.append("The report has no sample count: SNN accumulates are not estimated.") }
        return EnergyEstimate(constants: constants, rows: rows, bits: levels.map(EnergyConstants.bits),
                              stepsRun: steps, meanSpikeSize: size, inputSteps: inputSteps, notes: notes)
    }

    /// Steps (over the data set) at which any of the factor sites emitted; `nil` unless every factor site is in
    /// the report with per-step counts.
    static func activeSteps(_ factors: [ReportDocument.Site?]) -> Double? {
        let series = factors.compactMap { $0?.eventsPerStep ?? $0?.spikesPerStep }
        guard !series.isEmpty, series.count == factors.count, let n = series.map(\.count).max() else { return nil }
        return Double((0..<n).filter { t in series.contains { $0.indices.contains(t) && $0[t] != 0 } }.count)
    }

    /// Mean |spike| per message: Σ spikes_per_step / Σ events_per_step over the sites that report both.
    /// With multi-level spikes but no such counts, the largest |spike| bounds it, and a note says so.
    static func spikeSize(_ report: ReportDocument, notes: inout [String]) -> Double {
        let both = (report.sites ?? []).compactMap { site -> (Double, Double)? in
            guard let s = site.spikesPerStep, let e = site.eventsPerStep else { return nil }
            return (s.reduce(0, +), e.reduce(0, +))
        }
        let spikes = both.map(\.0).reduce(0, +), events = both.map(\.1).reduce(0, +)
        if events > 0 { return max(spikes / events, 1) }
        if let largest = report.spikeAlphabetPerStep?.max(), largest > 1 {
            notes.append("Spikes of up to \(Markup.significant(largest)) units without event counts: SNN "
                + "accumulates count one per message, a lower bound (at most \(Markup.significant(largest))× more).")
        }
        return 1
    }
}

extension EnergyEstimate {
    /// One line for terminals (`spikify eval`): ANN, SNN and bit-width-matched QANN energy per image (in one
    /// unit, pJ … mJ, chosen by the largest), the SNN's ratios to both, and the constants (docs/energy.md).
    /// Parts without data print as `—`.
    public var summaryLine: String {
        let c = constants
        var constantsText = "E_MAC \(Markup.significant(c.macPJ)) pJ, E_AC \(Markup.significant(c.acPJ)) pJ"
        if let bits { constantsText += ", int\(bits) MAC \(Markup.significant(c.integerMACPJ(bits: bits))) pJ" }
        return "energy per image: " + totalsText + "; \(constantsText) (\(c.source); arithmetic only, docs/energy.md)"
    }

    /// `ANN 36.7 µJ · SNN 171 µJ · QANN (4-bit) 0.979 µJ (SNN/ANN 4.67, SNN/QANN 175)`: the totals in one unit.
    public var totalsText: String {
        let hasANN = rows.contains { $0.annMACs != nil }
        let largest = max(snnPJ, hasANN ? max(annPJ, qannPJ) : 0)
        let unit = [(1e9, "mJ"), (1e6, "µJ"), (1e3, "nJ")].first { largest >= $0.0 } ?? (1, "pJ")
        let uj = { (pj: Double) in Markup.significant(pj / unit.0) + " " + unit.1 }
        var parts = ["ANN " + (hasANN ? uj(annPJ) : "—"), "SNN " + uj(snnPJ)]
        // A quantized network only when the reference has integer levels (a float reference, as STA's, has none).
        if let bits { parts.append("QANN (\(bits)-bit) " + (hasANN ? uj(qannPJ) : "—")) }
        var ratios = ""
        if hasANN, annPJ > 0 {
            ratios = " (SNN/ANN \(Markup.significant(snnPJ / annPJ))"
                + (bits != nil && qannPJ > 0 ? ", SNN/QANN \(Markup.significant(snnPJ / qannPJ)))" : ")")
        }
        return parts.joined(separator: " · ") + ratios
    }
}
