/// The increments of one graph value for the current timestep, for a whole batch (`[batch·rows, width]`).
final class ValueSlot: @unchecked Sendable {
    let info: ValueInfo
    let buffer: FloatBuffer
    /// True when every increment of the batch is zero this step (lets consumers skip work).
    var isZero = true

    init(_ info: ValueInfo, batch: Int) {
        self.info = info
        buffer = FloatBuffer(count: batch * info.perSample)
    }

    var pointer: UnsafeMutablePointer<Float> { buffer.pointer }

    func setZero(batch: Int) {
        if !isZero { pointer.update(repeating: 0, count: batch * info.perSample) }
        isZero = true
    }

    /// Recomputes `isZero` from the data.
    func refreshZero(batch: Int) {
        let p = pointer
        for i in 0..<(batch * info.perSample) where p[i] != 0 { isZero = false; return }
        isZero = true
    }
}

/// What the executor knows of an operator: reset its state for a new batch, advance one timestep.
/// Operators are created once per (graph, batch capacity); `step` never allocates.
protocol SpikingOperator: AnyObject {
    func reset(batch: Int)
    func step(_ t: Int, batch: Int)
    /// Moves sample `from`'s state into position `to` (the executor compacts settled samples out of the batch).
    func moveSample(from: Int, to: Int)
}

extension SpikingOperator {
    /// Stateless operators have nothing to move.
    func moveSample(from: Int, to: Int) {}
}

/// Operators that emit spikes: the executor reads their counts for statistics and quiescence.
protocol SpikeEmitter: SpikingOperator {
    var site: String { get }
    var neuronsPerSample: Int { get }
    /// Spikes (|±1|) emitted by each sample at the last step.
    var stepSpikes: ScalarBuffer<Int> { get }
}
