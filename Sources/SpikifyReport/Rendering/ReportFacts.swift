import Foundation

/// Facts both renderers print, computed once from the reports: unique names, selected timesteps, and the
/// value of a per-step list after the last step.
enum ReportFacts {
    /// Each report's title, made unique where titles repeat (so legends stay unambiguous): first with the method
    /// settings that differ among the reports sharing the title (e.g. `mode=improved`), then with `#2`, `#3` ….
    static func names(_ reports: [ReportDocument]) -> [String] {
        let titles = distinguished(reports)
        var seen: [String: Int] = [:]
        let counts = Dictionary(titles.map { ($0, 1) }, uniquingKeysWith: +)
        return titles.map { title in
            guard (counts[title] ?? 0) > 1 else { return title }
            seen[title, default: 0] += 1
            return "\(title) #\(seen[title] ?? 1)"
        }
    }

    /// Titles with `name=value` appended for each method setting whose value differs among the reports that
    /// share a title.
    static func distinguished(_ reports: [ReportDocument]) -> [String] {
        var titles = reports.map(\.title)
        for title in Set(titles) {
            let group = titles.indices.filter { titles[$0] == title }
            guard group.count > 1 else { continue }
            let settings = group.map { i in
                Dictionary((reports[i].methodSettings ?? []).compactMap { s in s.name.map { ($0, s.value ?? "") } },
                           uniquingKeysWith: { a, _ in a })
            }
            let differing = Set(settings.flatMap(\.keys)).filter { key in Set(settings.map { $0[key] ?? "–" }).count > 1 }
            guard !differing.isEmpty else { continue }
            for (j, i) in group.enumerated() {
                titles[i] = ([title] + differing.sorted().map { "\($0)=\(settings[j][$0] ?? "–")" }).joined(separator: " · ")
            }
        }
        return titles
    }

    /// The timesteps shown in tables: 1, powers of two, and T.
    static func selectedSteps(_ timesteps: [Int]) -> [Int] {
        guard let last = timesteps.last else { return [] }
        var rows = Set([timesteps[0], last])
        var p = 1
        while p <= last {
            if timesteps.contains(p) { rows.insert(p) }
            if p > last / 2 { break }
            p *= 2
        }
        return rows.sorted()
    }

    /// The value at timestep `t` of a list aligned with `timesteps`.
    static func value(_ list: [Double]?, at t: Int, timesteps: [Int]) -> Double? {
        guard let list, let i = timesteps.firstIndex(of: t), list.indices.contains(i) else { return nil }
        return list[i]
    }

    /// `(x, 100·y)` points of a per-step fraction list against its timesteps.
    static func percentSeries(_ name: String, _ list: [Double]?, timesteps: [Int]) -> LineSeries? {
        guard let list, !list.isEmpty else { return nil }
        return LineSeries(name: name, x: timesteps.map(Double.init), y: list.map { 100 * $0 })
    }

    /// Per-image values of a per-step total over the data set, against t = 1…n.
    static func perImageSeries(_ name: String, _ list: [Double]?, samples: Int?) -> LineSeries? {
        guard let list, !list.isEmpty else { return nil }
        let n = Double(max(samples ?? 1, 1))
        return LineSeries(name: name, x: list.indices.map { Double($0 + 1) }, y: list.map { $0 / n })
    }

    /// The steps the spike charts show: up to the first step after the last one at which any report's network
    /// spiked (from `snn.spikes_per_step`, else the sites'), so that a run to a cap T = 256 whose samples fell
    /// quiet by t = 40 does not spend most of the axis on silence. `nil` without per-step counts.
    static func spikingSteps(_ reports: [ReportDocument]) -> Int? {
        var longest = 0, lastActive = 0
        for r in reports {
            let lists = r.snn?.spikesPerStep.map { [$0] } ?? (r.sites ?? []).compactMap(\.spikesPerStep)
            for list in lists {
                longest = max(longest, list.count)
                if let last = list.lastIndex(where: { $0 != 0 }) { lastActive = max(lastActive, last + 1) }
            }
        }
        guard longest > 0 else { return nil }
        return min(longest, max(lastActive + 1, 2))
    }

    /// The block a site belongs to: `blocks.3.fc1` → `block 3`; other sites (`patch_embed`, `final_norm`) are
    /// their own group. Site names are otherwise opaque.
    static func blockName(_ site: String) -> String {
        let parts = site.split(separator: ".", maxSplits: 2)
        guard parts.count >= 2, parts[0] == "blocks", let index = Int(parts[1]) else { return site }
        return "block \(index)"
    }

