import HDF5

/// Errors for bad input: each message names the file, the key and what was expected.
public enum SpikifyError: Error, CustomStringConvertible, Equatable, Sendable {
    case io(HDF5Error)
    case unknownLayout(file: String, sample: [String])
    case missingKeys(file: String, keys: [String])
    case unexpectedKeys(file: String, keys: [String])
    case shapeMismatch(file: String, key: String, expected: [Int], found: [Int])
    case nonFinite(file: String, key: String, count: Int)
    case missingConfig(file: String, what: String, hint: String)
    case invalidConfig(file: String, message: String)
    case invalidData(file: String, message: String)
    /// An operator of a spiking graph that does not fit its values, tensors or attributes.
    case invalidOperator(file: String, index: Int, kind: String, site: String?, message: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .io(let e):
            return e.description
        case .unknownLayout(let file, let sample):
            return "\(file): not a ViT checkpoint in a known layout (timm, Hugging Face ViT, SpikeZIP-TF, Keras 3); "
                + "first keys: \(sample.prefix(6).joined(separator: ", "))"
        case .missingKeys(let file, let keys):
            return "\(file): missing \(keys.count) key\(keys.count == 1 ? "" : "s"): \(Self.list(keys))"
        case .unexpectedKeys(let file, let keys):
            return "\(file): \(keys.count) unexpected key\(keys.count == 1 ? "" : "s"): \(Self.list(keys))"
        case .shapeMismatch(let file, let key, let expected, let found):
            return "\(file): '\(key)' has shape \(found), expected \(expected)"
        case .nonFinite(let file, let key, let count):
            return "\(file): '\(key)' holds \(count) non-finite value\(count == 1 ? "" : "s") (NaN or infinity)"
        case .missingConfig(let file, let what, let hint):
            return "\(file): cannot determine \(what): \(hint)"
        case .invalidConfig(let file, let message):
            return "\(file): \(message)"
        case .invalidData(let file, let message):
            return "\(file): \(message)"
        case .invalidOperator(let file, let index, let kind, let site, let message):
            return "\(file): spiking graph, operator \(index) (\(kind)\(site.map { ", site \($0)" } ?? "")): \(message)"
        case .invalidArgument(let message):
            return message
        }
    }

    private static func list(_ keys: [String]) -> String {
        keys.count <= 12 ? keys.joined(separator: ", ")
            : keys.prefix(12).joined(separator: ", ") + ", … (\(keys.count - 12) more)"
    }
}

/// Runs an HDF5 operation, turning its error into ``SpikifyError/io(_:)``.
@inline(__always)
package func hdf5<R>(_ body: () throws -> R) throws -> R {
    do { return try body() } catch let error as HDF5Error { throw SpikifyError.io(error) }
}
