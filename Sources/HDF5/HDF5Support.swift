import CHDF5
import Foundation

/// Library set-up, the HDF5 error stack, and path helpers shared by the wrapper types.
enum HDF5Library {
    /// Runs `H5open()` once per process, after `H5dont_atexit()`: HDF5's exit handler would flush files it still
    /// lists as open, and a file whose close failed (a full disk, a file-size limit) stays listed, so the handler
    /// wrote to it again at exit and crashed inside libhdf5. The wrapper closes every file itself (``HDF5File``'s
    /// `close` and `deinit`), so nothing is left for the handler.
    private static let opened: Bool = {
        H5dont_atexit()
        return H5open() >= 0
    }()

    /// Serialises the wrapper's HDF5 calls. Debian's libhdf5 is the thread-safe build,
    /// which has its own global lock, but other builds (e.g. Homebrew's) are not; holding
    /// this lock for a whole operation makes ``HDF5File`` safe to share in both cases, and
    /// keeps each operation's calls and the reading of its error stack together.
    /// Recursive, because operations call one another.
    private static let lock = RecursiveLock()

    /// Call at the start of every operation that calls HDF5, paired with ``leave()``.
    ///
    /// Takes the lock, initialises the library once, and turns off HDF5's automatic printing
    /// of its error stack. In the thread-safe build that setting belongs to the calling
    /// thread's error stack, so it is repeated on every call (it only stores two pointers).
    static func enter() {
        lock.lock()
        _ = opened
        spk_h5_disable_error_printing()
    }

    /// Ends an operation started with ``enter()``.
    static func leave() {
        lock.unlock()
    }

    /// The most specific message on this thread's HDF5 error stack (the one closest to the
    /// cause, e.g. `truncated file: eof = 524288, ...`), or `fallback` if the stack is empty.
    /// Clears the stack.
    static func errorMessage(_ fallback: String) -> String {
        var messages: [String] = []
        withUnsafeMutablePointer(to: &messages) { box in
            _ = H5Ewalk2(spk_h5e_default(), H5E_WALK_UPWARD, { _, error, data in
                guard let error, let data, let desc = error.pointee.desc else { return 0 }
                let text = String(cString: desc)
                if !text.isEmpty {
                    data.assumingMemoryBound(to: [String].self).pointee.append(text)
                }
                return 0
            }, UnsafeMutableRawPointer(box))
        }
        H5Eclear2(spk_h5e_default())
        return messages.first ?? fallback
    }
}

/// `NSRecursiveLock`, declared Sendable here because locks exist to be shared.
final class RecursiveLock: @unchecked Sendable {
    private let base = NSRecursiveLock()
    func lock() { base.lock() }
    func unlock() { base.unlock() }
}

/// Paths inside a file. Absolute paths start with `/`; `""` and `.` components are dropped.
enum HDF5Path {
    /// The components of `path`, without empty and `.` ones.
    static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true)
            .map(String.init)
            .filter { $0 != "." }
    }

    /// `name` resolved against the group at `base`; a `name` starting with `/` is absolute.
    static func resolve(_ name: String, against base: String) -> String {
        let parts = name.hasPrefix("/") ? components(name) : components(base) + components(name)
        return "/" + parts.joined(separator: "/")
    }

    /// `path` relative to `base` (`base` must be an ancestor of `path`).
    static func relative(_ path: String, to base: String) -> String {
        let b = components(base), p = components(path)
        return p.dropFirst(b.count).joined(separator: "/")
    }

    /// Whether every link along the absolute `path` exists and resolves to a readable object.
    static func exists(_ path: String, in fileID: hid_t) -> Bool {
        if case .object = lookup(path, in: fileID) { return true }
        return false
    }

    /// What kind of object is at the absolute `path`, or `nil` if there is none (or it
    /// cannot be read).
    static func kind(of path: String, in fileID: hid_t) -> ObjectKind? {
        if case .object(let kind) = lookup(path, in: fileID) { return kind }
        return nil
    }

    /// What kind of object is at the absolute `path` of `file`, or `nil` if there is none.
    /// - Throws: ``HDF5Error/readFailed(file:path:reason:)`` when the file is damaged
    ///   along the way (e.g. a corrupt object header), rather than reporting it missing.
    static func requireKind(of path: String, in file: HDF5File) throws(HDF5Error) -> ObjectKind? {
        switch lookup(path, in: file.id) {
        case .object(let kind): return kind
        case .missing: return nil
        case .unreadable(let at, let reason): throw .readFailed(file: file.path, path: at, reason: reason)
        }
    }

    /// The outcome of looking a path up.
    enum Lookup: Equatable {
        case object(ObjectKind)
        case missing
        /// The object at `path` (the path itself or an ancestor) could not be read.
        case unreadable(path: String, reason: String)
    }

    /// Looks up the absolute `path` component by component with `H5Lexists`, so a missing
    /// intermediate group, or a dataset in the middle of the path, is `.missing` rather
    /// than an HDF5 error; HDF5 failures inside real groups are `.unreadable`.
    static func lookup(_ path: String, in fileID: hid_t) -> Lookup {
        var prefix = ""
        for part in components(path) {
            let parent = prefix.isEmpty ? "/" : prefix
            prefix += "/" + part
            let found = H5Lexists(fileID, prefix, spk_h5p_default())
            if found == 0 { return .missing }
            if found < 0 {
                // Either `parent` is not a group (then nothing can be below it) or it is damaged.
                let reason = HDF5Library.errorMessage("cannot look up '\(part)'")
                switch openKind(parent, in: fileID) {
                case .object(.group): return .unreadable(path: parent, reason: reason)
                case .object: return .missing
                case let other: return other
                }
            }
        }
        let found = H5Oexists_by_name(fileID, prefix.isEmpty ? "/" : prefix, spk_h5p_default())
        if found == 0 { return .missing }  // e.g. a dangling soft link
        if found < 0 {
            return .unreadable(path: prefix.isEmpty ? "/" : prefix,
                               reason: HDF5Library.errorMessage("cannot read the object"))
        }
        return openKind(prefix.isEmpty ? "/" : prefix, in: fileID)
    }

    /// Opens the object at `path` to learn its kind.
    private static func openKind(_ path: String, in fileID: hid_t) -> Lookup {
        let object = H5Oopen(fileID, path, spk_h5p_default())
        guard object >= 0 else {
            return .unreadable(path: path, reason: HDF5Library.errorMessage("cannot open the object"))
        }
        defer { H5Oclose(object) }
        switch H5Iget_type(object) {
        case H5I_GROUP: return .object(.group)
        case H5I_DATASET: return .object(.dataset)
        case H5I_DATATYPE: return .object(.namedDatatype)
        default: return .object(.other)
        }
    }

    /// The objects a link can lead to.
    enum ObjectKind: String {
        case group, dataset, namedDatatype = "named datatype", other = "object"
    }
}

/// The number of elements a shape describes (`[]` is a scalar: 1); nil when a dimension is negative or the product
/// overflows `Int` (a damaged file can declare any extent).
func elementCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (product, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        n = product
    }
    return n
}
