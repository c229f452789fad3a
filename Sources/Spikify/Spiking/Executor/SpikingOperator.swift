/// One graph value for a whole batch (`[batch·rows, width]`): its accumulated total up to the current step and its
/// increment at this step.
///
/// Operators communicate increments (spikes times θ out of neurons), but compute their outputs from accumulated
/// totals with exactly the arithmetic of the quantized ANN: a total is always bit-identical to the QANN value
/// computed from the same partial spike counts, so once the network is quiet its totals *are* the QANN's values,
/// not merely close to them (the sums of float increments would drift by rounding; docs/conversion.md).
final class ValueSlot: @unchecked Sendable {
    let info: ValueInfo
    let total: FloatBuffer
    let increment: FloatBuffer
    /// False when no increment of the batch is non-zero this step (consumers then skip their work).
    var changed = false

    init(_ info: ValueInfo, batch: Int) {
        self.info = info
        total = FloatBuffer(count: batch * info.perSample)
        increment = FloatBuffer(count: batch * info.perSample)
    }

    /// Zero totals and increments (a new batch).
    func reset() {
        total.zero()
        increment.zero()
        changed = false
    }

    /// Marks the value unchanged this step, zeroing last step's increments if there were any.
    func keep(batch: Int) {
        if changed { increment.pointer.update(repeating: 0, count: batch * info.perSample) }
        changed = false
    }

    /// Before an operator rewrites (part of) `total`: remember the old totals in `increment`.
    func beginUpdate(batch: Int) {
        increment.pointer.update(from: total.pointer, count: batch * info.perSample)
    }

    /// After the rewrite: `increment = total − old total`, and whether anything changed.
    func finishUpdate(batch: Int) {
        let t = total.pointer, d = increment.pointer
        var any = false
        for i in 0..<(batch * info.perSample) {
            let delta = t[i] - d[i]
            d[i] = delta
            any = any || delta != 0
        }
        changed = any
    }

    /// Whether all of sample `s`'s increments are zero.
    func isQuiet(sample s: Int) -> Bool {
        guard changed else { return true }
        let p = increment.pointer + s * info.perSample
        for i in 0..<info.perSample where p[i] != 0 { return false }
        return true
    }

    func moveSample(from: Int, to: Int) {
        total.moveBlock(from: from, to: to, size: info.perSample)
        increment.moveBlock(from: from, to: to, size: info.perSample)
    }
}

/// What the executor knows of an operator: reset its state for a new batch, advance one timestep.
/// Operators are created once per (graph, batch capacity); `step` never allocates.
protocol SpikingOperator: AnyObject {
    func reset(batch: Int)
    func step(_ t: Int, batch: Int)
    /// Moves sample `from`'s internal state into position `to` (the executor compacts quiet samples out of the
    /// batch; value totals are moved by the executor).
    func moveSample(from: Int, to: Int)
}

extension SpikingOperator {
    func reset(batch: Int) {}
    /// Operators whose state lives in their values' totals have nothing to move.
    func moveSample(from: Int, to: Int) {}
}

/// Operators that emit spikes: the executor reads their counts for statistics and quiescence.
protocol SpikeEmitter: SpikingOperator {
    var site: String { get }
    var neuronsPerSample: Int { get }
    /// Spikes (|±1|) emitted by each sample at the last step.
    var stepSpikes: ScalarBuffer<Int> { get }
}
