import SpikifyCore
import SpikifyModel

/// Describes one kind of spiking operator: how a node of that kind is checked against the graph, and how its
/// runtime operator is made. Each conversion method registers the specs of its operators in the
/// ``OperatorRegistry``; the executor, validation and export only ever go through them (docs/architecture.md,
/// "Adding a method").
package protocol OperatorSpec {
    /// What validation extracts from a node: everything the runtime operator needs, checked.
    associatedtype Parameters
    /// The stable kind string saved in converted files.
    static var kind: String { get }
    /// Checks the node's arity, value shapes, tensors and attributes; throws an error naming the operator.
    static func parameters(_ node: NodeContext) throws -> Parameters
    /// The runtime operator for a batch capacity (called only with parameters that passed validation).
    static func instantiate(_ parameters: Parameters, _ node: NodeContext, _ runtime: OperatorRuntime)
        -> any SpikingOperator
    /// Whether the operator reads its inputs' increments (false: only their totals and row flags). Default true.
    static var readsInputIncrements: Bool { get }
    /// Whether the operator relies on its output's increments staying what it wrote, zeros included, from one
    /// step to the next (false: it writes them afresh, through ``ValueSlot``'s row and sample updates or whole
    /// rows, in every row it reports changed). Default true.
    static var keepsOutputIncrements: Bool { get }
    /// Whether the operator reads its inputs' increments only to count the non-zero ones (its synaptic events). It
    /// then takes the count from ``ValueSlot/stepEvents`` where the input's producer counts its events, and such an
    /// input need not keep its increments. Default false.
    static var countsInputEventsOnly: Bool { get }
    /// Whether the operator sets its output's ``ValueSlot/stepEvents`` (the non-zero increments over the batch) at
    /// every step. Default false.
    static var countsOutputEvents: Bool { get }
    /// Whether the operator reads its inputs' totals only in the rows they flag changed at this step (at t = 0, when
    /// every producer writes every row, in all rows), only while it steps, and none of their increments or event
    /// counts. An input whose one reader is such an operator, stepping right after the input's producer, and whose
    /// producer ``writesOutputTotalsAfresh``, keeps no totals between steps (``ValueSlot/totalIsTransient``).
    /// Default false.
    static var readsChangedInputRowsOnly: Bool { get }
    /// Whether the operator writes its output's total in every row it flags changed (through ``ValueSlot``'s row and
    /// sample updates, or whole rows) without reading what the total was before, and reads nothing of it elsewhere.
    /// Default false; true for ``TotalOperatorSpec``s.
    static var writesOutputTotalsAfresh: Bool { get }
    /// Whether the operator reads its inputs' totals only through ``ValueSlot/loadRows(_:count:into:)`` and
    /// ``ValueSlot/rows(_:count:scratch:)``, so that an input may keep them as counts (``ValueSlot/counts``).
    /// Default false.
    static var readsCountedInputs: Bool { get }
    /// The unit θ and the range of the counts when every output total is an integer count within −128…127 times θ
    /// (the output may then keep int8 counts, ``ValueSlot/counts``, where all its readers ``readsCountedInputs``, and
    /// the operator must write them there); nil (the default) otherwise.
    static func countedOutput(_ parameters: Parameters) -> CountedOutput?
    /// Where the operator's one output is a function f of its one input, element by element, recomputed in the rows
    /// whose input changed: f as the operator computes it, in place on `count` floats (nil, the default, otherwise).
    /// Over an input kept as counts (``countedOutput(_:)``) whose producer counts its events, where f is one-to-one on
    /// the counts' range with f(0) = 0, the executor then keeps no output at all: readers read the input's counts
    /// through a table of f (``ValueSlot/countTable``), and the operator only passes on the input's row flags and
    /// event count (``ValueSlot/mirror(_:batch:)``), which are exactly its output's.
    static func elementwiseFunction(_ parameters: Parameters) -> ElementwiseFunction?
}

/// f applied in place to `count` floats (``OperatorSpec/elementwiseFunction(_:)``).
package typealias ElementwiseFunction = @Sendable (UnsafeMutablePointer<Float>, Int) -> Void

