import CHDF5

/// Attribute access shared by groups and datasets (objects named by absolute path).
enum HDF5Attributes {
    /// The attribute names of the object at `objectPath`, in name order.
    static func names(of objectPath: String, in file: HDF5File) throws(HDF5Error) -> [String] {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        guard try HDF5Path.requireKind(of: objectPath, in: file) != nil else {
            throw .missing(file: file.path, path: objectPath)
        }
        var names: [String] = []
        var index: hsize_t = 0
        let status = withUnsafeMutablePointer(to: &names) { box in
            H5Aiterate_by_name(file.id, objectPath, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, _, data in
                guard let name, let data else { return 0 }
                data.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name))
                return 0
            }, UnsafeMutableRawPointer(box), spk_h5p_default())
        }
        guard status >= 0 else {
            throw .readFailed(file: file.path, path: objectPath,
                              reason: HDF5Library.errorMessage("cannot list the attributes"))
        }
        return names
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
