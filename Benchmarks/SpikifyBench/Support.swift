import Foundation
import Spikify

/// A small deterministic generator (weights and images of the benchmark geometries).
struct Generator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
}

/// The geometries of the benchmark (timm `vit_tiny_patch16_224` and `vit_small_patch16_224`, 1000 classes).
enum Geometry {
    static let tiny = ViTConfig(imageSize: 224, patchSize: 16, channels: 3, embedDim: 192, depth: 12, numHeads: 3,
                                mlpDim: 768, numClasses: 1000)
    static let small = ViTConfig(imageSize: 224, patchSize: 16, channels: 3, embedDim: 384, depth: 12, numHeads: 6,
                                 mlpDim: 1536, numClasses: 1000)
    /// The bundled MNIST ViTs' geometry (28², patch 4, 64 wide, 4 blocks, 4 heads, MLP 128, ReLU), the base of the
    /// scaling sweep.
    static let mnist = ViTConfig(imageSize: 28, patchSize: 4, channels: 1, embedDim: 64, depth: 4, numHeads: 4,
                                 mlpDim: 128, numClasses: 10, activation: .relu)
}

/// A ViT of configuration `c` with small random weights (LayerNorm scales 1), seeded.
func randomViT(_ c: ViTConfig, seed: UInt64 = 1) -> ViTModel {
    var g = Generator(state: seed)
    func r(_ n: Int, _ scale: Float = 0.02) -> [Float] { (0..<n).map { _ in Float.random(in: -scale...scale, using: &g) } }
    func ones(_ n: Int) -> [Float] { [Float](repeating: 1, count: n) }
    let d = c.embedDim, m = c.mlpDim
    let blocks = (0..<c.depth).map { _ in
        BlockWeights(norm1Weight: ones(d), norm1Bias: r(d), qkvWeight: r(3 * d * d), qkvBias: r(3 * d),
                     projWeight: r(d * d), projBias: r(d), norm2Weight: ones(d), norm2Bias: r(d),
                     fc1Weight: r(m * d), fc1Bias: r(m), fc2Weight: r(d * m), fc2Bias: r(d))
    }
    let w = ViTWeights(patchWeight: r(d * c.patchFeatures), patchBias: r(d), classToken: r(d),
                       positionEmbedding: r(c.tokenCount * d), blocks: blocks, finalNormWeight: ones(d),
                       finalNormBias: r(d), headWeight: r(c.numClasses * d), headBias: r(c.numClasses))
    return ViTModel(config: c, weights: w, source: "random \(c.embedDim)-wide ViT")
}

/// Random images `[batch, C, H, W]` in −1…1, seeded.
func randomImages(_ c: ViTConfig, batch: Int, seed: UInt64 = 7) -> Tensor {
    var g = Generator(state: seed)
    let n = batch * c.channels * c.imageSize * c.imageSize
    return Tensor(shape: [batch, c.channels, c.imageSize, c.imageSize],
                  scalars: (0..<n).map { _ in Float.random(in: -1...1, using: &g) })
}

/// The median wall time of one call of `body` (after a warm-up call), over at least `runs` calls and `seconds`.
func medianSeconds(seconds: Double, runs: Int = 3, _ body: () -> Void) -> Double {
    body()
    var times: [Double] = []
    let start = Date()
    while times.count < runs || Date().timeIntervalSince(start) < seconds {
        let t = Date()
        body()
        times.append(Date().timeIntervalSince(t))
    }
    times.sort()
    return times[times.count / 2]
}

/// Medians of several bodies measured in turn (one run of each per round, after a warm-up run of each), for
/// comparisons within one run on a machine whose speed drifts: each round sees the same conditions for all.
func alternatingMedianSeconds(seconds: Double, runs: Int = 3, _ bodies: [() -> Void]) -> [Double] {
    for body in bodies { body() }
    var times = [[Double]](repeating: [], count: bodies.count)
    let start = Date()
    while times[0].count < runs || Date().timeIntervalSince(start) < seconds {
        for (i, body) in bodies.enumerated() {
            let t = Date()
            body()
            times[i].append(Date().timeIntervalSince(t))
        }
    }
    return times.map { $0.sorted()[$0.count / 2] }
}

/// Peak resident set size of this process so far, in MB (`getrusage`).
func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
}

/// Runs this executable again with `arguments` and returns its standard output (the peak-RSS probes run alone).
func runSelf(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// A 16-level SpikeZIP-TF conversion of `model` with steps calibrated on `images`.
func calibratedSNN(_ model: ViTModel, images: Tensor) throws -> ConvertedModel {
    try ConversionMethods.convert(model, method: "spikezip",
                                  options: ConversionOptions(levels: 16, steps: .calibrate(.mse), calibrationImages: images))
}