    /// Spikes per step per image summed over the sites of each block, in order of first appearance; only sites
    /// with `spikes_per_step` count.
    static func spikesPerStepByBlock(_ r: ReportDocument) -> [(name: String, perStep: [Double])] {
        var order: [String] = [], sums: [String: [Double]] = [:]
        let perImage = Double(max(r.samples ?? 1, 1))
        for site in r.sites ?? [] {
            guard let counts = site.spikesPerStep else { continue }
            let block = blockName(site.site)
            if sums[block] == nil { order.append(block) }
            var total = sums[block] ?? []
            if total.count < counts.count { total += [Double](repeating: 0, count: counts.count - total.count) }
            for (t, count) in counts.enumerated() { total[t] += count / perImage }
            sums[block] = total
        }
        return order.map { (name: $0, perStep: sums[$0] ?? []) }
    }

    /// The model-card rows of a report: configuration, simulation, data and provenance.
    static func modelCard(_ r: ReportDocument) -> [(String, String)] {
        var rows: [(String, String?)] = [("Model", r.model), ("Method", r.method),
                                         ("Levels", r.levels.map(String.init)),
                                         ("Burst (largest spike per step)", r.burst.map(String.init))]
        if let c = r.config {
            func list(_ v: [Double]?) -> String? { v.map { $0.map { Markup.significant($0) }.joined(separator: ", ") } }
            rows += [("Image size", c.imageSize.map(String.init)), ("Patch size", c.patchSize.map(String.init)),
                     ("Channels", c.channels.map(String.init)), ("Width (embed_dim)", c.embedDim.map(String.init)),
                     ("Depth", c.depth.map(String.init)), ("Heads", c.numHeads.map(String.init)),
                     ("MLP width", c.mlpDim.map(String.init)), ("Classes", c.numClasses.map(String.init)),
                     ("Class token", c.classToken.map { $0 ? "yes" : "no" }), ("Pooling", c.globalPool),
                     ("Activation", c.activation), ("LayerNorm eps", c.layerNormEps.map { String(describing: $0) }),
                     ("Mean", list(c.mean)), ("Std", list(c.std)), ("Config levels", c.levels.map(String.init))]
            if let p = parameters(c) { rows.append(("Parameters (weights + biases)", Markup.compact(p))) }
        }
        if let s = r.simulation {
            rows += [("Input coding", s.inputCoding), ("Readout", s.readout),
                     ("Quiescence is final", s.quiescenceIsFinal.map { $0 ? "yes" : "no" }),
                     ("Seed", s.seed.map(String.init))]
        } else if let readout = r.snn?.readout {
            rows.append(("Readout", readout))
        }
        for stage in r.stages ?? [] {
            rows.append(("Stage \(stage.name?.uppercased() ?? "?")", (stage.description ?? "")
                + " — accuracy \(Markup.percent(stage.accuracy)), agreement with the ANN \(Markup.percent(stage.agreementWithAnn))"))
        }
        rows += [("Reference network", r.reference?.description ?? r.reference?.name), ("Dataset", r.dataset),
                 ("Samples", r.samples.map(String.init)), ("Batch size", r.batchSize.map(String.init)),
                 ("Spikify version", r.spikifyVersion), ("BLAS core", r.blasCore), ("Command", r.command)]
        return rows.compactMap { key, value in value.flatMap { $0.isEmpty ? nil : (key, $0) } }
    }

    /// Parameters of a ViT from its configuration: patch embedding C·p²·D + D, class token D, position embedding
    /// N·D, per block 4·(D² + D) + 2·D·M + M + D + 2·2·D (norms), final norm 2·D, head D·K + K.
    static func parameters(_ c: ReportDocument.Config) -> Double? {
        guard let image = c.imageSize, let patch = c.patchSize, patch > 0, let channels = c.channels,
              let width = c.embedDim, let depth = c.depth, let mlp = c.mlpDim, let classes = c.numClasses
        else { return nil }
        let token: Double = (c.classToken ?? true) ? 1 : 0
        let d = Double(width), m = Double(mlp), k = Double(classes), p = Double(patch)
        let side = Double(image / patch)
        let n: Double = side * side + token
        let block: Double = 4 * (d * d + d) + 2 * d * m + m + d + 4 * d
        let embedding: Double = Double(channels) * p * p * d + d + token * d + n * d
        return embedding + Double(depth) * block + 2 * d + d * k + k
    }
}
