import CHDF5

/// The element type of a dataset or attribute, as stored in the file.
public enum HDF5ElementType: Equatable, Sendable, CustomStringConvertible {
    /// IEEE 754 half precision (what h5py writes for `numpy.float16`).
    case float16
    case float32
    case float64
    /// An integer of `bits` bits (8, 16, 32 or 64), signed or unsigned.
    case int(bits: Int, signed: Bool)
    /// A fixed-length or variable-length string.
    case string
    /// Anything else, described in words: `"bfloat16"`, `"enum"`, `"compound"`, ...
    case other(String)

    /// `float16`, `int32`, `uint8`, `string`, or the words of `.other`.
    public var description: String {
        switch self {
        case .float16: return "float16"
        case .float32: return "float32"
        case .float64: return "float64"
        case .int(let bits, let signed): return "\(signed ? "int" : "uint")\(bits)"
        case .string: return "string"
        case .other(let words): return words
        }
    }

    /// Whether this is one of the floating-point cases.
    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .float32, .float64: return true
        default: return false
        }
    }

    /// Classifies an HDF5 datatype id.
    init(typeID t: hid_t) {
        let size = H5Tget_size(t)
        let typeClass = H5Tget_class(t)
        switch typeClass {
        case H5T_FLOAT:
            var spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0
            H5Tget_fields(t, &spos, &epos, &esize, &mpos, &msize)
            switch (size, esize, msize) {
            case (2, 5, 10): self = .float16
            case (2, 8, 7): self = .other("bfloat16")
            case (4, 8, 23): self = .float32
            case (8, 11, 52): self = .float64
            default: self = .other("float\(size * 8) (exponent \(esize) bits, mantissa \(msize) bits)")
            }
        case H5T_INTEGER:
            self = .int(bits: size * 8, signed: H5Tget_sign(t) == H5T_SGN_2)
        case H5T_STRING:
            self = .string
        case H5T_ENUM:
            let base = H5Tget_super(t)
            defer { if base >= 0 { H5Tclose(base) } }
            self = .other(base >= 0 ? "enum of \(HDF5ElementType(typeID: base))" : "enum")
        default:
            self = .other(Self.className(typeClass))
        }
    }

    /// Words for a datatype class that has no case of its own.
    static func className(_ c: H5T_class_t) -> String {
        switch c {
        case H5T_TIME: return "time"
        case H5T_BITFIELD: return "bitfield"
        case H5T_OPAQUE: return "opaque"
        case H5T_COMPOUND: return "compound"
        case H5T_REFERENCE: return "reference"
        case H5T_ENUM: return "enum"
        case H5T_VLEN: return "variable-length sequence"
        case H5T_ARRAY: return "array"
        default: return "unknown datatype"
        }
    }
}

/// The value of an attribute.
///
/// Scalars (an HDF5 scalar dataspace) use the singular cases; arrays, even with one
/// element, use the plural ones. Integers of every width read as `Int64`, floats of every
/// width as `Double`, fixed- and variable-length strings as `String`.
public enum HDF5Value: Equatable, Sendable {
    case int(Int64)
    case double(Double)
    case string(String)
    case ints([Int64])
    case doubles([Double])
    case strings([String])

    /// The value as one integer: `.int`, a one-element `.ints`, or a `.double`/`.doubles`
    /// holding a single whole number. `nil` otherwise.
    public var intValue: Int64? {
        switch self {
        case .int(let v): return v
        case .ints(let v) where v.count == 1: return v[0]
        case .double(let d): return Self.exactInt(d)
        case .doubles(let v) where v.count == 1: return Self.exactInt(v[0])
        default: return nil
        }
    }

    /// The value as one number (integers are converted). `nil` for strings and longer arrays.
    public var doubleValue: Double? {
        switch self {
        case .double(let v): return v
        case .doubles(let v) where v.count == 1: return v[0]
        case .int(let v): return Double(v)
        case .ints(let v) where v.count == 1: return Double(v[0])
        default: return nil
        }
    }

    /// The value as one string (`.string` or a one-element `.strings`).
    public var stringValue: String? {
        switch self {
        case .string(let s): return s
        case .strings(let v) where v.count == 1: return v[0]
        default: return nil
        }
    }

    /// The value as a list of integers (a scalar becomes a one-element list; whole-number
    /// doubles are accepted). `nil` for strings or non-integral doubles.
    public var intArray: [Int64]? {
        switch self {
        case .int(let v): return [v]
        case .ints(let v): return v
        case .double(let d): return Self.exactInt(d).map { [$0] }
        case .doubles(let v):
            let ints = v.compactMap(Self.exactInt)
            return ints.count == v.count ? ints : nil
        default: return nil
        }
    }

    /// The value as a list of numbers (a scalar becomes a one-element list).
    public var doubleArray: [Double]? {
        switch self {
        case .double(let v): return [v]
        case .doubles(let v): return v
        case .int(let v): return [Double(v)]
        case .ints(let v): return v.map(Double.init)
        default: return nil
        }
    }

    /// The value as a list of strings (a scalar becomes a one-element list).
    public var stringArray: [String]? {
        switch self {
        case .string(let s): return [s]
        case .strings(let v): return v
        default: return nil
        }
    }

    private static func exactInt(_ d: Double) -> Int64? {
        guard d.isFinite, d.rounded() == d, abs(d) < 9.2e18 else { return nil }
        return Int64(d)
    }
}
