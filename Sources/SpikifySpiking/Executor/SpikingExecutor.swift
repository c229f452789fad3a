import Dispatch
import SpikifyCore

/// Bytes of a ``SpikingExecutor``'s value state (``SpikingExecutor/valueStateBytes``).
public struct ValueStateBytes: Sendable, Equatable {
    /// Float totals kept between steps; totals kept as int8 counts.
    public var totals = 0, countedTotals = 0
    /// Increments kept by their values; the one shared increment buffer; the two scratch buffers of transient totals.
    public var keptIncrements = 0, sharedIncrements = 0, transientTotals = 0
}

/// Runs a ``SpikingGraph`` over timesteps for a batch of images, following the graph's
/// ``SimulationSemantics``: how the image enters (once or every step), how the output is read (sum or mean), and
/// whether a silent sample may leave early. After every step the read-out output gives a prediction, so one pass
/// yields the accuracy at every T, and per-step statistics (spikes, spike events and the largest spike per site,
/// input events per synaptic layer) are recorded.
///
/// Buffers are allocated once for a batch capacity. Operators are made through the ``OperatorRegistry`` from the
/// graph's nodes; the executor only uses the operator protocols (``SpikingOperator``, ``SpikeEmitter``,
/// ``SynapticOperator``), never the kinds, so which method built the graph never matters here.
///
/// **Lanes.** With several cores the batch is split into lanes, one per core: contiguous parts of the batch, each
/// simulated by its own set of state and operators (sharing the weights) on its own thread, its operators' loops
/// inline. A step of a small network is many short operator calls, and lanes need no synchronisation between them.
/// Every result is the same as one run over the whole batch, because no sample's result depends on which others
/// share its batch (``PackedLinear`` or ``GatheredLinear``, per-sample random keys), and the parts' statistics add up
/// (``SpikingBatchResult``; `ExecutorLaneTests` compares lanes with one run field by field).
public final class SpikingExecutor {
    public let graph: SpikingGraph
    public let capacity: Int
    private let slots: [ValueSlot]
    private let operators: [any SpikingOperator]
    private let emitters: [any SpikeEmitter]
    private let synapses: [any SynapticOperator]
    private let positions: ScalarBuffer<Int>
    /// How many values share one increment buffer (``ValueSlot/sharesIncrements``).
    package var sharedIncrementValues: Int {
        lanes.first?.sharedIncrementValues ?? slots.filter(\.sharesIncrements).count
    }
    /// How many values keep no totals between steps (``ValueSlot/totalIsTransient``).
    package var transientValues: Int {
        lanes.first?.transientValues ?? slots.filter(\.totalIsTransient).count
    }
    /// Bytes of the values' state at this batch capacity: float totals kept between steps, totals kept as int8
    /// counts (``ValueSlot/counts``), increments kept by their values, the one shared increment buffer
    /// (``ValueSlot/sharesIncrements``) and the two scratch buffers of the transient totals
    /// (``ValueSlot/totalIsTransient``); operators' own state (levels, counts, scratch) not included.
    public var valueStateBytes: ValueStateBytes {
        if !lanes.isEmpty {
            var sum = ValueStateBytes()
            for lane in lanes {
                let bytes = lane.valueStateBytes
                sum.totals += bytes.totals
                sum.countedTotals += bytes.countedTotals
                sum.keptIncrements += bytes.keptIncrements
                sum.sharedIncrements += bytes.sharedIncrements
                sum.transientTotals += bytes.transientTotals
            }
            return sum
        }
        let float = MemoryLayout<Float>.size
        var bytes = ValueStateBytes()
        bytes.totals = slots.filter { !$0.totalIsTransient }.reduce(0) { $0 + $1.total.count * float }
        bytes.countedTotals = slots.filter { !$0.sharesCounts }.reduce(0) { $0 + ($1.counts?.count ?? 0) }
        bytes.keptIncrements = slots.filter { !$0.sharesIncrements }.reduce(0) { $0 + $1.increment.count * float }
        bytes.sharedIncrements = slots.first(where: \.sharesIncrements).map { $0.increment.count * float } ?? 0
        var transient = [ObjectIdentifier: Int]()  // the two buffers, each once
        for slot in slots where slot.totalIsTransient { transient[ObjectIdentifier(slot.total)] = slot.total.count * float }
        bytes.transientTotals = transient.values.reduce(0, +)
        return bytes
    }
    /// How many values keep their totals as int8 counts (``ValueSlot/counts``).
    package var countedValues: Int {
        lanes.first?.countedValues ?? slots.filter { $0.counts != nil && !$0.sharesCounts }.count
    }
    /// How many values read another value's counts through a table (``ValueSlot/countTable``).
    package var tabulatedValues: Int { lanes.first?.tabulatedValues ?? slots.filter(\.sharesCounts).count }
    /// When true, ``run(_:samples:timesteps:compact:exitPolicy:)`` adds each operator's wall time to
    /// ``operatorSeconds`` under its kind (for profiles such as `spikify-bench --profile`).
    public var timesOperators = false { didSet { for lane in lanes { lane.timesOperators = timesOperators } } }
    /// Seconds spent in operators of each kind over the runs made with ``timesOperators`` on (summed over the
    /// lanes, which run at the same time).
    public var operatorSeconds: [String: Double] {
        lanes.reduce(into: ownOperatorSeconds) { sum, lane in sum.merge(lane.operatorSeconds, uniquingKeysWith: +) }
    }
    private var ownOperatorSeconds: [String: Double] = [:]
    /// The lanes (empty: this executor simulates the whole batch itself), and how many samples each simulated in
    /// the last run.
    private let lanes: [SpikingExecutor]
    private var lastLaneSamples: [Int] = []
    /// Number of lanes: one per core, at most one per sample of the capacity (1: no lanes).
    public var laneCount: Int { max(1, lanes.count) }

