import SpikifyCore
import SpikifySpiking

/// `sta.neuron`: STA's multi-level neurons (Jiang et al., ICLR 2024, §6.1: MMSE thresholds, signed neurons with
/// memory and burst spikes; docs/methods/sta.md). Per element, with input current x (this step's increment),
/// per-channel threshold θ, membrane u and emitted total c (both 0 at t = 0, no leak):
///
///     u ← u + x
///     s = θ if u ≥ θ;  −θ if u ≤ −θ and (signed or c > 0);  0 otherwise        (signed neuron with memory)
///     u ← u − s;  c ← c + s
///     ρ = u (signed) or max(−c, u);  n = sign(ρ)·min(2, ⌊|ρ| / (θ/2)⌋)          (burst at half threshold)
///     u ← u − nθ/2;  c ← c + nθ/2;  s ← s + nθ/2
///
/// so each step emits s ∈ {0, ±θ/2, …, ±2θ}. Unsigned neurons keep c ≥ 0 and approximate ReLU of their input's
/// running mean (UGO hidden layers, attention probabilities); signed ones pass signed values (the ± encoders).
/// Spikes are counted in units of θ/2: a step's |s| = 2θ counts 4.
///
/// Tensor `threshold` `[width]` (one θ > 0 per column: per feature, per (feature, hidden unit) or per key),
/// attribute `signed` (bool), a site.
enum STANeuronSpec: OperatorSpec {
    static let kind = "sta.neuron"
    struct Parameters { let site: String, thresholds: Tensor, signed: Bool }

    static func parameters(_ n: NodeContext) throws -> Parameters {
        try n.arity(inputs: 1)
        let x = n.input(0)
        try n.expect(n.output(), rows: x.rows, width: x.width, "output")
        guard let site = n.node.site else { throw n.fail("has no neuron site") }
        guard case .bool(let signed)? = n.node.attributes["signed"] else { throw n.fail("has no boolean attribute 'signed'") }
        let t = try n.tensor("threshold", shape: [x.width])
        if t.scalars.contains(where: { !($0.isFinite && $0 > 0) }) {
            throw n.fail("tensor 'threshold' holds a value that is not a finite positive number")
        }
        return Parameters(site: site, thresholds: t, signed: signed)
    }

    static func instantiate(_ p: Parameters, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        STANeuronLayer(site: p.site, input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]),
                       thresholds: p.thresholds.scalars, signed: p.signed, batch: r.capacity)
    }
}

/// `sta.float_neuron`: what a neuron stands for in the float networks of the stage ladder (one step): ReLU, or the
/// identity when `signed`. Same node layout as `sta.neuron` without the spiking state.
enum STAFloatNeuronSpec: OperatorSpec {
    static let kind = "sta.float_neuron"
    static func parameters(_ n: NodeContext) throws -> Bool {
        try n.arity(inputs: 1)
        try n.expect(n.output(), rows: n.input(0).rows, width: n.input(0).width, "output")
        guard case .bool(let signed)? = n.node.attributes["signed"] else { throw n.fail("has no boolean attribute 'signed'") }
        return signed
    }

    static func instantiate(_ signed: Bool, _ n: NodeContext, _ r: OperatorRuntime) -> any SpikingOperator {
        STAFloatNeuronLayer(input: r.slot(n.node.inputs[0]), output: r.slot(n.node.outputs[0]), signed: signed)
    }
}

final class STANeuronLayer: SpikeEmitter {
    let site: String
    let input: ValueSlot, output: ValueSlot
    let signed: Bool
    let thresholds: FloatBuffer, inverseQuanta: FloatBuffer
    let membrane: FloatBuffer, emitted: FloatBuffer
    let stepSpikes: ScalarBuffer<Int>, stepEvents: ScalarBuffer<Int>
    /// The largest spike of each sample at this step, in units of θ/2.
    private let largest: ScalarBuffer<Int>
    private(set) var stepLargestSpike = 0
    let neuronsPerSample: Int

    init(site: String, input: ValueSlot, output: ValueSlot, thresholds: [Float], signed: Bool, batch: Int) {
        self.site = site
        self.input = input
        self.output = output
        self.signed = signed
        self.thresholds = FloatBuffer(thresholds)
        // 1/(θ/2) for the burst count, with the reference code's small guard made relative (θ may be tiny).
        inverseQuanta = FloatBuffer(thresholds.map { 1 / ($0 / 2 * (1 + 1e-5)) })
        neuronsPerSample = input.info.perSample
        membrane = FloatBuffer(count: batch * neuronsPerSample)
        emitted = FloatBuffer(count: batch * neuronsPerSample)
        stepSpikes = ScalarBuffer<Int>(count: batch)
        stepEvents = ScalarBuffer<Int>(count: batch)
        largest = ScalarBuffer<Int>(count: batch)
    }

    func reset(batch: Int) {
        membrane.zero()
        emitted.zero()
        stepSpikes.zero()
        stepEvents.zero()
        stepLargestSpike = 0
    }

    func moveSample(from: Int, to: Int) {
        membrane.moveBlock(from: from, to: to, size: neuronsPerSample)
        emitted.moveBlock(from: from, to: to, size: neuronsPerSample)
        stepSpikes.moveBlock(from: from, to: to, size: 1)
        stepEvents.moveBlock(from: from, to: to, size: 1)
    }

