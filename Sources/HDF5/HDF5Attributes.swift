import CHDF5

/// Attribute access shared by groups and datasets (objects named by absolute path).
enum HDF5Attributes {
    /// The attribute names of the object at `objectPath`, in name order (byte-wise). Listed in native order and
    /// sorted here, for the reason given at ``HDF5Group/childNames()`` (no table of a damaged index in libhdf5).
    static func names(of objectPath: String, in file: HDF5File) throws(HDF5Error) -> [String] {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        guard try HDF5Path.requireKind(of: objectPath, in: file) != nil else {
            throw .missing(file: file.path, path: objectPath)
        }
        var names: [String] = []
        var index: hsize_t = 0
        let status = withUnsafeMutablePointer(to: &names) { box in
            H5Aiterate_by_name(file.id, objectPath, H5_INDEX_NAME, H5_ITER_NATIVE, &index, { _, name, _, data in
                guard let name, let data else { return 0 }
                data.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name))
                return 0
            }, UnsafeMutableRawPointer(box), spk_h5p_default())
        }
        guard status >= 0 else {
            throw .readFailed(file: file.path, path: objectPath,
                              reason: HDF5Library.errorMessage("cannot list the attributes"))
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Attribute `name` of the object at `objectPath`, or `nil` if it has none.
    static func read(_ name: String, of objectPath: String, in file: HDF5File) throws(HDF5Error) -> HDF5Value? {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        guard let attribute = try DataObject.openAttribute(name, of: objectPath, in: file) else { return nil }
        defer { attribute.close() }
        return try attribute.readValue()
    }

    /// Creates or replaces attribute `name` of the object at `objectPath`.
    static func write(_ name: String, _ value: HDF5Value, of objectPath: String,
                      in file: HDF5File) throws(HDF5Error) {
                          HDF5Library.enter()
                          defer { HDF5Library.leave() }
        let target = WriteTarget.attribute(object: objectPath, name: name)
        switch value {
        case .int(let v):
            try file.writeArray(target, [v], fileType: H5Tcopy(spk_h5t_std_i64le()),
                                memType: spk_h5t_native_int64(), shape: [])
        case .ints(let v):
            try file.writeArray(target, v, fileType: H5Tcopy(spk_h5t_std_i64le()),
                                memType: spk_h5t_native_int64(), shape: [v.count])
        case .double(let v):
            try file.writeArray(target, [v], fileType: H5Tcopy(spk_h5t_ieee_f64le()),
                                memType: spk_h5t_native_double(), shape: [])
        case .doubles(let v):
            try file.writeArray(target, v, fileType: H5Tcopy(spk_h5t_ieee_f64le()),
                                memType: spk_h5t_native_double(), shape: [v.count])
        case .string(let v):
            try file.writeStrings(target, [v], shape: [])
        case .strings(let v):
            try file.writeStrings(target, v, shape: [v.count])
        }
    }
}

/// An HDF5 object with attributes: a group (root attributes hold model configuration) or a dataset.
public protocol HDF5Object {
    var file: HDF5File { get }
    /// Absolute path of the object in its file.
    var path: String { get }
}

extension HDF5Object {
    /// The names of the object's attributes, in name order.
    public func attributeNames() throws(HDF5Error) -> [String] {
        try HDF5Attributes.names(of: path, in: file)
    }

    /// The attribute `name`, or `nil` when the object has none of that name.
    /// Scalars give `.int`/`.double`/`.string`; arrays (even of one element) the plural cases.
    public func attribute(_ name: String) throws(HDF5Error) -> HDF5Value? {
        try HDF5Attributes.read(name, of: path, in: file)
    }

    /// Sets (creates or replaces) the attribute `name`: integers as int64, doubles as float64, strings as
    /// variable-length UTF-8; singular cases as scalars, plural as 1-D.
    public func setAttribute(_ name: String, _ value: HDF5Value) throws(HDF5Error) {
        try HDF5Attributes.write(name, value, of: path, in: file)
    }
}

extension HDF5Group: HDF5Object {}
extension HDF5Dataset: HDF5Object {}