    /// Validates the graph (every operator through its spec) and allocates state for `batchCapacity` samples.
    /// - Parameters:
    ///   - lanes: how many parts of the batch run in parallel (see the type's notes); nil: one per core, at most one
    ///     per sample.
    ///   - packedWeights: whether linear layers run on packed weights where the CPU has AVX-512 or AVX2
    ///     (``PackedLinear``), like ``ViTForward``'s default; the reference network must be built with the same choice
    ///     for the settled SNN to equal it bit for bit.
    public convenience init(graph: SpikingGraph, batchCapacity: Int, registry: OperatorRegistry = .shared,
                            lanes: Int? = nil, packedWeights: Bool = true) throws {
        try self.init(graph: graph, batchCapacity: batchCapacity, registry: registry, lanes: lanes,
                      shared: SharedConstants(), packedWeights: packedWeights)
    }

    private init(graph: SpikingGraph, batchCapacity: Int, registry: OperatorRegistry, lanes requested: Int?,
                 shared: SharedConstants, packedWeights: Bool) throws {
        let specs = try graph.validatedSpecs(registry: registry)
        guard batchCapacity >= 1 else { throw SpikifyError.invalidArgument("batch capacity must be at least 1, got \(batchCapacity)") }
        var elements = 0
        for v in graph.values {
            let (n, o1) = v.perSample.multipliedReportingOverflow(by: batchCapacity)
            let (sum, o2) = elements.addingReportingOverflow(n)
            guard !o1, !o2, sum <= SpikingGraph.maximumValueElements else {
                throw SpikifyError.invalidArgument("\(graph.origin): a batch of \(batchCapacity) needs more than "
                    + "\(SpikingGraph.maximumValueElements) value elements; use a smaller batch size")
            }
            elements = sum
        }
        self.graph = graph
        capacity = batchCapacity
        let laneCount = max(1, min(requested ?? Parallel.workers, batchCapacity))
        if laneCount > 1 {
            let perLane = (batchCapacity + laneCount - 1) / laneCount
            lanes = try (0..<laneCount).map { _ in
                try SpikingExecutor(graph: graph, batchCapacity: perLane, registry: registry, lanes: 1, shared: shared,
                                    packedWeights: packedWeights)
            }
            slots = []
            operators = []
            emitters = []
            synapses = []
            positions = ScalarBuffer<Int>(count: 0)
            return
        }
        lanes = []
        let constants = shared
        let counted = Self.valuesCountingEvents(graph, specs: specs)
        let shared = Self.valuesSharingIncrements(graph, specs: specs, countingEvents: counted)
        let sharedSize = graph.values.indices.filter { shared[$0] }.map { graph.values[$0].perSample }.max() ?? 0
        let sharedIncrement = sharedSize > 0 ? FloatBuffer(count: sharedSize * batchCapacity) : nil
        // Transient totals alternate between two scratch buffers in the order they are produced: a value's reader
        // steps right after its producer, so only the next transient value could overwrite it before it is read,
        // and that one gets the other buffer.
        let transient = Self.valuesWithTransientTotals(graph, specs: specs, sharingIncrements: shared)
        let transientSize = graph.values.indices.filter { transient[$0] }.map { graph.values[$0].perSample }.max() ?? 0
        let transientTotals = transientSize == 0 ? []
            : (0..<2).map { _ in FloatBuffer(count: transientSize * batchCapacity) }
        var transientBuffer = [Int: FloatBuffer]()
        for (n, v) in graph.nodes.flatMap(\.outputs).filter({ transient[$0] }).enumerated() {
            transientBuffer[v] = transientTotals[n % 2]
        }
        let countedOutputs = try Self.valuesWithCountedTotals(graph, specs: specs)
        let tables = try Self.valuesWithTabulatedTotals(graph, specs: specs, counted: countedOutputs,
                                                        countingEvents: counted, sharingIncrements: shared,
                                                        transient: transient)
        var made = [ValueSlot?](repeating: nil, count: graph.values.count)
        for v in graph.values.indices where tables[v] == nil {  // (a tabulated value's source is made first)
            made[v] = ValueSlot(graph.values[v], batch: batchCapacity, sharedIncrement: shared[v] ? sharedIncrement : nil,
                                transientTotal: transientBuffer[v], countUnit: countedOutputs[v]?.unit,
                                nibbleBase: countedOutputs[v]?.nibbleBase, countsEvents: counted[v])
        }
        for (v, tabulated) in tables.enumerated() {
            guard let tabulated else { continue }
            made[v] = ValueSlot(graph.values[v], batch: batchCapacity, sharedIncrement: shared[v] ? sharedIncrement : nil,
                                countsEvents: counted[v], tabulating: made[tabulated.source]!, table: tabulated.table)
        }
        let slots = made.map { $0! }
        self.slots = slots
        let runtime = OperatorRuntime(slots: slots, capacity: batchCapacity, shared: constants,
                                      packedWeights: packedWeights)
        operators = try graph.nodes.indices.map { i in
            try specs[i].instantiate(NodeContext(index: i, node: graph.nodes[i], graph: graph), runtime)
        }
        emitters = operators.compactMap { $0 as? any SpikeEmitter }
        synapses = operators.compactMap { $0 as? any SynapticOperator }
        positions = ScalarBuffer<Int>(count: batchCapacity)
    }

