import CHDF5
import Foundation

/// Where written elements go: a new dataset, or a (re)created attribute of an object.
enum WriteTarget {
    /// A new dataset at an absolute path; missing parent groups are created.
    case dataset(String)
    /// Attribute `name` of the object at the absolute path `object`; replaced if present.
    case attribute(object: String, name: String)

    /// The path used in errors.
    var errorPath: String {
        switch self {
        case .dataset(let path): return path
        case .attribute(let object, let name): return DataObject.attributePath(object, name)
        }
    }
}

/// Builders for the stored (file) datatypes. Every returned id is a copy the caller closes.
enum HDF5TypeBuilder {
    /// IEEE half precision, the layout h5py uses for `numpy.float16`.
    static func float16(bigEndian: Bool = false) -> hid_t {
        let t = H5Tcopy(spk_h5t_ieee_f32le())
        H5Tset_fields(t, 15, 10, 5, 0, 10)
        H5Tset_size(t, 2)
        H5Tset_ebias(t, 15)
        if bigEndian { H5Tset_order(t, H5T_ORDER_BE) }
        return t
    }

    /// IEEE float of 16, 32 or 64 bits.
    static func float(bits: Int, bigEndian: Bool = false) -> hid_t {
        if bits == 16 { return float16(bigEndian: bigEndian) }
        let t = H5Tcopy(bits == 32 ? spk_h5t_ieee_f32le() : spk_h5t_ieee_f64le())
        if bigEndian { H5Tset_order(t, H5T_ORDER_BE) }
        return t
    }

    /// Two's-complement or unsigned integer of 8, 16, 32 or 64 bits.
    static func integer(bits: Int, signed: Bool, bigEndian: Bool = false) -> hid_t {
        let t = H5Tcopy(spk_h5t_std_i64le())
        H5Tset_size(t, bits / 8)
        H5Tset_sign(t, signed ? H5T_SGN_2 : H5T_SGN_NONE)
        if bigEndian { H5Tset_order(t, H5T_ORDER_BE) }
        return t
    }

    /// Variable-length UTF-8 string (h5py's `str`).
    static func variableString() -> hid_t {
        let t = H5Tcopy(spk_h5t_c_s1())
        H5Tset_size(t, spk_h5t_variable())
        H5Tset_cset(t, H5T_CSET_UTF8)
        return t
    }

    /// Fixed-length string of `length` bytes, NUL- or space-padded.
    static func fixedString(length: Int, spacePadded: Bool = false) -> hid_t {
        let t = H5Tcopy(spk_h5t_c_s1())
        H5Tset_size(t, max(length, 1))
        H5Tset_strpad(t, spacePadded ? H5T_STR_SPACEPAD : H5T_STR_NULLPAD)
        H5Tset_cset(t, H5T_CSET_UTF8)
        return t
    }

    /// A copy of `fileType` in this machine's byte order, for in-memory buffers.
    static func native(_ fileType: hid_t) -> hid_t {
        let t = H5Tcopy(fileType)
        H5Tset_order(t, H5Tget_order(spk_h5t_native_float()))
        return t
    }
}

/// IEEE 754 binary16 encoding of `value`, rounding to nearest, ties to even.
/// Overflow gives infinity; values below half the smallest subnormal give zero.
func float16Bits(_ value: Float) -> UInt16 {
    let x = value.bitPattern
    let sign = UInt16((x >> 16) & 0x8000)
    let exponent = Int((x >> 23) & 0xFF)
    var mantissa = x & 0x7F_FFFF
    if exponent == 0xFF {  // infinity or NaN (keep NaN quiet and non-zero)
        return sign | 0x7C00 | (mantissa != 0 ? 0x0200 | UInt16(truncatingIfNeeded: mantissa >> 13) : 0)
    }
    let e = exponent - 127 + 15
    if e >= 0x1F { return sign | 0x7C00 }
    if e <= 0 {  // subnormal half (or zero)
        if e < -10 { return sign }
        mantissa |= 0x80_0000
        let shift = UInt32(14 - e)
        var h = mantissa >> shift
        let rest = mantissa & ((1 << shift) - 1), half = UInt32(1) << (shift - 1)
        if rest > half || (rest == half && h & 1 == 1) { h += 1 }
        return sign | UInt16(h)
    }
    var h = UInt32(e) << 10 | (mantissa >> 13)
    let rest = mantissa & 0x1FFF
    if rest > 0x1000 || (rest == 0x1000 && h & 1 == 1) { h += 1 }  // a carry may reach infinity: correct
    return sign | UInt16(h)
}

extension HDF5File {
    /// Creates the dataset or attribute `target` with `fileType` and `shape` (`[]`: scalar),
    /// and writes `count` elements of `memType` from `buffer`.
    func writeData(_ target: WriteTarget, fileType: hid_t, memType: hid_t, shape: [Int],
                   count: Int, buffer: UnsafeRawPointer?) throws(HDF5Error) {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        let errorPath = target.errorPath
        func fail(_ reason: String) -> HDF5Error {
            .writeFailed(file: path, path: errorPath, reason: reason)
        }
        guard isWritable else { throw fail("the file is open read-only") }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("negative dimension in shape \(shape)") }
        guard let expected = elementCount(shape), count == expected else {
            throw fail("shape \(shape) needs \(elementCount(shape).map(String.init) ?? "too many") values, got \(count)")
        }
        let space: hid_t
        if shape.isEmpty {
            space = H5Screate(H5S_SCALAR)
        } else {
            let dims = shape.map { hsize_t($0) }
            space = H5Screate_simple(Int32(dims.count), dims, nil)
        }
        guard space >= 0 else { throw fail(HDF5Library.errorMessage("cannot create the dataspace")) }
        defer { H5Sclose(space) }

