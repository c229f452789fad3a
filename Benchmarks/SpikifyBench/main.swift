import Foundation
import Spikify

// Release-build figures of Spikify's performance (docs/performance.md); tools/bench.sh runs this next to PyTorch and
// SpikingJelly in the same session and prints the ratios.
//
// usage: spikify-bench [--sections ann,snn,tiny,sweep] [--batches 1,16] [--seconds 3]
//                      [--model models/vit-mnist-relu-qann16.h5] [--data models/data/mnist-test.h5] [--images 64]
//   ann    ViT-Tiny and ViT-Small geometries (random weights), images/s per batch size
//   snn    the bundled QAT QANN, batch 16: SNN until quiet and at T = 32 against the ANN, exactness, time by operator
//   tiny   ViT-Tiny geometry, 16 calibrated levels, batch 4: one simulated step against one ANN forward; peak RSS
//   sweep  SNN time against T, batch, tokens, width and depth

let args = CommandLine.arguments
func value(_ flag: String) -> String? { args.firstIndex(of: flag).flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil } }
let seconds = Double(value("--seconds") ?? "3") ?? 3

if let kind = value("--rss-probe") {
    print(String(format: "%.1f", try rssProbe(kind, batch: Int(value("--batch") ?? "4") ?? 4, steps: 8)))
    exit(0)
}

let sections = Set((value("--sections") ?? "ann,snn,tiny,sweep").split(separator: ",").map(String.init))
let batches = (value("--batches") ?? "1,16").split(separator: ",").compactMap { Int($0) }
let model = value("--model") ?? "models/vit-mnist-relu-qann16.h5"
let data = value("--data") ?? "models/data/mnist-test.h5"

print("openblas_core \(BLAS.coreName)")
print("blas_threads \(BLAS.threads)")
print("workers \(Parallel.workers)")
if let advice = BLAS.kernelAdvice() { print(advice) }
if sections.contains("ann") { annSection(batches: batches, seconds: seconds) }
if sections.contains("snn") {
    try bundledSection(model: model, data: data, batch: 16, images: Int(value("--images") ?? "64") ?? 64, seconds: seconds)
}
if sections.contains("tiny") { try tinyStepSection(batch: 4, steps: 8, seconds: seconds) }
if sections.contains("sweep") { try sweepSection(model: model, data: data, seconds: min(seconds, 1)) }