    /// Values whose increments need not be kept (``ValueSlot/sharesIncrements``): not the graph's output, produced
    /// by an operator that rewrites its increments where they change (or the image under analog-once coding, whose
    /// increment is the image at t = 0 and zero after), and read by no operator that reads increments, except
    /// operators that only count them from a producer that counts its events itself
    /// (``OperatorSpec/countsInputEventsOnly``, ``OperatorSpec/countsOutputEvents``). In a SpikeZIP-TF graph these
    /// are every value but the logits, which halves the memory of the others.
    /// `countingEvents`: ``valuesCountingEvents(_:specs:)`` where the caller has it.
    static func valuesSharingIncrements(_ graph: SpikingGraph, specs: [AnyOperatorSpec],
                                        countingEvents: [Bool]? = nil) -> [Bool] {
        var read = [Bool](repeating: false, count: graph.values.count)
        var kept = [Bool](repeating: true, count: graph.values.count)
        let counted = countingEvents ?? valuesCountingEvents(graph, specs: specs)
        for (node, spec) in zip(graph.nodes, specs) {
            for v in node.outputs { kept[v] = spec.keepsOutputIncrements }
        }
        for (node, spec) in zip(graph.nodes, specs) {
            for v in node.inputs where spec.readsInputIncrements && !(spec.countsInputEventsOnly && counted[v]) {
                read[v] = true
            }
        }
        kept[graph.input] = graph.semantics.inputCoding != .analogOnce  // (others add the image every step)
        read[graph.output] = true
        return graph.values.indices.map { !read[$0] && !kept[$0] }
    }

