import HDF5

/// Labelled images ready for a model: normalised float32 `[N, C, H, W]`.
///
/// File format (HDF5): `images` as uint8 `[N, H, W, C]` (scaled by 1/255, then `(x − mean)/std` per channel with the
/// model's statistics) or float32 `[N, C, H, W]` (used as is); optional integer `labels` `[N]`. Other datasets
/// (reference `logits`, say) are ignored here.
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

    /// Loads and normalises a dataset file for `config`, checking it fits the model.
    public static func load(_ path: String, for config: ViTConfig) throws -> ImageDataset {
        let file = try hdf5 { try HDF5File.open(path) }
        let root = file.root
        guard root.exists("images") else {
            throw SpikifyError.invalidData(file: path, message: "no 'images' dataset (expected uint8 [N,H,W,C] or float32 [N,C,H,W])")
        }
        let ds = try hdf5 { try root.dataset("images") }
        let s = ds.shape
        let size = config.imageSize, c = config.channels
        var images: Tensor
        switch ds.elementType {
        case .int(bits: 8, signed: false):
            guard s.count == 4, s[1] == size, s[2] == size, s[3] == c else {
                throw SpikifyError.invalidData(file: path, message: "'images' is uint8 \(s); the model expects [N, \(size), "
                    + "\(size), \(c)] (height, width, channels)")
            }
            let raw = try hdf5 { try ds.readUInt8s() }
            images = normalise(raw, count: s[0], size: size, channels: c, mean: config.mean, std: config.std)
        case .float32, .float64, .float16:
            guard s.count == 4, s[1] == c, s[2] == size, s[3] == size else {
                throw SpikifyError.invalidData(file: path, message: "'images' is float \(s); the model expects [N, \(c), "
                    + "\(size), \(size)] (channels first, already normalised)")
            }
            let values = try hdf5 { try ds.readFloats() }
            let bad = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            if bad > 0 { throw SpikifyError.nonFinite(file: path, key: "images", count: bad) }
            images = Tensor(shape: s, scalars: values)
        default:
            throw SpikifyError.invalidData(file: path, message: "'images' has element type \(ds.elementType); expected uint8 "
                + "[N,H,W,C] or float32 [N,C,H,W]")
        }
        var labels: [Int]?
        if root.exists("labels") {
            let l = try hdf5 { try root.dataset("labels") }
            guard l.shape == [s[0]] else {
                throw SpikifyError.invalidData(file: path, message: "'labels' has shape \(l.shape), expected [\(s[0])]")
            }
            let values = try hdf5 { try l.readInt64s() }
            if let bad = values.first(where: { $0 < 0 || $0 >= config.numClasses }) {
                throw SpikifyError.invalidData(file: path, message: "label \(bad) is outside the model's \(config.numClasses) classes")
            }
            labels = values.map { Int($0) }
        }
        return ImageDataset(images: images, labels: labels, source: path)
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
}