/// Output totals that are integer counts times a unit (``OperatorSpec/countedOutput(_:)``).
package struct CountedOutput: Equatable, Sendable {
    /// θ: a total is `Float(count)·θ`.
    package let unit: Float
    /// The counts an output element can take (within −128…127).
    package let levels: ClosedRange<Int>
    /// Whether the producer keeps 4 bits of state of its own per element beside each count (an ST-BIF+ layer's
    /// settle level). Where the counts take at most 16 values, 0 among them, the executor then keeps each count in
    /// the high half of a byte as `count − levels.lowerBound` and leaves the low half to the producer
    /// (``nibbleBase``, ``ValueSlot/nibbleBase``), which writes both halves. The executor starts both at the code of
    /// count 0.
    package let sharesBytesWithProducer: Bool

    package init(unit: Float, levels: ClosedRange<Int>, sharesBytesWithProducer: Bool = false) {
        precondition(levels.lowerBound >= Int(Int8.min) && levels.upperBound <= Int(Int8.max), "counts beyond int8")
        self.unit = unit
        self.levels = levels
        self.sharesBytesWithProducer = sharesBytesWithProducer
    }

    /// The count of code 0 where the counts share their bytes with the producer (see
    /// ``sharesBytesWithProducer``); nil where each count takes a byte.
    package var nibbleBase: Int? {
        sharesBytesWithProducer && levels.count <= 16 && levels.contains(0) ? levels.lowerBound : nil
    }
}

extension OperatorSpec {
    package static var readsInputIncrements: Bool { true }
    package static var keepsOutputIncrements: Bool { true }
    package static var countsInputEventsOnly: Bool { false }
    package static var countsOutputEvents: Bool { false }
    package static var readsChangedInputRowsOnly: Bool { false }
    package static var writesOutputTotalsAfresh: Bool { false }
    package static var readsCountedInputs: Bool { false }
    package static func countedOutput(_ parameters: Parameters) -> CountedOutput? { nil }
    package static func elementwiseFunction(_ parameters: Parameters) -> ElementwiseFunction? { nil }
}

/// Operators on totals (SpikeZIP-TF's and the core's): they read only their inputs' totals and row flags and
/// rewrite their output's increments where they change.
package protocol TotalOperatorSpec: OperatorSpec {}

extension TotalOperatorSpec {
    package static var readsInputIncrements: Bool { false }
    package static var keepsOutputIncrements: Bool { false }
    package static var writesOutputTotalsAfresh: Bool { true }
}

/// Where an operator gets its value slots when it is instantiated, and scratch memory shared by the executor's
/// operators (they run one after another, so one buffer per purpose serves them all).
package struct OperatorRuntime {
    package let slots: [ValueSlot]
    package let capacity: Int
    package let scratch: ScratchArena
    /// Read-only data operators may share with the same node's operator in the executor's other lanes (weights).
    package let shared: SharedConstants
    /// Whether linear layers run on packed weights where the CPU allows (``PackedLinear``), as ``ViTForward`` does
    /// by default; the reference network and the executor must agree for the settled SNN to equal it bit for bit.
    package let packedWeights: Bool

    package init(slots: [ValueSlot], capacity: Int, scratch: ScratchArena = ScratchArena(),
                 shared: SharedConstants = SharedConstants(), packedWeights: Bool = true) {
        self.slots = slots
        self.capacity = capacity
        self.scratch = scratch
        self.shared = shared
        self.packedWeights = packedWeights
    }

    package func slot(_ value: Int) -> ValueSlot { slots[value] }
}

/// Read-only data made once per node and shared by the operators of that node in every lane of an executor
/// (``SpikingExecutor``'s lanes each make their own operators): made while the lanes are built, one after another,
/// and only read afterwards.
package final class SharedConstants: @unchecked Sendable {
    private var values: [Int: Any] = [:]

    package init() {}

    /// The value for node `node`, made by `make` the first time.
    package func value<T>(node: Int, _ make: () -> T) -> T {
        if let v = values[node] as? T { return v }
        let v = make()
        values[node] = v
        return v
    }
}

/// Scratch buffers shared by the operators of one executor: an operator reserves the size it needs per purpose
/// when it is made and uses the buffer only within its `step`, never across steps.
package final class ScratchArena: @unchecked Sendable {
    private var sizes: [Int: Int] = [:]
    private var buffers: [Int: FloatBuffer] = [:]

    package init() {}

    /// Reserves `count` floats for `purpose` (buffers are as large as the largest reservation).
    package func reserve(_ purpose: Int, count: Int) { sizes[purpose] = max(sizes[purpose] ?? 0, count) }

    /// The buffer for `purpose`, allocated at its first use (after every operator has reserved).
    package func buffer(_ purpose: Int) -> FloatBuffer {
        if let b = buffers[purpose] { return b }
        let b = FloatBuffer(count: sizes[purpose] ?? 0)
        buffers[purpose] = b
        return b
    }
}