    /// Values whose totals need not be kept between steps (``ValueSlot/totalIsTransient``): their increments are not
    /// kept, their producer writes its output totals afresh (``OperatorSpec/writesOutputTotalsAfresh``), and their
    /// one reader is the next operator, which reads only changed rows (``OperatorSpec/readsChangedInputRowsOnly``).
    /// In a SpikeZIP-TF graph these are the inputs of the ST-BIF+ layers and the attention scores.
    /// `sharingIncrements`: ``valuesSharingIncrements(_:specs:countingEvents:)`` where the caller has it.
    static func valuesWithTransientTotals(_ graph: SpikingGraph, specs: [AnyOperatorSpec],
                                          sharingIncrements: [Bool]? = nil) -> [Bool] {
        let shared = sharingIncrements ?? valuesSharingIncrements(graph, specs: specs)
        var producer = [Int?](repeating: nil, count: graph.values.count)
        var readers = [Set<Int>](repeating: [], count: graph.values.count)
        for (i, node) in graph.nodes.enumerated() {
            for v in node.outputs { producer[v] = i }
            for v in node.inputs { readers[v].insert(i) }
        }
        return graph.values.indices.map { v in
            guard shared[v], let p = producer[v], specs[p].writesOutputTotalsAfresh,
                  readers[v] == [p + 1], specs[p + 1].readsChangedInputRowsOnly else { return false }
            return v != graph.input && v != graph.output
        }
    }

    /// The unit θ and the range of the counts of each value whose totals are kept as counts, a byte each
    /// (``ValueSlot/counts``: int8, or shared with the producer, ``CountedOutput/nibbleBase``; nil for the others):
    /// its producer's outputs are counts of θ (``OperatorSpec/countedOutput(_:)``), it is neither the graph's input
    /// nor its output, and every operator that reads it ``OperatorSpec/readsCountedInputs``. In a SpikeZIP-TF graph
    /// whose bounds fit in a byte (signed quantizers up to 256 levels, unsigned up to 128) these are the outputs of
    /// every ST-BIF+ layer.
    static func valuesWithCountedTotals(_ graph: SpikingGraph, specs: [AnyOperatorSpec]) throws -> [CountedOutput?] {
        var units = [CountedOutput?](repeating: nil, count: graph.values.count)
        for (i, node) in graph.nodes.enumerated() {
            guard let unit = try specs[i].countedOutput(NodeContext(index: i, node: node, graph: graph)) else {
                continue
            }
            for v in node.outputs where v != graph.input && v != graph.output { units[v] = unit }
        }
        for (node, spec) in zip(graph.nodes, specs) where !spec.readsCountedInputs {
            for v in node.inputs { units[v] = nil }
        }
        return units
    }

    /// Values read through a table of another value's counts (``ValueSlot/countTable``): the one output of an
    /// operator that computes a function f of its one input element by element (``OperatorSpec/elementwiseFunction(_:)``),
    /// whose input keeps int8 counts (``valuesWithCountedTotals(_:specs:)``) from a producer that counts its events,
    /// where f of the counts' range times their unit is finite, one-to-one and 0 at 0; the value is neither the
    /// graph's input nor its output, keeps no increments or transient totals, and every reader ``readsCountedInputs``.
    /// Each gets its source and the table of f over the counts −128…127 (made with the operator's own f, so each
    /// entry is the float the operator would compute). In a SpikeZIP-TF graph with GELU these are the MLPs' hidden
    /// values (the differential GELU after fc1's neurons), unless f repeats a value on the range.
    /// The other analyses it needs are made here unless the caller passes them (the executor has made them).
    static func valuesWithTabulatedTotals(_ graph: SpikingGraph, specs: [AnyOperatorSpec],
                                          counted: [CountedOutput?]? = nil, countingEvents: [Bool]? = nil,
                                          sharingIncrements: [Bool]? = nil, transient: [Bool]? = nil) throws
        -> [(source: Int, table: [Float])?]
    {
        let countsEvents = countingEvents ?? valuesCountingEvents(graph, specs: specs)
        let shared = sharingIncrements ?? valuesSharingIncrements(graph, specs: specs, countingEvents: countsEvents)
        let transient = transient ?? valuesWithTransientTotals(graph, specs: specs, sharingIncrements: shared)
        let counted = try counted ?? valuesWithCountedTotals(graph, specs: specs)
        var readable = [Bool](repeating: true, count: graph.values.count)  // every reader reads counts
        for (node, spec) in zip(graph.nodes, specs) where !spec.readsCountedInputs {
            for v in node.inputs { readable[v] = false }
        }
        var tables = [(source: Int, table: [Float])?](repeating: nil, count: graph.values.count)
        for (i, node) in graph.nodes.enumerated() where node.inputs.count == 1 && node.outputs.count == 1 {
            let source = node.inputs[0], v = node.outputs[0]
            guard let f = try specs[i].elementwiseFunction(NodeContext(index: i, node: node, graph: graph)),
                  let counts = counted[source], countsEvents[source], countsEvents[v], shared[v], !transient[v],
                  readable[v], v != graph.input, v != graph.output,
                  graph.values[v].rows == graph.values[source].rows, graph.values[v].width == graph.values[source].width
            else { continue }
            var table = (-128...127).map { Float($0) * counts.unit }  // the floats the input's counts stand for
            table.withUnsafeMutableBufferPointer { f($0.baseAddress!, $0.count) }
            let used = counts.levels.map { table[$0 + 128] }
            guard used.allSatisfy(\.isFinite), table[128] == 0, Set(used).count == used.count else { continue }
            tables[v] = (source, table)
        }
        return tables
    }

