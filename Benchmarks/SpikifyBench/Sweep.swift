import Foundation
import Spikify

/// How the SNN's time grows with the timesteps T and the batch (the bundled QANN, real spike dynamics) and with
/// tokens, width and depth (random ViTs of the bundled geometry with one dimension changed, 16 calibrated levels,
/// T = 16 steps, batch 4). Each line: milliseconds per image, and per image and step.
func sweepSection(model path: String, data: String, seconds: Double) throws {
    let model = try ViTImporter.load(path)
    let dataset = try ImageDataset.load(data, for: model.config)
    let c = try ConversionMethods.convert(model, method: "spikezip", options: ConversionOptions(steps: .checkpoint))
    let x16 = dataset.batch(0..<16)
    let executor16 = try SpikingExecutor(graph: c.graph, batchCapacity: 16)
    for T in [4, 8, 16, 32] {
        var steps = 0
        let t = medianSeconds(seconds: seconds) { steps = (try? executor16.run(x16, timesteps: T))?.stepsRun ?? 0 }
        report("T", T, seconds: t, images: 16, steps: steps)
    }
    for b in [1, 4, 16] {
        let executor = try SpikingExecutor(graph: c.graph, batchCapacity: b)
        let batches = stride(from: 0, to: 16, by: b).map { dataset.batch($0..<($0 + b)) }
        var steps = 0
        let t = medianSeconds(seconds: seconds) {
            for x in batches { steps = max(steps, (try? executor.run(x, timesteps: 256))?.stepsRun ?? 0) }
        }
        report("batch", b, seconds: t, images: 16, steps: steps)
    }
    let base = Geometry.mnist
    var variants: [(String, Int, ViTConfig)] = []
    for size in [16, 28, 40] {
        var g = base
        g.imageSize = size
        variants.append(("tokens", g.tokenCount, g))
    }
    for width in [32, 64, 128] {
        var g = base
        g.embedDim = width
        g.mlpDim = 2 * width
        variants.append(("width", width, g))
    }
    for depth in [2, 4, 8] {
        var g = base
        g.depth = depth
        variants.append(("depth", depth, g))
    }
    for (name, value, g) in variants {
        let x = randomImages(g, batch: 4)
        let converted = try calibratedSNN(randomViT(g), images: randomImages(g, batch: 8, seed: 11))
        let executor = try SpikingExecutor(graph: converted.graph, batchCapacity: 4)
        var steps = 0
        let t = medianSeconds(seconds: seconds) { steps = (try? executor.run(x, timesteps: 16))?.stepsRun ?? 0 }
        report(name, value, seconds: t, images: 4, steps: steps)
    }
}

private func report(_ name: String, _ value: Int, seconds: Double, images: Int, steps: Int) {
    let perImage = 1000 * seconds / Double(images)
    print(String(format: "sweep %@ %d ms_per_image %.3f steps %d ms_per_image_step %.4f", name, value, perImage, steps,
                 perImage / Double(max(steps, 1))))
}
