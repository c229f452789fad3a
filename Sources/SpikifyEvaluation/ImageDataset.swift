import HDF5
import SpikifyCore
import SpikifyModel

/// Labelled images ready for a model: normalised float32 `[N, C, H, W]`, in memory (a batch, or a small data set
/// such as calibration images). Large data sets are read batch by batch through ``ImageDatasetReader``.
///
/// File format (HDF5): `images` as uint8 `[N, H, W, C]` (scaled by 1/255, then `(x − mean)/std` per channel with the
/// model's statistics) or float32/float64/float16 `[N, C, H, W]` (used as is); optional integer `labels` `[N]`.
/// Other datasets (reference `logits`, say) are ignored here.
public struct ImageDataset: Sendable {
    public var images: Tensor
    public var labels: [Int]?
    public var source: String

    public init(images: Tensor, labels: [Int]?, source: String = "<memory>") {
        self.images = images
        self.labels = labels
        self.source = source
    }

    public var count: Int { images.shape[0] }

    /// Loads and normalises a whole dataset file for `config`, checking it fits the model.
    public static func load(_ path: String, for config: ViTConfig) throws -> ImageDataset {
        let reader = try ImageDatasetReader(path, for: config)
        return try reader.read(0..<reader.count)
    }

    /// `(x/255 − mean[c]) / std[c]`, transposed from `[N, H, W, C]` to `[N, C, H, W]`; float32 arithmetic in the
    /// same order as torchvision's `ToTensor` then `Normalize`.
    static func normalise(_ raw: [UInt8], count n: Int, size: Int, channels c: Int, mean: [Float], std: [Float])
        -> Tensor
    {
        var out = [Float](repeating: 0, count: raw.count)
        let plane = size * size
        for i in 0..<n {
            for p in 0..<plane {
                for ch in 0..<c {
                    let x = Float(raw[(i * plane + p) * c + ch]) / 255
                    out[(i * c + ch) * plane + p] = (x - mean[ch]) / std[ch]
                }
            }
        }
        return Tensor(shape: [n, c, size, size], scalars: out)
    }

    /// Images `range` as a batch.
    public func batch(_ range: Range<Int>) -> Tensor { images.slice(rows: range) }

    /// Images and labels `range`.
    public func subset(_ range: Range<Int>) -> ImageDataset {
        ImageDataset(images: batch(range), labels: labels.map { Array($0[range]) }, source: source)
    }
}

/// Reads a dataset file batch by batch (HDF5 hyperslabs): memory is bounded by the batch, not the file, and a
/// range (`--limit`, a shard) is read without touching the rest. The header is checked when the reader opens.
public final class ImageDatasetReader: @unchecked Sendable {
    public let source: String
    /// Images in the file.
    public let count: Int
    public let hasLabels: Bool
    private let file: HDF5File
    private let config: ViTConfig
    private let isUInt8: Bool

    /// Opens `path` and checks that its `images` (and `labels`) fit `config`.
    public init(_ path: String, for config: ViTConfig) throws {
        file = try hdf5 { try HDF5File.open(path) }
        source = path
        self.config = config
        let root = file.root
        guard root.isDataset("images") else {
            throw SpikifyError.invalidData(file: path, message: "no 'images' dataset (expected uint8 [N,H,W,C] or float32 [N,C,H,W])")
        }
        let ds = try hdf5 { try root.dataset("images") }
        let s = ds.shape, size = config.imageSize, c = config.channels
        switch ds.elementType {
        case .int(bits: 8, signed: false):
            guard s.count == 4, s[1] == size, s[2] == size, s[3] == c else {
                throw SpikifyError.invalidData(file: path, message: "'images' is uint8 \(s); the model expects [N, \(size), "
                    + "\(size), \(c)] (height, width, channels)")
            }
            isUInt8 = true
        case .float32, .float64, .float16:
            guard s.count == 4, s[1] == c, s[2] == size, s[3] == size else {
                throw SpikifyError.invalidData(file: path, message: "'images' is float \(s); the model expects [N, \(c), "
                    + "\(size), \(size)] (channels first, already normalised)")
            }
            isUInt8 = false
        default:
            throw SpikifyError.invalidData(file: path, message: "'images' has element type \(ds.elementType); expected uint8 "
                + "[N,H,W,C] or float32 [N,C,H,W]")
        }
        count = s[0]
        guard count >= 1 else { throw SpikifyError.invalidData(file: path, message: "'images' holds no images (N = 0)") }
        guard count <= ViTConfig.elementLimit else {
            throw SpikifyError.invalidData(file: path, message: "'images' declares \(count) images; at most "
                + "\(ViTConfig.elementLimit) are read")
        }
        hasLabels = root.exists("labels")
        if hasLabels {
            let l = try hdf5 { try root.dataset("labels") }
            guard l.shape == [count] else {
                throw SpikifyError.invalidData(file: path, message: "'labels' has shape \(l.shape), expected [\(count)]")
            }
        }
    }

    /// Normalised images `range` as `[n, C, H, W]`.
    public func images(_ range: Range<Int>) throws -> Tensor {
        try checkRange(range)
        let ds = try hdf5 { try file.root.dataset("images") }
        let size = config.imageSize, c = config.channels
        if isUInt8 {
            let raw = try hdf5 { try ds.readUInt8s(rows: range) }
            return ImageDataset.normalise(raw, count: range.count, size: size, channels: c, mean: config.mean, std: config.std)
        }
        let values = try hdf5 { try ds.readFloats(rows: range) }
        let bad = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        if bad > 0 { throw SpikifyError.nonFinite(file: source, key: "images[\(range.lowerBound)..<\(range.upperBound)]", count: bad) }
        return Tensor(shape: [range.count, c, size, size], scalars: values)
    }

    /// Labels `range`, checked against the model's classes (nil when the file has none).
    public func labels(_ range: Range<Int>) throws -> [Int]? {
        guard hasLabels else { return nil }
        try checkRange(range)
        let values = try hdf5 { try file.root.dataset("labels").readInt64s(rows: range) }
        if let bad = values.first(where: { $0 < 0 || $0 >= config.numClasses }) {
            throw SpikifyError.invalidData(file: source, message: "label \(bad) is outside the model's \(config.numClasses) classes")
        }
        return values.map { Int($0) }
    }

    /// Images and labels `range` in memory.
    public func read(_ range: Range<Int>) throws -> ImageDataset {
        ImageDataset(images: try images(range), labels: try labels(range), source: source)
    }

    private func checkRange(_ range: Range<Int>) throws {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw SpikifyError.invalidArgument("\(source): images \(range.lowerBound)..<\(range.upperBound) are outside its \(count) images")
        }
    }
}
