import CHDF5

/// A dataset in an HDF5 file: its shape and element type, and reads of its data.
///
/// Each read opens the dataset again by path, so the value can be kept and shared freely.
public struct HDF5Dataset: Sendable {
    /// The file the dataset belongs to.
    public let file: HDF5File
    /// The absolute path inside the file, e.g. `/blocks/0/attn/qkv/weight`.
    public let path: String
    /// The dimensions, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// The element type as stored.
    public let elementType: HDF5ElementType
    /// The number of elements: the product of `shape`, 1 for a scalar (0 for an HDF5 "null"
    /// dataspace, which also has shape `[]`).
    public let count: Int

    /// Opens the dataset at the absolute `path` and reads its shape and type.
    init(file: HDF5File, path: String) throws(HDF5Error) {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        let object = try DataObject.openDataset(path, in: file)
        defer { object.close() }
        let extent = try object.extent()
        self.file = file
        self.path = path
        self.shape = extent.shape
        self.count = extent.count
        self.elementType = try object.elementType()
    }

    /// The last path component.
    public var name: String { HDF5Path.components(path).last ?? "/" }

    /// Runs `body` with the dataset open.
    private func withObject<R>(_ body: (DataObject) throws(HDF5Error) -> R) throws(HDF5Error) -> R {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        let object = try DataObject.openDataset(path, in: file)
        defer { object.close() }
        return try body(object)
    }

    // MARK: Reading

    /// The elements as `Float`, converted by HDF5 from float16, float32, float64 or any
    /// integer type. Strings and other types throw ``HDF5Error/unsupportedType(file:path:found:expected:)``.
    public func readFloats() throws(HDF5Error) -> [Float] {
        try withObject { o throws(HDF5Error) in
            try o.readNumbers(spk_h5t_native_float(), as: Float.self, allowFloat: true,
                              expected: "a float or integer type")
        }
    }

    /// Reads the elements, converted to `Float`, straight into `buffer`, whose count must
    /// equal ``count`` (otherwise ``HDF5Error/readFailed(file:path:reason:)``).
    public func readFloats(into buffer: UnsafeMutableBufferPointer<Float>) throws(HDF5Error) {
        try withObject { o throws(HDF5Error) in try o.readFloats(into: buffer) }
    }

    /// The elements as `Double`, from any float or integer type.
    public func readDoubles() throws(HDF5Error) -> [Double] {
        try withObject { o throws(HDF5Error) in
            try o.readNumbers(spk_h5t_native_double(), as: Double.self, allowFloat: true,
                              expected: "a float or integer type")
        }
    }

    /// The elements as `Int64`, from any integer type (or an enumeration over one, as h5py
    /// stores booleans). Float types throw ``HDF5Error/unsupportedType(file:path:found:expected:)``.
    public func readInt64s() throws(HDF5Error) -> [Int64] {
        try withObject { o throws(HDF5Error) in try o.readIntegers() }
    }

    /// The elements as bytes; only for datasets of unsigned 8-bit integers.
    public func readUInt8s() throws(HDF5Error) -> [UInt8] {
        try withObject { o throws(HDF5Error) in
            let type = try o.elementType()
            guard type == .int(bits: 8, signed: false) else { throw o.unsupported(type, expected: "uint8") }
            return try o.readNumbers(spk_h5t_native_uint8(), as: UInt8.self, allowFloat: false,
                                     expected: "uint8")
        }
    }

    /// Rows `rows` of the leading dimension as `Float` (from any float or integer type); only those rows are read.
    public func readFloats(rows: Range<Int>) throws(HDF5Error) -> [Float] {
        try withObject { o throws(HDF5Error) in
            try o.readRows(rows, spk_h5t_native_float(), as: Float.self, allowFloat: true, expected: "a float or integer type")
        }
    }

    /// Rows `rows` of the leading dimension as bytes; only for unsigned 8-bit integers.
    public func readUInt8s(rows: Range<Int>) throws(HDF5Error) -> [UInt8] {
        try withObject { o throws(HDF5Error) in
            let type = try o.elementType()
            guard type == .int(bits: 8, signed: false) else { throw o.unsupported(type, expected: "uint8") }
            return try o.readRows(rows, spk_h5t_native_uint8(), as: UInt8.self, allowFloat: false, expected: "uint8")
        }
    }

    /// Rows `rows` of the leading dimension as `Int64`, from any integer type.
    public func readInt64s(rows: Range<Int>) throws(HDF5Error) -> [Int64] {
        try withObject { o throws(HDF5Error) in
            try o.readRows(rows, spk_h5t_native_int64(), as: Int64.self, allowFloat: false, expected: "an integer type")
        }
    }

    /// The elements as strings, from fixed- or variable-length string types (UTF-8).
    public func readStrings() throws(HDF5Error) -> [String] {
        try withObject { o throws(HDF5Error) in try o.readStrings() }
    }
}
