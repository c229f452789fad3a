import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// How a calibrated step size is chosen from observed activations.
public enum CalibrationMethod: Sendable, Equatable {
    /// The step that minimises the mean squared quantization error of the observed values (grid search over
    /// fractions of the range, then a finer search around the best).
    case mse
    /// Covers the given percentile (0–100) of the values with the top level (bottom level for negative tails).
    case percentile(Double)
}

/// How sites are calibrated relative to each other.
public enum CalibrationOrder: String, Sendable, Equatable, CaseIterable {
    /// Site by site in graph order, each on activations whose upstream sites are already quantized (the QANN's
    /// real inputs): one forward pass over all calibration images as a single batch.
    case sequential
    /// Every site on the float ANN's activations, in batches (less memory, usually less accurate).
    case parallel
}

/// Training-free calibration of step sizes (SpikeZIP-TF issue, item 1): run the network on calibration images,
/// observe every site, and pick each site's step.
public enum StepCalibration {
    /// Per-site step sizes for `levels` levels.
    /// - Parameters:
    ///   - order: `.sequential` quantizes each site as soon as its step is chosen, so later sites see the QANN's
    ///     activations; it runs all images as one batch (memory grows with the image count).
    ///   - sampleBudget: values kept per site (deterministic strided sample).
    ///   - progress: called with (done, total): images for `.parallel`, sites for `.sequential`.
    public static func calibrateStepSizes(
        _ forward: ViTForward, images: Tensor, levels: Int, method: CalibrationMethod = .mse,
        order: CalibrationOrder = .sequential, batchSize: Int = 32, sampleBudget: Int = 200_000,
        progress: ((Int, Int) -> Void)? = nil
    ) -> [Site: Float] {
        let activation = forward.config.activation
        func choose(_ site: Site, _ values: [Float]) -> Float {
            let (lo, hi) = ActivationQuantizer.bounds(levels: levels, signed: site.isSigned(activation: activation))
            return step(for: values, lower: lo, upper: hi, method: method)
        }
        // The forward also calls sites that are not SpikeZIP-TF quantizer sites (the pre-softmax scores).
        return observeSites(forward, images: images, sites: Set(Site.all(depth: forward.config.depth)), order: order,
                            batchSize: batchSize, sampleBudget: sampleBudget, progress: progress, choose: choose) {
            site, step, values in
            ActivationQuantizer(step: step, levels: levels, signed: site.isSigned(activation: activation)).apply(values)
        }
    }

    /// The observation loop every method's training-free calibration shares: runs the network on `images`, keeps a
    /// deterministic strided sample (`sampleBudget` values) of each of `sites`, and picks each site's value with
    /// `choose`. `.sequential` runs all images as one batch and, in graph order, applies each chosen value at once
    /// (`apply` rewrites the site's activations), so later sites see the quantized network's inputs; `.parallel`
    /// observes the float network in batches of `batchSize`. Progress: sites for `.sequential`, images for
    /// `.parallel`.
    package static func observeSites(
        _ forward: ViTForward, images: Tensor, sites: Set<Site>, order: CalibrationOrder, batchSize: Int,
        sampleBudget: Int, progress: ((Int, Int) -> Void)?, choose: @escaping (Site, [Float]) -> Float,
        apply: @escaping (Site, Float, UnsafeMutableBufferPointer<Float>) -> Void
    ) -> [Site: Float] {
        var chosen: [Site: Float] = [:]
        switch order {
        case .sequential:
            _ = forward.logits(images) { site, values in
                guard sites.contains(site) else { return }
                let recorder = ActivationRecorder(budget: sampleBudget, batches: 1)
                recorder.record(site, values)
                let value = choose(site, recorder.samples[site] ?? [])
                chosen[site] = value
                apply(site, value, values)
                progress?(chosen.count, sites.count)
            }
        case .parallel:
            let n = images.shape[0]
            let recorder = ActivationRecorder(budget: sampleBudget, batches: (n + batchSize - 1) / batchSize)
            for start in stride(from: 0, to: n, by: batchSize) {
                let end = min(n, start + batchSize)
                _ = forward.logits(images.slice(rows: start..<end)) { site, values in
                    if sites.contains(site) { recorder.record(site, values) }
                }
                progress?(end, n)
            }
            for (site, values) in recorder.samples { chosen[site] = choose(site, values) }
        }
        return chosen
    }

    /// The step for one site's sample.
    public static func step(for values: [Float], lower: Int, upper: Int, method: CalibrationMethod) -> Float {
        let floor: Float = 1e-8
        switch method {
        case .percentile(let p):
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return floor }
            func at(_ q: Double) -> Float { sorted[min(sorted.count - 1, max(0, Int((q / 100) * Double(sorted.count - 1))))] }
            var s = max(at(p), 0) / Float(max(upper, 1))
            if lower < 0 { s = max(s, max(-at(100 - p), 0) / Float(-lower)) }
            return max(s, floor)
        case .mse:
            let maxPos = values.max() ?? 0, minNeg = values.min() ?? 0
            var base = max(maxPos, 0) / Float(max(upper, 1))
            if lower < 0 { base = max(base, max(-minNeg, 0) / Float(-lower)) }
            guard base > 0 else { return floor }
            func error(_ s: Float) -> Double {
                squaredQuantizationError(values, quantizer: ActivationQuantizer(step: s, lower: lower, upper: upper))
            }
            var best = base, bestError = error(base)
            for i in 1..<100 {
                let s = base * Float(i) / 100
                let e = error(s)
                if e < bestError { best = s; bestError = e }
            }
            let lo = best * 0.98, hi = best * 1.02
            for i in 0...20 {
                let s = lo + (hi - lo) * Float(i) / 20
                let e = error(s)
                if e < bestError { best = s; bestError = e }
            }
            return max(best, floor)
        }
    }

    /// `Σ (Q(x) − x)²`, in blocks of float partial sums (vectorisable) added up in double.
    static func squaredQuantizationError(_ values: [Float], quantizer q: ActivationQuantizer) -> Double {
        let s = q.step, lo = Float(q.lower), hi = Float(q.upper)
        var total: Double = 0
        values.withUnsafeBufferPointer { v in
            var start = 0
            while start < v.count {
                let end = min(v.count, start + 4096)
                var partial = SIMD8<Float>()
                var i = start
                while i + 8 <= end {
                    var x = SIMD8<Float>()
                    for l in 0..<8 { x[l] = v[i + l] }
                    var d = SIMD8<Float>()
                    for l in 0..<8 { d[l] = ActivationQuantizer.level(x[l] / s + 0.5, lower: lo, upper: hi) * s - x[l] }
                    partial += d * d
                    i += 8
                }
                var rest: Float = 0
                while i < end {
                    let d = ActivationQuantizer.level(v[i] / s + 0.5, lower: lo, upper: hi) * s - v[i]
                    rest += d * d
                    i += 1
                }
                total += Double(partial.sum()) + Double(rest)
                start = end
            }
        }
        return total
    }
}