    func step(_ s: StepContext) {
        let n = neuronsPerSample, w = input.info.width, rows = input.info.rows, signed = signed
        let u = SendablePointer(membrane.pointer), c = SendablePointer(emitted.pointer)
        let x = SendablePointer(input.increment.pointer), y = SendablePointer(output.increment.pointer)
        let theta = SendablePointer(thresholds.pointer), half = SendablePointer(inverseQuanta.pointer)
        let spikesOut = SendablePointer(stepSpikes.pointer), eventsOut = SendablePointer(stepEvents.pointer)
        let largestOut = SendablePointer(largest.pointer)
        Parallel.forChunks(s.batch) { samples in
            for p in samples {
                // Spikes in units of θ/2, accumulated in Float (exact below 2²⁴ per row) to keep the loop branch-light.
                var spikes = 0, events = 0, top: Float = 0
                for r in 0..<rows {
                    let base = p * n + r * w
                    var rowSpikes: Float = 0, rowEvents: Float = 0
                    for j in 0..<w {
                        let i = base + j, th = theta.base[j], quantum = th / 2
                        var v = u.base[i] + x.base[i], total = c.base[i]
                        var units: Float = v >= th ? 2 : (v <= -th && (signed || total > 0) ? -2 : 0)
                        v -= units * quantum
                        total += units * quantum
                        let rho = signed ? v : max(-total, v)
                        // ⌊·⌋ of a non-negative number below 3 by truncation (no libm call in the hot loop).
                        let magnitude = Float(Int32(min(2.5, abs(rho) * half.base[j])))
                        let b = rho > 0 ? magnitude : -magnitude
                        units += b
                        v -= b * quantum
                        total += b * quantum
                        u.base[i] = v
                        c.base[i] = total
                        y.base[i] = units * quantum
                        let m = abs(units)
                        rowSpikes += m
                        rowEvents += m > 0 ? 1 : 0
                        top = max(top, m)
                    }
                    spikes += Int(rowSpikes)
                    events += Int(rowEvents)
                }
                spikesOut.base[p] = spikes
                eventsOut.base[p] = events
                largestOut.base[p] = Int(top)
            }
        }
        var top = 0
        for p in 0..<s.batch { top = max(top, largest[p]) }
        stepLargestSpike = top
        output.accumulate(batch: s.batch)
    }
}

final class STAFloatNeuronLayer: SpikingOperator {
    let input: ValueSlot, output: ValueSlot, signed: Bool

    init(input: ValueSlot, output: ValueSlot, signed: Bool) { (self.input, self.output, self.signed) = (input, output, signed) }

    func step(_ s: StepContext) {
        let count = s.batch * input.info.perSample, x = input.increment.pointer, y = output.increment.pointer
        if signed { y.update(from: x, count: count) } else { for i in 0..<count { y[i] = max(0, x[i]) } }
        output.accumulate(batch: s.batch)
    }
}

/// Per-channel MMSE thresholds that depend on T (STA §6.1; the reference code's `find_threshold_mse`): for each
/// channel with largest observed value M, the candidate θᵢ = M·(1 − 0.005·i), i = 0…94, minimising
/// Σ (a − Q(a))² with Q(a) = (θ/T)·⌊clip(a·T/θ, 0, T)⌋; then smoothed over calibration batches by an EMA,
/// θ ← 0.9·θ + 0.1·θ_batch (the first batch sets θ).
public struct ThresholdSearch: Sendable {
    public let timesteps: Int
    public private(set) var thresholds: [Float]?

    public init(timesteps: Int) { self.timesteps = timesteps }

    /// The best candidate for one channel's (non-negative) values; 1e-6 for a silent channel.
    public static func threshold(_ values: UnsafeBufferPointer<Float>, timesteps: Int) -> Float {
        var top: Float = 0
        for a in values { top = max(top, a) }
        guard top > 0 else { return 1e-6 }
        let t = Float(timesteps)
        var best = top, bestError = Double.infinity
        for i in 0..<95 {
            let theta = top * (1 - 0.005 * Float(i)), scale = t / theta, step = theta / t
            var e: Float = 0
            for a in values {
                let d = a - step * min(max(a * scale, 0), t).rounded(.down)
                e += d * d
            }
            if Double(e) < bestError { (best, bestError) = (theta, Double(e)) }
        }
        return best
    }

    /// Adds one calibration batch: `values` `[rows, width]` (already rectified or |·|), one threshold per column.
    /// Columns with more than `maxRows` rows are searched on an evenly strided subset of them, plus the column
    /// maximum (so M is exact).
    public mutating func observe(_ values: [Float], width: Int, maxRows: Int = 512) {
        let rows = values.count / width, stride = max(1, rows / maxRows)
        let kept = (rows + stride - 1) / stride
        var column = [Float](repeating: 0, count: kept + 1)
        var batch = [Float](repeating: 0, count: width)
        for j in 0..<width {
            var top: Float = 0
            for r in 0..<rows { top = max(top, values[r * width + j]) }
            for (slot, r) in Swift.stride(from: 0, to: rows, by: stride).enumerated() { column[slot] = values[r * width + j] }
            column[kept] = top
            batch[j] = column.withUnsafeBufferPointer { Self.threshold($0, timesteps: timesteps) }
        }
        if let old = thresholds {
            thresholds = zip(old, batch).map { 0.9 * $0 + 0.1 * $1 }
        } else {
            thresholds = batch
        }
    }
}