    /// Values whose producer counts their non-zero increments (``OperatorSpec/countsOutputEvents``).
    static func valuesCountingEvents(_ graph: SpikingGraph, specs: [AnyOperatorSpec]) -> [Bool] {
        var counted = [Bool](repeating: false, count: graph.values.count)
        for (node, spec) in zip(graph.nodes, specs) where spec.countsOutputEvents {
            for v in node.outputs { counted[v] = true }
        }
        return counted
    }

    /// The accumulated total of graph value `value` for the first `batch` samples after the last ``run`` (each
    /// sample's `[rows, width]` block in batch order): what a method's calibration observes of a float network
    /// run for one step. Nil when `value` or `batch` is out of range, or when the value's totals are not kept
    /// between steps (``ValueSlot/totalIsTransient``).
    package func totals(of value: Int, batch: Int) -> [Float]? {
        if !lanes.isEmpty {  // the lanes' parts in order, as far as `batch` reaches
            guard batch >= 1, batch <= lastLaneSamples.reduce(0, +) else { return nil }
            var all: [Float] = [], left = batch
            for (lane, n) in zip(lanes, lastLaneSamples) where n > 0 && left > 0 {
                guard let part = lane.totals(of: value, batch: Swift.min(n, left)) else { return nil }
                all += part
                left -= Swift.min(n, left)
            }
            return all
        }
        guard slots.indices.contains(value), (1...capacity).contains(batch), !slots[value].totalIsTransient else {
            return nil
        }
        let slot = slots[value]
        return [Float](unsafeUninitializedCapacity: batch * slot.info.perSample) { buffer, count in
            slot.loadRows(0, count: batch * slot.info.rows, into: buffer.baseAddress!)
            count = batch * slot.info.perSample
        }
    }

    /// Runs one batch (at most `capacity` images `[B, C, H, W]`) for up to `timesteps` steps.
    ///
    /// When the semantics declare quiescence final, a sample is *quiet* at step t ≥ 1 when no neuron of it fired:
    /// its output is final, it leaves the batch (its state is compacted out, so the remaining ones run faster), and
    /// the run ends when every sample is quiet or after `timesteps` steps. Predictions, logits and spike counts
    /// are the same as running every sample for all steps.
    /// - Parameters:
    ///   - samples: the data-set index of each image (the key of its random bits); default `0..<B`.
    ///   - compact: keep quiet samples in the batch instead (for tests of the compaction itself).
    ///   - exitPolicy: where each sample would leave early (``ExitPolicy``); recorded in
    ///     ``SpikingBatchResult/exitSteps`` and ``SpikingBatchResult/exitPredictions``, while the sample keeps
    ///     running, so every other result is the same as without a policy.
    public func run(_ images: Tensor, samples: [Int]? = nil, timesteps: Int, compact: Bool = true,
                    exitPolicy: ExitPolicy? = nil) throws -> SpikingBatchResult
    {
        if !lanes.isEmpty {
            return try runLanes(images, samples: samples, timesteps: timesteps, compact: compact,
                                exitPolicy: exitPolicy)
        }
        // Operators spread their work over the cores themselves; BLAS threads left waiting between the many small
        // calls of a step would only take CPU time from them.
        return try BLAS.withSingleThread {
            try simulate(images, samples: samples, timesteps: timesteps, compact: compact, exitPolicy: exitPolicy)
        }
    }

