import Foundation
import SpikifyCore

/// The open set of operator kinds: kind string → ``OperatorSpec``. The core registers its method-neutral
/// operators; each conversion method registers its own when it is registered (docs/architecture.md).
public final class OperatorRegistry: @unchecked Sendable {
    /// The registry every graph is validated and instantiated against.
    public static let shared: OperatorRegistry = {
        let r = OperatorRegistry()
        for spec in CoreOperators.specs { try? r.register(spec) }
        return r
    }()

    private let lock = NSLock()
    private var specs: [String: AnyOperatorSpec] = [:]

    public init() {}

    /// Registers a spec. Registering the same spec again does nothing; another spec under a taken kind is an error.
    package func register(_ spec: AnyOperatorSpec) throws {
        try lock.withLock {
            if let existing = specs[spec.kind] {
                guard existing.specType == spec.specType else {
                    throw SpikifyError.invalidArgument("operator kind '\(spec.kind)' is already registered by \(existing.specType)")
                }
                return
            }
            specs[spec.kind] = spec
        }
    }

    package func register<S: OperatorSpec>(_ spec: S.Type) throws { try register(AnyOperatorSpec(spec)) }

    package func spec(_ kind: String) -> AnyOperatorSpec? { lock.withLock { specs[kind] } }

    /// The registered kinds, sorted.
    public var kinds: [String] { lock.withLock { specs.keys.sorted() } }
}
