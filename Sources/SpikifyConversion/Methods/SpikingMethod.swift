import Foundation
import HDF5
import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// A conversion method: one folder that registers its operator specs, builds graphs with its simulation semantics,
/// and provides its reference network through its ``MethodState`` (docs/architecture.md, "Adding a method").
package protocol SpikingMethod {
    /// The registry name, saved in converted files and given to `--method`.
    static var name: String { get }
    /// One line for `--help`.
    static var summary: String { get }
    static var operatorSpecs: [AnyOperatorSpec] { get }
    static func convert(_ model: ViTModel, options: ConversionOptions, progress: ((Int, Int) -> Void)?) throws
        -> ConvertedModel
    /// Reads the method's state from its group of a converted file, checking it against the graph.
    static func readState(from group: HDF5Group, file: String, graph: SpikingGraph, model: ViTModel) throws
        -> any MethodState
}

/// The conversion methods Spikify knows, by name: the one list of built-in methods, plus methods registered at run
/// time (tests register a toy method). Registering a method registers its operator specs.
public enum ConversionMethods {
    private final class Store: @unchecked Sendable {
        let lock = NSLock()
        var methods: [String: any SpikingMethod.Type] = [:]
    }

    /// The methods that ship with Spikify.
    private static var builtin: [any SpikingMethod.Type] { [SpikeZIPMethod.self, MSTMethod.self, STAMethod.self] }

    private static let store: Store = {
        let s = Store()
        for m in builtin {
            for spec in m.operatorSpecs { try? OperatorRegistry.shared.register(spec) }
            s.methods[m.name] = m
        }
        return s
    }()

    /// Registers the built-in methods and their operator specs (idempotent; every entry point calls it).
    package static func prepare() { _ = store }

    /// Adds a method (and its operator specs). Registering the same method twice does nothing.
    package static func register(_ method: any SpikingMethod.Type) throws {
        for spec in method.operatorSpecs { try OperatorRegistry.shared.register(spec) }
        try store.lock.withLock {
            if let existing = store.methods[method.name], existing != method {
                throw SpikifyError.invalidArgument("conversion method '\(method.name)' is already registered")
            }
            store.methods[method.name] = method
        }
    }

    /// The registered method names, sorted.
    public static var names: [String] { store.lock.withLock { store.methods.keys.sorted() } }

    /// One line per method, for help texts.
    public static var summaries: [(name: String, summary: String)] {
        store.lock.withLock { store.methods.values.map { ($0.name, $0.summary) }.sorted { $0.0 < $1.0 } }
    }

    package static func method(named name: String) throws -> any SpikingMethod.Type {
        guard let m = store.lock.withLock({ store.methods[name] }) else {
            throw SpikifyError.invalidArgument("unknown conversion method '\(name)'; available: \(names.joined(separator: ", "))")
        }
        return m
    }

    /// Converts `model` with the named method.
    public static func convert(
        _ model: ViTModel, method: String, options: ConversionOptions, progress: ((Int, Int) -> Void)? = nil
    ) throws -> ConvertedModel {
        let converted = try self.method(named: method).convert(model, options: options, progress: progress)
        return options.burst == 1 ? converted : try converted.withBurst(options.burst)
    }
}

/// Where a conversion takes its quantizer step sizes from.
public enum StepSource: Sendable, Equatable {
    /// The checkpoint's own step sizes (a SpikeZIP-TF QANN); levels from the file or the options.
    case checkpoint
    /// Training-free calibration on images.
    case calibrate(CalibrationMethod, CalibrationOrder = .sequential)
}

/// Options shared by conversion methods.
public struct ConversionOptions: Sendable {
    public var levels: Int?
    public var steps: StepSource
    public var calibrationImages: Tensor?
    public var batchSize: Int
    /// Seed of the counter-based random bits for stochastic methods (saved in the graph's semantics).
    public var seed: UInt64
    /// Extra metadata recorded in the converted model (source SHA-256, say).
    public var metadata: [String: String]
    /// Largest spike per neuron and step (`--burst B`; methods with graded spikes, docs/latency.md).
    public var burst: Int = 1
    /// Options only one method understands, by name (MST: `mode`, `mask_ratio`, `mask_sites`); each method parses
    /// and checks its own and rejects names it does not know.
    public var methodOptions: [String: String]

    public init(levels: Int? = nil, steps: StepSource = .checkpoint, calibrationImages: Tensor? = nil,
                batchSize: Int = 32, seed: UInt64 = 0, metadata: [String: String] = [:], burst: Int = 1,
                methodOptions: [String: String] = [:]) {
        self.burst = burst
        self.levels = levels
        self.steps = steps
        self.calibrationImages = calibrationImages
        self.batchSize = batchSize
        self.seed = seed
        self.metadata = metadata
        self.methodOptions = methodOptions
    }
}