    /// The batch size and the samples' data-set indices of a run's arguments, checked against this executor.
    private func checkedBatch(_ images: Tensor, samples: [Int]?, timesteps: Int) throws -> (total: Int, ids: [Int]) {
        let total = images.rank == 0 ? 0 : images.shape[0]
        let inputInfo = graph.values[graph.input]
        guard total >= 1, total <= capacity, images.count == total * inputInfo.perSample else {
            throw SpikifyError.invalidArgument("a batch of shape \(images.shape) does not fit this executor (at most "
                + "\(capacity) images of \(inputInfo.rows)×\(inputInfo.width) values)")
        }
        guard timesteps >= 1 else { throw SpikifyError.invalidArgument("timesteps must be at least 1, got \(timesteps)") }
        let ids = samples ?? Array(0..<total)
        guard ids.count == total else {
            throw SpikifyError.invalidArgument("\(ids.count) sample indices for a batch of \(total)")
        }
        return (total, ids)
    }

    private func simulate(_ images: Tensor, samples: [Int]?, timesteps: Int, compact: Bool,
                          exitPolicy: ExitPolicy?) throws -> SpikingBatchResult
    {
        let (total, ids) = try checkedBatch(images, samples: samples, timesteps: timesteps)
        for op in operators { op.reset(batch: total) }
        for slot in slots { slot.reset() }
        let semantics = graph.semantics
        let input = slots[graph.input], output = slots[graph.output]
        images.scalars.withUnsafeBufferPointer {
            input.total.pointer.update(from: $0.baseAddress!, count: images.count)
            if !input.sharesIncrements { input.increment.pointer.update(from: $0.baseAddress!, count: images.count) }
        }
        input.changed = true
        let analogOnce = semantics.inputCoding == .analogOnce
        let classes = output.info.perSample, steps = timesteps
        var result = SpikingBatchResult(batch: total, sites: emitters.map { ($0.site, $0.neuronsPerSample) },
                                        layers: synapses.map { ($0.layer, $0.fanOut) }, readout: semantics.readout)
        result.predictions = [Int](repeating: -1, count: steps * total)
        result.reserve(steps: min(steps, 4096))
        var finalLogits = [Float](repeating: 0, count: total * classes)
        var active = ids.indices.map { $0 }  // batch position → position in `ids`
        for (p, id) in ids.enumerated() { positions.pointer[p] = id }
        var spikesAt = [Int](repeating: 0, count: total)  // per position, this step
        var stableRun = [Int](repeating: 0, count: total)  // per sample: steps its prediction has not changed
        if exitPolicy != nil {
            result.exitSteps = Array(repeating: nil, count: total)
            result.exitPredictions = Array(repeating: -1, count: total)
        }
        for t in 0..<steps {
            let batch = active.count
            if t >= 1 {
                if analogOnce {
                    if t == 1 { input.keep(batch: batch) }
                } else {
                    input.accumulate(batch: batch)  // the image again: total += image
                }
            }
            let context = StepContext(t: t, batch: batch, samples: UnsafePointer(positions.pointer), seed: semantics.seed)
            if timesOperators { timedStep(context) } else { for op in operators { op.step(context) } }
            result.recordStep(emitters: emitters, synapses: synapses, batch: batch)
            for p in 0..<batch { spikesAt[p] = 0 }
            for emitter in emitters {
                let stepSpikes = emitter.stepSpikes.pointer
                for p in 0..<batch { spikesAt[p] += stepSpikes[p] }
            }
            let scale: Float = semantics.readout == .mean ? 1 / Float(t + 1) : 1
            let logits = output.total.pointer
            for p in 0..<batch {
                let sample = active[p]
                result.sampleSpikes[sample] += spikesAt[p]
                result.stepsActive[sample] = t + 1
                var best = 0
                for c in 1..<classes where logits[p * classes + c] > logits[p * classes + best] { best = c }
                result.predictions[t * total + sample] = best
                guard let exitPolicy, result.exitSteps[sample] == nil else { continue }
                stableRun[sample] = t >= 1 && result.predictions[(t - 1) * total + sample] == best ? stableRun[sample] + 1 : 0
                guard stableRun[sample] >= exitPolicy.stableSteps else { continue }
                if let margin = exitPolicy.margin {
                    // top-1 − top-2 of the read-out logits (scaled as the readout is).
                    var second = -Float.infinity
                    for c in 0..<classes where c != best { second = max(second, logits[p * classes + c]) }
                    guard (logits[p * classes + best] - second) * scale > margin else { continue }
                }
                result.exitSteps[sample] = t + 1
                result.exitPredictions[sample] = best
            }
            result.stepsRun = t + 1
            guard semantics.quiescenceIsFinal else { continue }
            // Quiet samples: record the settle step and final output; compact them out of the batch.
            var p = batch - 1
            while p >= 0 {
                let sample = active[p]
                if t >= 1 && spikesAt[p] == 0 && result.settleSteps[sample] == nil {
                    result.settleSteps[sample] = t
                    if compact {
                        for c in 0..<classes { finalLogits[sample * classes + c] = logits[p * classes + c] * scale }
                        let last = active.count - 1
                        if p != last {
                            for op in operators { op.moveSample(from: last, to: p) }
                            for slot in slots { slot.moveSample(from: last, to: p) }
                            active[p] = active[last]
                            spikesAt[p] = spikesAt[last]
                            positions.pointer[p] = positions.pointer[last]
                        }
                        active.removeLast()
                    }
                }
                p -= 1
            }
            if active.isEmpty || (!compact && result.settleSteps.allSatisfy({ $0 != nil })) { break }
        }
        let scale: Float = semantics.readout == .mean ? 1 / Float(result.stepsRun) : 1
        for (p, sample) in active.enumerated() {
            for c in 0..<classes { finalLogits[sample * classes + c] = output.total[p * classes + c] * scale }
        }
        result.finish(steps: steps, logits: Tensor(shape: [total, classes], scalars: finalLogits))
        return result
    }

