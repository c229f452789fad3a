import Foundation
import Spikify

// Throughput of Spikify's ANN on a ViT-Tiny geometry (192 wide, 12 blocks, 3 heads, 224×224, 1000 classes) with
// random weights, and of a spiking run, as images per second in a release build. tools/bench.sh runs this next to
// PyTorch in the same session and prints the ratios.
//
// usage: spikify-bench [--batches 1,16] [--seconds 5] [--snn MODEL.h5 DATA.h5 T]

struct Generator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
}

func randomViT(_ c: ViTConfig) -> ViTModel {
    var g = Generator(state: 1)
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
    return ViTModel(config: c, weights: w, source: "random ViT-Tiny")
}

func imagesPerSecond(batch: Int, seconds: Double, _ run: (Tensor) -> Void, images: Tensor) -> Double {
    run(images)  // warm-up
    var count = 0
    let start = Date()
    while Date().timeIntervalSince(start) < seconds || count < 3 {
        run(images)
        count += 1
    }
    return Double(count * batch) / Date().timeIntervalSince(start)
}

let args = CommandLine.arguments
func value(_ flag: String) -> String? { args.firstIndex(of: flag).flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil } }
let batches = (value("--batches") ?? "1,16").split(separator: ",").compactMap { Int($0) }
let seconds = Double(value("--seconds") ?? "5") ?? 5

print("openblas_core \(BLAS.coreName)")
print("blas_threads \(BLAS.threads)")
print("workers \(Parallel.workers)")
let tiny = ViTConfig(imageSize: 224, patchSize: 16, channels: 3, embedDim: 192, depth: 12, numHeads: 3, mlpDim: 768,
                     numClasses: 1000)
let forward = ViTForward(randomViT(tiny))
for b in batches {
    var g = Generator(state: 7)
    let x = Tensor(shape: [b, 3, 224, 224], scalars: (0..<(b * 3 * 224 * 224)).map { _ in Float.random(in: -1...1, using: &g) })
    let ips = imagesPerSecond(batch: b, seconds: seconds, { _ = forward.logits($0) }, images: x)
    print(String(format: "ann_vit_tiny batch %d images_per_s %.2f", b, ips))
}

if let i = args.firstIndex(of: "--snn"), i + 3 < args.count {
    let model = try ViTImporter.load(args[i + 1])
    let data = try ImageDataset.load(args[i + 2], for: model.config)
    let T = Int(args[i + 3]) ?? 64
    let b = batches.last ?? 16
    let c = try ConversionMethods.convert(model, method: "spikezip",
                                          options: ConversionOptions(steps: model.weights.stepSizes.isEmpty ? .calibrate(.mse) : .checkpoint,
                                                                     calibrationImages: data.batch(0..<min(64, data.count))))
    let x = data.batch(0..<b)
    let ann = ViTForward(model)
    let annIPS = imagesPerSecond(batch: b, seconds: seconds, { _ = ann.logits($0) }, images: x)
    let executor = try SpikingExecutor(graph: c.graph, batchCapacity: b)
    let snnIPS = imagesPerSecond(batch: b, seconds: seconds, { _ = try? executor.run($0, timesteps: T) }, images: x)
    print(String(format: "snn %@ batch %d T %d ms_per_image %.3f ann_ms_per_image %.4f ratio %.1f",
                 args[i + 1], b, T, 1000 / snnIPS, 1000 / annIPS, annIPS / snnIPS))
}

if args.contains("--kernels") {
    // Per-element cost of the row kernels on one core (ViT-Tiny, batch 16: 29M GELU and 22M softmax elements).
    let n = 1 << 22
    var g = Generator(state: 3)
    var x = (0..<n).map { _ in Float.random(in: -4...4, using: &g) }
    for (name, body) in [
        ("gelu", { (p: UnsafeMutablePointer<Float>) in Kernels.gelu(p, count: n) }),
        ("softmax(197)", { (p: UnsafeMutablePointer<Float>) in Kernels.softmax(p, rows: n / 197, width: 197) }),
    ] as [(String, (UnsafeMutablePointer<Float>) -> Void)] {
        let start = Date()
        for _ in 0..<5 { x.withUnsafeMutableBufferPointer { body($0.baseAddress!) } }
        print(String(format: "kernel %@ ns_per_element %.2f", name, Date().timeIntervalSince(start) * 1e9 / Double(5 * n)))
    }
}
