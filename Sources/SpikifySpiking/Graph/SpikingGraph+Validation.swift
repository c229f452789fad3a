import SpikifyCore

extension SpikingGraph {
    /// Largest value a graph may declare per sample (2³¹ elements: far above any ViT, and every size computed
    /// from it stays within Int).
    public static let maximumValueElements = 1 << 31

    /// Checks the whole graph before anything allocates or runs: value sizes, the input and output against the
    /// configuration, that every operator's kind is registered, that each value is written once and read only after
    /// it is written (operators deleted, duplicated or reordered fail here), every operator's own checks (widths,
    /// heads, token counts, tensors, attributes) through its spec, finite tensors, and the input coding.
    /// A damaged or hand-edited file fails with a message naming the operator, never in unsafe code.
    public func validate(registry: OperatorRegistry = .shared) throws {
        _ = try validatedSpecs(registry: registry)
    }

    /// The spec of every node, after validating the graph (see ``validate(registry:)``).
    package func validatedSpecs(registry: OperatorRegistry = .shared) throws -> [AnyOperatorSpec] {
        func bad(_ message: String) -> SpikifyError { .invalidData(file: origin, message: "spiking graph: \(message)") }
        for (i, v) in values.enumerated() {
            let (n, overflow) = v.rows.multipliedReportingOverflow(by: v.width)
            guard v.rows >= 1, v.width >= 1, !overflow, n <= Self.maximumValueElements else {
                throw bad("value \(i) '\(v.name)' is [\(v.rows), \(v.width)] per sample; expected positive sizes with at "
                    + "most \(Self.maximumValueElements) elements")
            }
        }
        guard values.indices.contains(input), values.indices.contains(output) else {
            throw bad("input \(input) or output \(output) is not one of its \(values.count) values")
        }
        let c = config
        guard c.channels >= 1, c.imageSize >= 1, c.numClasses >= 1,
              values[input].rows == c.channels, values[input].width == c.imageSize * c.imageSize else {
            throw bad("input '\(values[input].name)' is [\(values[input].rows), \(values[input].width)]; the configuration "
                + "expects [\(c.channels), \(c.imageSize)·\(c.imageSize)]")
        }
        guard values[output].rows == 1, values[output].width == c.numClasses else {
            throw bad("output '\(values[output].name)' is [\(values[output].rows), \(values[output].width)]; expected "
                + "[1, \(c.numClasses)] (the configuration's classes)")
        }
        for (name, t) in tensors.sorted(by: { $0.key < $1.key }) {
            let bad = t.scalars.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            if bad > 0 { throw SpikifyError.nonFinite(file: origin, key: "tensors/\(name)", count: bad) }
        }
        var written = Array(repeating: false, count: values.count)
        written[input] = true
        var sites = Set<String>()
        var specs: [AnyOperatorSpec] = []
        for (index, node) in nodes.enumerated() {
            let context = NodeContext(index: index, node: node, graph: self)
            guard let spec = registry.spec(node.kind) else {
                throw context.fail("unknown operator kind; this Spikify knows \(registry.kinds.joined(separator: ", "))")
            }
            for v in node.inputs + node.outputs where !values.indices.contains(v) {
                throw context.fail("refers to value \(v), but the graph has \(values.count)")
            }
            for v in node.inputs where !written[v] {
                throw context.fail("reads value \(v) '\(values[v].name)' before any operator writes it")
            }
            for v in node.outputs {
                guard !written[v] else {
                    throw context.fail("writes value \(v) '\(values[v].name)', which is already written")
                }
                written[v] = true
            }
            if let site = node.site, !sites.insert(site).inserted {
                throw context.fail("repeats neuron site '\(site)'")
            }
            try spec.validate(context)
            specs.append(spec)
        }
        guard written[output] else { throw bad("no operator writes the output '\(values[output].name)'") }
        if case .encoder(let kind) = semantics.inputCoding,
           !nodes.contains(where: { $0.kind == kind && $0.inputs.contains(input) }) {
            throw bad("input coding names encoder '\(kind)', but no operator of that kind reads the input")
        }
        return specs
    }
}
