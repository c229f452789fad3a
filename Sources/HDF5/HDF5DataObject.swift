import CHDF5

/// An open dataset or attribute — the two kinds of HDF5 object that hold typed elements —
/// with the reads both share. Internal; the public API is ``HDF5Dataset`` and the
/// attribute methods of ``HDF5Group`` and ``HDF5Dataset``.
struct DataObject {
    enum Kind { case dataset, attribute }

    let id: hid_t
    let kind: Kind
    /// The file's path, for errors.
    let file: String
    /// The object's path inside the file (`/a/b`, or `/a/b@attr`), for errors.
    let path: String

    /// Opens the dataset at the absolute `path`.
    static func openDataset(_ path: String, in file: HDF5File) throws(HDF5Error) -> DataObject {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        switch try HDF5Path.requireKind(of: path, in: file) {
        case nil:
            throw .missing(file: file.path, path: path)
        case .dataset?:
            break
        case let other?:
            throw .unsupportedType(file: file.path, path: path, found: other.rawValue, expected: "dataset")
        }
        let id = H5Dopen2(file.id, path, spk_h5p_default())
        guard id >= 0 else {
            throw .readFailed(file: file.path, path: path,
                              reason: HDF5Library.errorMessage("cannot open the dataset"))
        }
        return DataObject(id: id, kind: .dataset, file: file.path, path: path)
    }

    /// Opens attribute `name` of the object at the absolute `objectPath`, or returns `nil`
    /// when the object has no such attribute.
    static func openAttribute(_ name: String, of objectPath: String,
                              in file: HDF5File) throws(HDF5Error) -> DataObject? {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        guard try HDF5Path.requireKind(of: objectPath, in: file) != nil else {
            throw .missing(file: file.path, path: objectPath)
        }
        let errorPath = attributePath(objectPath, name)
        let exists = H5Aexists_by_name(file.id, objectPath, name, spk_h5p_default())
        if exists == 0 { return nil }
        guard exists > 0 else {
            throw .readFailed(file: file.path, path: errorPath,
                              reason: HDF5Library.errorMessage("cannot look up the attribute"))
        }
        let id = H5Aopen_by_name(file.id, objectPath, name, spk_h5p_default(), spk_h5p_default())
        guard id >= 0 else {
            throw .readFailed(file: file.path, path: errorPath,
                              reason: HDF5Library.errorMessage("cannot open the attribute"))
        }
        return DataObject(id: id, kind: .attribute, file: file.path, path: errorPath)
    }

    /// How attributes are named in errors: `/a/b@name`.
    static func attributePath(_ objectPath: String, _ name: String) -> String {
        (objectPath == "/" ? "/" : objectPath) + "@" + name
    }

    func close() {
        switch kind {
        case .dataset: H5Dclose(id)
        case .attribute: H5Aclose(id)
        }
    }

    // MARK: Type and shape

    /// The stored datatype; the caller closes it.
    func typeID() throws(HDF5Error) -> hid_t {
        let t = kind == .dataset ? H5Dget_type(id) : H5Aget_type(id)
        guard t >= 0 else { throw readFailed("cannot get the datatype") }
        return t
    }

    /// The stored element type.
    func elementType() throws(HDF5Error) -> HDF5ElementType {
        let t = try typeID()
        defer { H5Tclose(t) }
        return HDF5ElementType(typeID: t)
    }