/// A node seen within its graph: typed accessors that validate as they read and fail with an error naming the
/// operator (index, kind, site) and what was expected.
package struct NodeContext {
    package let index: Int
    package let node: OperatorNode
    package let graph: SpikingGraph

    /// A stable 64-bit stream number for this operator's random bits: a hash of its site (or its index).
    package var randomStream: UInt64 { CounterRandom.stream(node.site ?? "node.\(index)") }

    package func fail(_ message: String) -> SpikifyError {
        .invalidOperator(file: graph.origin, index: index, kind: node.kind, site: node.site, message: message)
    }

    /// Requires exactly this many inputs and outputs.
    package func arity(inputs: Int, outputs: Int = 1) throws {
        guard node.inputs.count == inputs, node.outputs.count == outputs else {
            throw fail("has \(node.inputs.count) inputs and \(node.outputs.count) outputs; expected \(inputs) and \(outputs)")
        }
    }

    package func input(_ i: Int) -> ValueInfo { graph.values[node.inputs[i]] }
    package func output(_ i: Int = 0) -> ValueInfo { graph.values[node.outputs[i]] }

    /// Requires a value to have `rows × width` per sample.
    package func expect(_ v: ValueInfo, rows: Int, width: Int, _ role: String) throws {
        guard v.rows == rows, v.width == width else {
            throw fail("\(role) '\(v.name)' is [\(v.rows), \(v.width)] per sample; expected [\(rows), \(width)]")
        }
    }

    /// The tensor in `role`, required, with exactly `shape` (nil: any shape).
    package func tensor(_ role: String, shape: [Int]?) throws -> Tensor {
        guard let name = node.tensors[role] else { throw fail("has no '\(role)' tensor") }
        guard let t = graph.tensors[name] else { throw fail("needs tensor '\(name)' (\(role)), which the graph does not hold") }
        if let shape, t.shape != shape { throw fail("tensor '\(name)' (\(role)) has shape \(t.shape); expected \(shape)") }
        return t
    }

    /// The tensor in `role` when the node names one.
    package func optionalTensor(_ role: String, shape: [Int]?) throws -> Tensor? {
        node.tensors[role] == nil ? nil : try tensor(role, shape: shape)
    }

    package func number(_ name: String) throws -> Double {
        guard case .number(let x)? = node.attributes[name] else { throw fail("has no numeric attribute '\(name)'") }
        guard x.isFinite else { throw fail("attribute '\(name)' is \(x); expected a finite number") }
        return x
    }

    /// An integer attribute within `range`.
    package func int(_ name: String, in range: ClosedRange<Int>) throws -> Int {
        let x = try number(name)
        guard x == x.rounded(), x >= Double(range.lowerBound), x <= Double(range.upperBound) else {
            throw fail("attribute '\(name)' is \(x); expected an integer in \(range.lowerBound)…\(range.upperBound)")
        }
        return Int(x)
    }

    /// A finite Float attribute (optionally > 0).
    package func float(_ name: String, positive: Bool = false) throws -> Float {
        let x = try number(name)
        let f = Float(x)
        guard f.isFinite, !positive || f > 0 else {
            throw fail("attribute '\(name)' is \(x); expected a finite\(positive ? ", positive" : "") number")
        }
        return f
    }

    package func string(_ name: String) throws -> String {
        guard case .string(let s)? = node.attributes[name] else { throw fail("has no string attribute '\(name)'") }
        return s
    }
}

/// A registered spec with its types erased.
package struct AnyOperatorSpec: @unchecked Sendable {
    package let kind: String
    package let specType: Any.Type
    package let validate: (NodeContext) throws -> Void
    package let instantiate: (NodeContext, OperatorRuntime) throws -> any SpikingOperator
    package let readsInputIncrements: Bool
    package let keepsOutputIncrements: Bool
    package let countsInputEventsOnly: Bool
    package let countsOutputEvents: Bool
    package let readsChangedInputRowsOnly: Bool
    package let writesOutputTotalsAfresh: Bool
    package let readsCountedInputs: Bool
    package let countedOutput: (NodeContext) throws -> CountedOutput?
    package let elementwiseFunction: (NodeContext) throws -> ElementwiseFunction?

    package init<S: OperatorSpec>(_ spec: S.Type) {
        kind = S.kind
        specType = spec
        readsInputIncrements = S.readsInputIncrements
        keepsOutputIncrements = S.keepsOutputIncrements
        countsInputEventsOnly = S.countsInputEventsOnly
        countsOutputEvents = S.countsOutputEvents
        readsChangedInputRowsOnly = S.readsChangedInputRowsOnly
        writesOutputTotalsAfresh = S.writesOutputTotalsAfresh
        readsCountedInputs = S.readsCountedInputs
        countedOutput = { S.countedOutput(try S.parameters($0)) }
        elementwiseFunction = { S.elementwiseFunction(try S.parameters($0)) }
        validate = { _ = try S.parameters($0) }
        instantiate = { node, runtime in S.instantiate(try S.parameters(node), node, runtime) }
    }
}
