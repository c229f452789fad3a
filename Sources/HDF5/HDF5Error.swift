/// An error from reading or writing an HDF5 file.
///
/// Every case names the file (as the path it was opened with) and, where relevant, the
/// object inside it. Object paths are absolute inside the file (`/blocks/0/attn/qkv/weight`);
/// an attribute is written as `<object path>@<attribute name>` (`/@embed_dim` for a root
/// attribute, `/blocks/0@scale` for one on a group).
public enum HDF5Error: Error, CustomStringConvertible, Equatable, Sendable {
    /// Nothing exists at `file`.
    case fileNotFound(file: String)
    /// `file` exists but is not an HDF5 file (no HDF5 signature).
    case notHDF5(file: String)
    /// `file` looks like HDF5 but the library could not open it (truncated, corrupt, locked, ...).
    case cannotOpen(file: String, reason: String)
    /// No group, dataset or attribute at `path`.
    case missing(file: String, path: String)
    /// Reading `path` failed (a damaged file, a closed file, a buffer of the wrong size, ...).
    case readFailed(file: String, path: String, reason: String)
    /// Writing `path` failed.
    case writeFailed(file: String, path: String, reason: String)
    /// The object at `path` has type `found` but the call needs `expected`.
    case unsupportedType(file: String, path: String, found: String, expected: String)

    /// The file the error is about.
    public var file: String {
        switch self {
        case .fileNotFound(let file), .notHDF5(let file), .cannotOpen(let file, _),
             .missing(let file, _), .readFailed(let file, _, _), .writeFailed(let file, _, _),
             .unsupportedType(let file, _, _, _):
            return file
        }
    }

    /// The same error about `file` instead (an atomic write reports the output path, not its temporary file).
    public func naming(_ file: String) -> HDF5Error {
        switch self {
        case .fileNotFound: return .fileNotFound(file: file)
        case .notHDF5: return .notHDF5(file: file)
        case .cannotOpen(_, let reason): return .cannotOpen(file: file, reason: reason)
        case .missing(_, let path): return .missing(file: file, path: path)
        case .readFailed(_, let path, let reason): return .readFailed(file: file, path: path, reason: reason)
        case .writeFailed(_, let path, let reason): return .writeFailed(file: file, path: path, reason: reason)
        case .unsupportedType(_, let path, let found, let expected):
            return .unsupportedType(file: file, path: path, found: found, expected: expected)
        }
    }

    /// The object inside the file the error is about, or `nil` for errors about the whole file.
    public var objectPath: String? {
        switch self {
        case .fileNotFound, .notHDF5, .cannotOpen: return nil
        case .missing(_, let path), .readFailed(_, let path, _), .writeFailed(_, let path, _),
             .unsupportedType(_, let path, _, _):
            return path
        }
    }

    /// A one-line sentence, e.g. `model.h5: no dataset or group '/blocks/0/attn/qkv/weight'`.
    public var description: String {
        switch self {
        case .fileNotFound(let file):
            return "\(file): no such file (expected an HDF5 file at this path)"
        case .notHDF5(let file):
            return "\(file): not an HDF5 file (the HDF5 signature was not found)"
        case .cannotOpen(let file, let reason):
            return "\(file): cannot open HDF5 file: \(reason)"
        case .missing(let file, let path):
            return "\(file): no \(Self.describe(path, nonAttribute: "group or dataset"))"
        case .readFailed(let file, let path, let reason):
            return "\(file): cannot read \(Self.describe(path, nonAttribute: "")): \(reason)"
        case .writeFailed(let file, let path, let reason):
            return "\(file): cannot write \(Self.describe(path, nonAttribute: "")): \(reason)"
        case .unsupportedType(let file, let path, let found, let expected):
            return "\(file): \(Self.describe(path, nonAttribute: "")) has type \(found), expected \(expected)"
        }
    }

    /// `attribute 'x' of '/g'` for attribute paths, `<kind> '/a/b'` otherwise.
    private static func describe(_ path: String, nonAttribute kind: String) -> String {
        if let at = path.lastIndex(of: "@") {
            let object = path[..<at].isEmpty ? "/" : String(path[..<at])
            return "attribute '\(path[path.index(after: at)...])' of '\(object)'"
        }
        return kind.isEmpty ? "'\(path)'" : "\(kind) '\(path)'"
    }
}
