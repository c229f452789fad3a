import CHDF5
import HDF5Probe

/// A group in an HDF5 file, named by its absolute path.
///
/// Names passed to the methods are paths relative to this group (`"blocks/0/attn"`), or
/// absolute when they start with `/`. Empty and `.` components are ignored.
public struct HDF5Group: Sendable {
    /// The file the group belongs to.
    public let file: HDF5File
    /// The absolute path: `/` or `/a/b`.
    public let path: String

    init(file: HDF5File, path: String) {
        self.file = file
        self.path = path
    }

    /// The absolute path of `name` below this group.
    func absolute(_ name: String) -> String {
        HDF5Path.resolve(name, against: path)
    }

    // MARK: Navigation

    /// Whether something (group, dataset, ...) exists at `name`. Never fails, and a missing
    /// intermediate group (or a dataset in the middle of the path) simply gives `false`.
    public func exists(_ name: String) -> Bool {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        return HDF5Path.exists(absolute(name), in: file.id)
    }

    /// Whether `name` exists and is a group.
    public func isGroup(_ name: String) -> Bool {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        return HDF5Path.kind(of: absolute(name), in: file.id) == .group
    }

    /// Whether `name` exists and is a dataset.
    public func isDataset(_ name: String) -> Bool {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        return HDF5Path.kind(of: absolute(name), in: file.id) == .dataset
    }

    /// The group at `name`.
    /// - Throws: ``HDF5Error/missing(file:path:)`` if there is nothing there,
    ///   ``HDF5Error/unsupportedType(file:path:found:expected:)`` if it is not a group.
    public func group(_ name: String) throws(HDF5Error) -> HDF5Group {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        let target = absolute(name)
        switch try HDF5Path.requireKind(of: target, in: file) {
        case .group?: return HDF5Group(file: file, path: target)
        case nil: throw .missing(file: file.path, path: target)
        case let other?:
            throw .unsupportedType(file: file.path, path: target, found: other.rawValue, expected: "group")
        }
    }

    /// Creates the group `name` and any missing groups above it; an existing group is
    /// returned as is.
    public func createGroup(_ name: String) throws(HDF5Error) -> HDF5Group {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        let target = absolute(name)
        guard file.isWritable else {
            throw .writeFailed(file: file.path, path: target, reason: "the file is open read-only")
        }
        var prefix = ""
        for part in HDF5Path.components(target) {
            prefix += "/" + part
            switch try HDF5Path.requireKind(of: prefix, in: file) {
            case .group?:
                continue
            case nil:
                let g = H5Gcreate2(file.id, prefix, spk_h5p_default(), spk_h5p_default(), spk_h5p_default())
                guard g >= 0 else {
                    throw .writeFailed(file: file.path, path: prefix,
                                       reason: HDF5Library.errorMessage("cannot create the group"))
                }
                H5Gclose(g)
            case let other?:
                throw .writeFailed(file: file.path, path: prefix,
                                   reason: "a \(other.rawValue) is in the way of the group")
            }
        }
        return HDF5Group(file: file, path: target)
    }

    /// The dataset at `name` (its shape and element type are read now; data on demand).
    /// - Throws: ``HDF5Error/missing(file:path:)`` if there is nothing there,
    ///   ``HDF5Error/unsupportedType(file:path:found:expected:)`` if it is not a dataset.
    public func dataset(_ name: String) throws(HDF5Error) -> HDF5Dataset {
        try HDF5Dataset(file: file, path: absolute(name))
    }

