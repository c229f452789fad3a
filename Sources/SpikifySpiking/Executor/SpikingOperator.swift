import SpikifyCore

/// One graph value for a whole batch (`[batch·rows, width]`): its accumulated total up to the current step and its
/// increment (the message sent) at this step.
///
/// Operators of total-based methods (SpikeZIP-TF) compute their output totals from input totals with exactly the
/// arithmetic of the reference network, so a settled total *is* the reference value (docs/conversion.md);
/// operators of per-step methods read the increments. Both are kept for every value.
package final class ValueSlot: @unchecked Sendable {
    package let info: ValueInfo
    package let total: FloatBuffer
    package let increment: FloatBuffer
    /// False when no increment of the batch is non-zero this step (consumers then skip their work).
    package var changed = false

    package init(_ info: ValueInfo, batch: Int) {
        self.info = info
        total = FloatBuffer(count: batch * info.perSample)
        increment = FloatBuffer(count: batch * info.perSample)
    }

    /// Zero totals and increments (a new batch).
    package func reset() {
        total.zero()
        increment.zero()
        changed = false
    }

    /// Marks the value unchanged this step, zeroing last step's increments if there were any.
    package func keep(batch: Int) {
        if changed { increment.pointer.update(repeating: 0, count: batch * info.perSample) }
        changed = false
    }

    /// Before an operator rewrites (part of) `total`: remember the old totals in `increment`.
    package func beginUpdate(batch: Int) {
        increment.pointer.update(from: total.pointer, count: batch * info.perSample)
    }

    /// After the rewrite: `increment = total − old total`, and whether anything changed.
    package func finishUpdate(batch: Int) {
        let t = total.pointer, d = increment.pointer
        var any = false
        for i in 0..<(batch * info.perSample) {
            let delta = t[i] - d[i]
            d[i] = delta
            any = any || delta != 0
        }
        changed = any
    }

    /// After an operator wrote this step's `increment`: `total += increment`, and whether anything changed.
    package func accumulate(batch: Int) {
        let t = total.pointer, d = increment.pointer
        var any = false
        for i in 0..<(batch * info.perSample) {
            t[i] += d[i]
            any = any || d[i] != 0
        }
        changed = any
    }

    /// Non-zero increments over the first `batch` samples (a synaptic layer's input events this step).
    package func nonZeroIncrements(batch: Int) -> Int {
        let d = increment.pointer
        var events = 0
        for i in 0..<(batch * info.perSample) where d[i] != 0 { events &+= 1 }
        return events
    }

    /// Whether all of sample `s`'s increments are zero.
    package func isQuiet(sample s: Int) -> Bool {
        guard changed else { return true }
        let p = increment.pointer + s * info.perSample
        for i in 0..<info.perSample where p[i] != 0 { return false }
        return true
    }

    package func moveSample(from: Int, to: Int) {
        total.moveBlock(from: from, to: to, size: info.perSample)
        increment.moveBlock(from: from, to: to, size: info.perSample)
    }
}

/// What an operator sees of the current step.
package struct StepContext {
    /// The step, from 0.
    package let t: Int
    /// Samples in the batch at this step (quiet samples may have left).
    package let batch: Int
    /// The data-set index of the sample at each batch position (keys of the counter-based random bits).
    package let samples: UnsafePointer<Int>
    package let seed: UInt64

    package init(t: Int, batch: Int, samples: UnsafePointer<Int>, seed: UInt64) {
        self.t = t
        self.batch = batch
        self.samples = samples
        self.seed = seed
    }

    /// 32 random bits for element `element` of the sample at batch position `position`, in stream `stream`.
    @inline(__always)
    package func randomBits(stream: UInt64, position: Int, element: Int) -> UInt32 {
        CounterRandom.bits(seed: seed, sample: samples[position], step: t, stream: stream, element: element)
    }
}

/// What the executor knows of an operator: reset its state for a new batch, advance one timestep, move a sample's
/// state when the batch is compacted. Operators are created once per (graph, batch capacity); `step` never
/// allocates.
package protocol SpikingOperator: AnyObject {
    func reset(batch: Int)
    func step(_ step: StepContext)
    /// Moves sample `from`'s internal state into position `to` (the executor compacts quiet samples out of the
    /// batch; value totals and increments are moved by the executor).
    func moveSample(from: Int, to: Int)
}

extension SpikingOperator {
    package func reset(batch: Int) {}
    /// Operators whose state lives in their values have nothing to move.
    package func moveSample(from: Int, to: Int) {}
}

/// Operators that emit spikes: the executor reads their counts after each step for statistics and quiescence.
package protocol SpikeEmitter: SpikingOperator {
    var site: String { get }
    var neuronsPerSample: Int { get }
    /// Spikes emitted by each batch position at the last step, Σ|k| over its neurons (a spike of size k counts k).
    var stepSpikes: ScalarBuffer<Int> { get }
    /// Non-zero spike messages of each batch position at the last step (equal to `stepSpikes` for ±1 spikes).
    var stepEvents: ScalarBuffer<Int> { get }
    /// The largest |k| any neuron emitted at the last step (the spike alphabet actually used).
    var stepLargestSpike: Int { get }
}

/// Operators with synapses (weights): the executor reads their input events after each step.
package protocol SynapticOperator: SpikingOperator {
    /// The weight tensor's name (the layer's name in reports).
    var layer: String { get }
    /// Outputs each input element reaches (synaptic operations = events × fan-out).
    var fanOut: Int { get }
    /// Non-zero input messages over the batch at the last step.
    var stepInputEvents: Int { get }
}
