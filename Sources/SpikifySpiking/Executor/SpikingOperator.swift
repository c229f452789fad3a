import SpikifyCore

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
