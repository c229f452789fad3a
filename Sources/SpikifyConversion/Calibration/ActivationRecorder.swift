import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// Collects a bounded, deterministic sample of every site's activations over a calibration set.
final class ActivationRecorder {
    private(set) var samples: [Site: [Float]] = [:]
    /// Sampling stride per site, fixed from the first batch so that each site keeps about `budget` values.
    private var strides: [Site: Int] = [:]
    private var offsets: [Site: Int] = [:]
    let budget: Int
    let batches: Int

    init(budget: Int, batches: Int) {
        self.budget = budget
        self.batches = batches
    }

    func record(_ site: Site, _ values: UnsafeMutableBufferPointer<Float>) {
        let stride = strides[site] ?? max(1, values.count * batches / budget)
        strides[site] = stride
        var i = offsets[site] ?? 0
        var kept = samples[site] ?? []
        while i < values.count { kept.append(values[i]); i += stride }
        offsets[site] = i - values.count
        samples[site] = kept
    }
}