    /// The dataspace: `shape` is `[]` for a scalar (and for an empty "null" dataspace);
    /// `count` is the number of elements; `isScalar` is true only for a scalar dataspace.
    func extent() throws(HDF5Error) -> (shape: [Int], count: Int, isScalar: Bool) {
        let space = kind == .dataset ? H5Dget_space(id) : H5Aget_space(id)
        guard space >= 0 else { throw readFailed("cannot get the dataspace") }
        defer { H5Sclose(space) }
        let spaceClass = H5Sget_simple_extent_type(space)
        if spaceClass == H5S_SCALAR { return ([], 1, true) }
        if spaceClass == H5S_NULL { return ([], 0, false) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0 else { throw readFailed("cannot get the rank") }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else {
            throw readFailed("cannot get the dimensions")
        }
        guard dims.prefix(rank).allSatisfy({ $0 <= hsize_t(Int.max) }),
              let count = elementCount(dims.prefix(rank).map { Int($0) }) else {
            throw .readFailed(file: file, path: path,
                              reason: "its dimensions \(Array(dims.prefix(rank))) hold more elements than can be counted")
        }
        return (dims.prefix(rank).map { Int($0) }, count, false)
    }

    // MARK: Errors

    func readFailed(_ fallback: String) -> HDF5Error {
        .readFailed(file: file, path: path, reason: HDF5Library.errorMessage(fallback))
    }

    func unsupported(_ found: HDF5ElementType, expected: String) -> HDF5Error {
        .unsupportedType(file: file, path: path, found: found.description, expected: expected)
    }

    // MARK: Reading

    /// `H5Dread`/`H5Aread` of every element into `buffer`, converting to `memType`.
    private func rawRead(_ memType: hid_t, into buffer: UnsafeMutableRawPointer?) -> herr_t {
        switch kind {
        case .dataset:
            return H5Dread(id, memType, spk_h5s_all(), spk_h5s_all(), spk_h5p_default(), buffer)
        case .attribute:
            return H5Aread(id, memType, buffer)
        }
    }

    /// Checks the stored type class and returns the element count.
    private func checkedCount(allowFloat: Bool, expected: String) throws(HDF5Error) -> Int {
        let t = try typeID()
        defer { H5Tclose(t) }
        let typeClass = H5Tget_class(t)
        guard typeClass == H5T_INTEGER || (allowFloat && typeClass == H5T_FLOAT) else {
            throw unsupported(HDF5ElementType(typeID: t), expected: expected)
        }
        return try extent().count
    }

    /// Reads every element as `T` through the HDF5 memory type `memType` (HDF5 converts
    /// from the stored type). Integers are always accepted; floats when `allowFloat`.
    func readNumbers<T: BitwiseCopyable>(_ memType: hid_t, as: T.Type, allowFloat: Bool,
                                         expected: String) throws(HDF5Error) -> [T] {
        let n = try checkedCount(allowFloat: allowFloat, expected: expected)
        if n == 0 { return [] }
        var status: herr_t = 0
        let values = [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            status = rawRead(memType, into: UnsafeMutableRawPointer(buffer.baseAddress))
            initialized = status >= 0 ? n : 0
        }
        guard status >= 0 else { throw readFailed("reading the data failed") }
        return values
    }

    /// Reads rows `rows` of the leading dimension (a hyperslab) as `T` through `memType`: memory holds only those
    /// rows, however large the dataset. Integers are always accepted; floats when `allowFloat`.
    func readRows<T: BitwiseCopyable>(_ rows: Range<Int>, _ memType: hid_t, as: T.Type, allowFloat: Bool,
                                      expected: String) throws(HDF5Error) -> [T] {
        let t = try typeID()
        let typeClass = H5Tget_class(t)
        let found = HDF5ElementType(typeID: t)
        H5Tclose(t)
        guard typeClass == H5T_INTEGER || (allowFloat && typeClass == H5T_FLOAT) else {
            throw unsupported(found, expected: expected)
        }
        let shape = try extent().shape
        guard kind == .dataset, let first = shape.first, rows.lowerBound >= 0, rows.upperBound <= first else {
            throw .readFailed(file: file, path: path,
                              reason: "rows \(rows.lowerBound)..<\(rows.upperBound) are outside the leading dimension of \(shape)")
        }
        // extent() checked that the whole shape's count fits in Int, so a part of it does too.
        let rowSize = elementCount(Array(shape.dropFirst())) ?? 0
        let n = rows.count * rowSize
        if n == 0 { return [] }
        let fileSpace = H5Dget_space(id)
        guard fileSpace >= 0 else { throw readFailed("cannot get the dataspace") }
        defer { H5Sclose(fileSpace) }
        var start = [hsize_t](repeating: 0, count: shape.count), count = shape.map { hsize_t($0) }
        start[0] = hsize_t(rows.lowerBound)
        count[0] = hsize_t(rows.count)
        guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, count, nil) >= 0 else {
            throw readFailed("cannot select rows \(rows.lowerBound)..<\(rows.upperBound)")
        }
        let memSpace = H5Screate_simple(Int32(shape.count), count, nil)
        guard memSpace >= 0 else { throw readFailed("cannot create the memory dataspace") }
        defer { H5Sclose(memSpace) }
        var status: herr_t = 0
        let values = [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            status = H5Dread(id, memType, memSpace, fileSpace, spk_h5p_default(), UnsafeMutableRawPointer(buffer.baseAddress))
            initialized = status >= 0 ? n : 0
        }
        guard status >= 0 else { throw readFailed("reading rows \(rows.lowerBound)..<\(rows.upperBound) failed") }
        return values
    }

    /// Reads every element, converted to `Float`, into `buffer`, whose count must equal
    /// the element count.
    func readFloats(into buffer: UnsafeMutableBufferPointer<Float>) throws(HDF5Error) {
        let n = try checkedCount(allowFloat: true, expected: "a float or integer type")
        guard buffer.count == n else {
            throw .readFailed(file: file, path: path,
                              reason: "the buffer holds \(buffer.count) values but the data has \(n)")
        }
        if n == 0 { return }
        guard rawRead(spk_h5t_native_float(), into: UnsafeMutableRawPointer(buffer.baseAddress)) >= 0 else {
            throw readFailed("reading the data failed")
        }
    }