    /// The names of the group's direct members (groups, datasets, ...) in name order
    /// (byte-wise, so `"10"` sorts before `"2"`).
    ///
    /// Names are read in the group's native order and sorted here. Asking libhdf5 for name order
    /// (`H5_ITER_INC`) makes it build a sorted table of every link for each call; libhdf5 1.10.8 frees
    /// entries of that table it never wrote when a damaged link index fails to load, which corrupts the
    /// heap (docs/reliability.md). Native order on a dense group walks the name index directly, with no
    /// table, so a damaged file is a read error here.
    public func childNames() throws(HDF5Error) -> [String] {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        let g = try openSelf()
        defer { H5Gclose(g) }
        var info = H5G_info_t()
        guard H5Gget_info(g, &info) >= 0 else {
            throw .readFailed(file: file.path, path: path,
                              reason: HDF5Library.errorMessage("cannot list the group"))
        }
        var names: [[UInt8]] = []
        names.reserveCapacity(Int(min(info.nlinks, 1 << 20)))
        for i in 0..<info.nlinks {
            let length = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_NATIVE, i, nil, 0, spk_h5p_default())
            guard length >= 0 else {
                throw .readFailed(file: file.path, path: path,
                                  reason: HDF5Library.errorMessage("cannot read member name \(i)"))
            }
            guard length < 1 << 20 else {
                throw .readFailed(file: file.path, path: path, reason: "member \(i) has a name of \(length) bytes")
            }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            guard H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_NATIVE, i, &buffer, buffer.count,
                                     spk_h5p_default()) == length else {
                throw .readFailed(file: file.path, path: path,
                                  reason: HDF5Library.errorMessage("cannot read member name \(i)"))
            }
            names.append(buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) })
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Every dataset below this group, at any depth, as relative paths such as
    /// `"blocks/0/attn/qkv/weight"`, sorted. Recursion stops at depth 64 (cyclic links).
    public func datasetPaths() throws(HDF5Error) -> [String] {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        var found: [String] = []
        var walked: Set<ObjectIdentity> = []
        try collectDatasets(into: &found, walked: &walked, depth: 0)
        return found.map { HDF5Path.relative($0, to: path) }.sorted()
    }

    /// An object's identity in its file, so that a group reached by two hard links (or by a cycle of links, which a
    /// damaged file can hold) is walked once.
    private struct ObjectIdentity: Hashable {
        var words: (UInt64, UInt64)
        static func == (a: Self, b: Self) -> Bool { a.words == b.words }
        func hash(into hasher: inout Hasher) {
            hasher.combine(words.0)
            hasher.combine(words.1)
        }
    }

    private func collectDatasets(into found: inout [String], walked: inout Set<ObjectIdentity>,
                                 depth: Int) throws(HDF5Error) {
        guard depth < 64 else { return }
        var words: (UInt64, UInt64) = (0, 0)
        let known = withUnsafeMutableBytes(of: &words) {
            spk_h5o_identity(file.id, path, $0.baseAddress!.assumingMemoryBound(to: UInt64.self)) >= 0
        }
        if known, !walked.insert(ObjectIdentity(words: words)).inserted { return }
        for name in try childNames() {
            let child = absolute(name)
            switch try HDF5Path.requireKind(of: child, in: file) {
            case .dataset?: found.append(child)
            case .group?:
                try HDF5Group(file: file, path: child).collectDatasets(into: &found, walked: &walked, depth: depth + 1)
            default: break
            }
        }
    }

    /// Opens this group; the caller closes the id.
    private func openSelf() throws(HDF5Error) -> hid_t {
        guard try HDF5Path.requireKind(of: path, in: file) != nil else { throw .missing(file: file.path, path: path) }
        let g = H5Gopen2(file.id, path, spk_h5p_default())
        guard g >= 0 else {
            throw .readFailed(file: file.path, path: path,
                              reason: HDF5Library.errorMessage("cannot open the group"))
        }
        return g
    }

    // MARK: Writing datasets (shape [] is a scalar; missing parent groups are created)

    /// Writes a new dataset of 32-bit floats.
    public func write(_ name: String, floats: [Float], shape: [Int]) throws(HDF5Error) {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        try file.writeArray(.dataset(absolute(name)), floats, fileType: H5Tcopy(spk_h5t_ieee_f32le()),
                            memType: spk_h5t_native_float(), shape: shape)
    }

    /// Writes a new dataset of 64-bit floats.
    public func write(_ name: String, doubles: [Double], shape: [Int]) throws(HDF5Error) {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        try file.writeArray(.dataset(absolute(name)), doubles, fileType: H5Tcopy(spk_h5t_ieee_f64le()),
                            memType: spk_h5t_native_double(), shape: shape)
    }

    /// Writes a new dataset of 64-bit signed integers.
    public func write(_ name: String, int64s: [Int64], shape: [Int]) throws(HDF5Error) {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        try file.writeArray(.dataset(absolute(name)), int64s, fileType: H5Tcopy(spk_h5t_std_i64le()),
                            memType: spk_h5t_native_int64(), shape: shape)
    }

    /// Writes a new dataset of unsigned bytes.
    public func write(_ name: String, uint8s: [UInt8], shape: [Int]) throws(HDF5Error) {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        try file.writeArray(.dataset(absolute(name)), uint8s, fileType: H5Tcopy(spk_h5t_std_u8le()),
                            memType: spk_h5t_native_uint8(), shape: shape)
    }

    /// Writes a new dataset of variable-length UTF-8 strings (as h5py stores `str`).
    public func write(_ name: String, strings: [String], shape: [Int]) throws(HDF5Error) {
        try file.writeStrings(.dataset(absolute(name)), strings, shape: shape)
    }

    /// Writes a new dataset of IEEE half floats (h5py's `float16`), rounding each value to
    /// the nearest half (ties to even; too large → ±infinity).
    public func write(_ name: String, float16From values: [Float], shape: [Int]) throws(HDF5Error) {
        try file.writeFloat16(.dataset(absolute(name)), values, shape: shape)
    }
}