        switch target {
        case .dataset(let datasetPath):
            guard !HDF5Path.components(datasetPath).isEmpty else { throw fail("a dataset needs a name") }
            switch HDF5Path.lookup(datasetPath, in: id) {
            case .missing: break
            case .object: throw fail("an object with this name already exists")
            case .unreadable(_, let reason): throw fail(reason)
            }
            let lcpl = H5Pcreate(spk_h5p_link_create())
            defer { if lcpl >= 0 { H5Pclose(lcpl) } }
            if lcpl >= 0 { H5Pset_create_intermediate_group(lcpl, 1) }
            let dataset = H5Dcreate2(id, datasetPath, fileType, space,
                                     lcpl >= 0 ? lcpl : spk_h5p_default(),
                                     spk_h5p_default(), spk_h5p_default())
            guard dataset >= 0 else { throw fail(HDF5Library.errorMessage("cannot create the dataset")) }
            defer { H5Dclose(dataset) }
            if count > 0,
               H5Dwrite(dataset, memType, spk_h5s_all(), spk_h5s_all(), spk_h5p_default(), buffer) < 0 {
                let reason = HDF5Library.errorMessage("writing the data failed")
                H5Ldelete(id, datasetPath, spk_h5p_default())
                throw fail(reason)
            }
        case .attribute(let object, let name):
            guard !name.isEmpty else { throw fail("an attribute needs a name") }
            guard try HDF5Path.requireKind(of: object, in: self) != nil else { throw .missing(file: path, path: object) }
            if H5Aexists_by_name(id, object, name, spk_h5p_default()) > 0,
               H5Adelete_by_name(id, object, name, spk_h5p_default()) < 0 {
                throw fail(HDF5Library.errorMessage("cannot replace the existing attribute"))
            }
            let attribute = H5Acreate_by_name(id, object, name, fileType, space, spk_h5p_default(),
                                              spk_h5p_default(), spk_h5p_default())
            guard attribute >= 0 else { throw fail(HDF5Library.errorMessage("cannot create the attribute")) }
            defer { H5Aclose(attribute) }
            if count > 0, H5Awrite(attribute, memType, buffer) < 0 {
                throw fail(HDF5Library.errorMessage("writing the attribute failed"))
            }
        }
    }

    /// Writes `values` converted by HDF5 from the memory type to `fileType` (closed here).
    func writeArray<T>(_ target: WriteTarget, _ values: [T], fileType: hid_t, memType: hid_t,
                       shape: [Int]) throws(HDF5Error) {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        defer { H5Tclose(fileType) }
        var failure: HDF5Error?
        values.withUnsafeBytes { raw in
            do throws(HDF5Error) {
                try writeData(target, fileType: fileType, memType: memType, shape: shape,
                              count: values.count, buffer: raw.baseAddress)
            } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes variable-length UTF-8 strings.
    func writeStrings(_ target: WriteTarget, _ strings: [String], shape: [Int]) throws(HDF5Error) {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        let type = HDF5TypeBuilder.variableString()
        defer { H5Tclose(type) }
        let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { for p in pointers { free(p) } }
        var failure: HDF5Error?
        pointers.withUnsafeBytes { raw in
            do throws(HDF5Error) {
                try writeData(target, fileType: type, memType: type, shape: shape,
                              count: strings.count, buffer: raw.baseAddress)
            } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes fixed-length UTF-8 strings of `length` bytes (longer strings are cut).
    func writeFixedStrings(_ target: WriteTarget, _ strings: [String], length: Int,
                           spacePadded: Bool, shape: [Int]) throws(HDF5Error) {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        let size = max(length, 1)
        var bytes = [UInt8](repeating: spacePadded ? UInt8(ascii: " ") : 0, count: strings.count * size)
        for (i, s) in strings.enumerated() {
            for (j, b) in s.utf8.prefix(size).enumerated() { bytes[i * size + j] = b }
        }
        let type = HDF5TypeBuilder.fixedString(length: size, spacePadded: spacePadded)
        defer { H5Tclose(type) }
        var failure: HDF5Error?
        bytes.withUnsafeBytes { raw in
            do throws(HDF5Error) {
                try writeData(target, fileType: type, memType: type, shape: shape,
                              count: strings.count, buffer: raw.baseAddress)
            } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes `values` as IEEE half floats (rounded to nearest even, by ``float16Bits(_:)``).
    func writeFloat16(_ target: WriteTarget, _ values: [Float], bigEndian: Bool = false,
                      shape: [Int]) throws(HDF5Error) {
        HDF5Library.enter()
        defer { HDF5Library.leave() }
        let fileType = HDF5TypeBuilder.float16(bigEndian: bigEndian)
        let memType = HDF5TypeBuilder.native(fileType)
        defer { H5Tclose(memType) }
        try writeArray(target, values.map(float16Bits), fileType: fileType, memType: memType, shape: shape)
    }
}