    /// The batch split into one contiguous part per lane, the lanes run on their own threads (their loops inline),
    /// the parts' results merged.
    private func runLanes(_ images: Tensor, samples: [Int]?, timesteps: Int, compact: Bool,
                          exitPolicy: ExitPolicy?) throws -> SpikingBatchResult {
        let (total, ids) = try checkedBatch(images, samples: samples, timesteps: timesteps)
        let parts = min(lanes.count, total)
        let bounds = (0...parts).map { total * $0 / parts }
        let work = (0..<parts).map { k -> LaneRun in
            let range = bounds[k]..<bounds[k + 1]
            return LaneRun(executor: lanes[k], images: images.slice(rows: range), samples: Array(ids[range]))
        }
        let outcomes = UnsafeMutablePointer<Result<SpikingBatchResult, any Error>?>.allocate(capacity: parts)
        outcomes.initialize(repeating: nil, count: parts)
        defer { outcomes.deinitialize(count: parts); outcomes.deallocate() }
        let out = SendablePointer(outcomes)
        Parallel.forChunks(parts) { range in
            for k in range {
                out.base[k] = Parallel.inline {
                    Result { try work[k].run(timesteps: timesteps, compact: compact, exitPolicy: exitPolicy) }
                }
            }
        }
        lastLaneSamples = (0..<lanes.count).map { $0 < parts ? bounds[$0 + 1] - bounds[$0] : 0 }
        return SpikingBatchResult.merged(try (0..<parts).map { try outcomes[$0]!.get() }, compacted: compact)
    }

    /// One lane's part of a batch.
    private struct LaneRun: @unchecked Sendable {  // each lane's executor is used by one thread at a time
        let executor: SpikingExecutor, images: Tensor, samples: [Int]

        func run(timesteps: Int, compact: Bool, exitPolicy: ExitPolicy?) throws -> SpikingBatchResult {
            try executor.run(images, samples: samples, timesteps: timesteps, compact: compact, exitPolicy: exitPolicy)
        }
    }

    /// One step with each operator timed (``timesOperators``).
    private func timedStep(_ context: StepContext) {
        for (i, op) in operators.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            op.step(context)
            ownOperatorSeconds[graph.nodes[i].kind, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        }
    }
}