    /// Reads integers of any width as `Int64`; enumerations over an integer type (h5py's
    /// booleans) read as their integer values. Floats are refused.
    func readIntegers() throws(HDF5Error) -> [Int64] {
        let t = try typeID()
        defer { H5Tclose(t) }
        let typeClass = H5Tget_class(t)
        if typeClass == H5T_INTEGER {
            return try readNumbers(spk_h5t_native_int64(), as: Int64.self, allowFloat: false,
                                   expected: "an integer type")
        }
        let found = HDF5ElementType(typeID: t)
        guard typeClass == H5T_ENUM else { throw unsupported(found, expected: "an integer type") }
        // Enumerations do not convert to integers; read them in the native enum type and
        // decode its integer base type by hand.
        let memType = H5Tget_native_type(t, H5T_DIR_ASCEND)
        guard memType >= 0 else { throw readFailed("cannot get the native enumeration type") }
        defer { H5Tclose(memType) }
        let base = H5Tget_super(memType)
        guard base >= 0 else { throw readFailed("cannot get the enumeration's base type") }
        defer { H5Tclose(base) }
        let size = H5Tget_size(base)
        let signed = H5Tget_sign(base) == H5T_SGN_2
        guard H5Tget_class(base) == H5T_INTEGER, [1, 2, 4, 8].contains(size) else {
            throw unsupported(found, expected: "an integer type")
        }
        let n = try extent().count
        if n == 0 { return [] }
        var bytes = [UInt8](repeating: 0, count: n * size)
        let status = bytes.withUnsafeMutableBytes { rawRead(memType, into: $0.baseAddress) }
        guard status >= 0 else { throw readFailed("reading the data failed") }
        return bytes.withUnsafeBytes { raw in
            (0..<n).map { i -> Int64 in
                let at = i * size
                switch (size, signed) {
                case (1, true): return Int64(raw.load(fromByteOffset: at, as: Int8.self))
                case (1, false): return Int64(raw.load(fromByteOffset: at, as: UInt8.self))
                case (2, true): return Int64(raw.loadUnaligned(fromByteOffset: at, as: Int16.self))
                case (2, false): return Int64(raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))
                case (4, true): return Int64(raw.loadUnaligned(fromByteOffset: at, as: Int32.self))
                case (4, false): return Int64(raw.loadUnaligned(fromByteOffset: at, as: UInt32.self))
                default: return raw.loadUnaligned(fromByteOffset: at, as: Int64.self)
                }
            }
        }
    }

    /// Reads fixed- or variable-length strings (decoded as UTF-8, invalid bytes replaced).
    /// Fixed-length strings end at their first NUL; space-padded ones lose trailing spaces.
    func readStrings() throws(HDF5Error) -> [String] {
        let t = try typeID()
        defer { H5Tclose(t) }
        guard H5Tget_class(t) == H5T_STRING else {
            throw unsupported(HDF5ElementType(typeID: t), expected: "a string type")
        }
        let n = try extent().count
        if n == 0 { return [] }
        if H5Tis_variable_str(t) > 0 {
            let memType = H5Tcopy(spk_h5t_c_s1())
            defer { H5Tclose(memType) }
            H5Tset_size(memType, spk_h5t_variable())
            H5Tset_cset(memType, H5Tget_cset(t))
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
            let status = pointers.withUnsafeMutableBytes { rawRead(memType, into: $0.baseAddress) }
            defer { for p in pointers where p != nil { H5free_memory(p) } }
            guard status >= 0 else { throw readFailed("reading the strings failed") }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(t)
        guard size > 0 else { return Array(repeating: "", count: n) }
        let memType = H5Tcopy(t)
        defer { H5Tclose(memType) }
        var bytes = [UInt8](repeating: 0, count: n * size)
        let status = bytes.withUnsafeMutableBytes { rawRead(memType, into: $0.baseAddress) }
        guard status >= 0 else { throw readFailed("reading the strings failed") }
        let spacePadded = H5Tget_strpad(t) == H5T_STR_SPACEPAD
        return (0..<n).map { i in
            var field = bytes[(i * size)..<((i + 1) * size)]
            if let nul = field.firstIndex(of: 0) { field = field[..<nul] }
            if spacePadded {
                while field.last == UInt8(ascii: " ") { field = field.dropLast() }
            }
            return String(decoding: field, as: UTF8.self)
        }
    }

    /// Reads the whole object as an ``HDF5Value``: a scalar dataspace gives a singular
    /// case, anything else (even one element) a plural one.
    func readValue() throws(HDF5Error) -> HDF5Value {
        let t = try typeID()
        let typeClass = H5Tget_class(t)
        let found = HDF5ElementType(typeID: t)
        H5Tclose(t)
        let isScalar = try extent().isScalar
        switch typeClass {
        case H5T_INTEGER, H5T_ENUM:
            let v = try readIntegers()
            return isScalar && v.count == 1 ? .int(v[0]) : .ints(v)
        case H5T_FLOAT:
            let v = try readNumbers(spk_h5t_native_double(), as: Double.self, allowFloat: true,
                                    expected: "a number type")
            return isScalar && v.count == 1 ? .double(v[0]) : .doubles(v)
        case H5T_STRING:
            let v = try readStrings()
            return isScalar && v.count == 1 ? .string(v[0]) : .strings(v)
        default:
            throw unsupported(found, expected: "an integer, float or string type")
        }
    }
}
