/// A value flowing between spiking operators: per sample a `[rows, width]` block per timestep.
public struct ValueInfo: Codable, Sendable, Equatable {
    public var name: String
    public var rows: Int
    public var width: Int
    public init(name: String, rows: Int, width: Int) {
        self.name = name
        self.rows = rows
        self.width = width
    }
    /// Elements per sample (validation checks that it does not overflow before anything uses it).
    public var perSample: Int { rows * width }
}

/// One operator of a spiking graph: its kind (a stable string saved in converted files, e.g. `linear` or
/// `spikezip.stbif`), the values it reads and writes, the parameter tensors it uses by role, and its attributes.
///
/// The kind names an ``OperatorSpec`` in the ``OperatorRegistry``; the spec validates the node against the graph's
/// values and tensors and instantiates its runtime operator. Nothing else interprets a node.
public struct OperatorNode: Codable, Sendable, Equatable {
    public var kind: String
    /// Indices into ``SpikingGraph/values``.
    public var inputs: [Int]
    public var outputs: [Int]
    /// Role (`weight`, `bias`, …) → tensor name in ``SpikingGraph/tensors``.
    public var tensors: [String: String]
    public var attributes: [String: AttributeValue]
    /// The neuron site this operator implements when it emits spikes (statistics are reported under it).
    public var site: String?

    public init(kind: String, inputs: [Int], outputs: [Int], tensors: [String: String] = [:],
                attributes: [String: AttributeValue] = [:], site: String? = nil) {
        self.kind = kind
        self.inputs = inputs
        self.outputs = outputs
        self.tensors = tensors
        self.attributes = attributes
        self.site = site
    }
}

/// An operator attribute, saved as a plain JSON value. Numbers are kept as `Double`, which holds every `Float`
/// and every integer up to 2⁵³ exactly, so thresholds and counts round-trip bit for bit.
public enum AttributeValue: Codable, Sendable, Equatable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case numbers([Double])

    public static func float(_ x: Float) -> AttributeValue { .number(Double(x)) }
    public static func int(_ x: Int) -> AttributeValue { .number(Double(x)) }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let x = try? c.decode(Double.self) { self = .number(x) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let xs = try? c.decode([Double].self) { self = .numbers(xs) }
        else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a number, string, bool or list of numbers")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let x): try c.encode(x)
        case .string(let s): try c.encode(s)
        case .bool(let b): try c.encode(b)
        case .numbers(let xs): try c.encode(xs)
        }
    }
}
