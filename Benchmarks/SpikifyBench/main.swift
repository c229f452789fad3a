import Foundation
import Spikify

// Release-build figures of Spikify's performance (docs/performance.md); tools/bench.sh runs this next to PyTorch and
// SpikingJelly in the same session and prints the ratios. `spikify-bench --help` lists the sections and options.

let usage = """
    usage: spikify-bench [--sections ann,snn,tiny,sweep] [--batches 1,16] [--seconds 3] [--images 64]
                         [--model models/vit-mnist-relu-qann16.h5] [--data models/data/mnist-test.h5]
      --sections LIST  which sections to run (default all four):
                         ann    ViT-Tiny and ViT-Small geometries (random weights), images/s per batch size
                         snn    the bundled QAT QANN, batch 16: SNN until quiet and at T = 32 against the ANN,
                                exactness, time by operator; the same with --burst 4, 8 and 16; on CPUs
                                with AVX-512 or AVX2 also with OpenBLAS linear layers instead of the packed
                                kernel, in turn
                         tiny   ViT-Tiny geometry, 16 calibrated levels, batch 4: one simulated step against one
                                ANN forward (on CPUs with AVX-512 or AVX2 also with OpenBLAS linear layers,
                                in turn); runs until quiet and of T = 32 in ANN forwards, with single spikes and
                                with --burst 4, 8 and 16; peak RSS of predict and of the SNN
                         sweep  SNN time against T, batch, tokens, width and depth
      --batches LIST   batch sizes of the ann section (default 1,16)
      --seconds S      seconds per measurement (default 3; the sweep uses at most 1)
      --images N       test images of the snn section, in batches of 16 (default 64)
      --model FILE     the QANN of the snn and sweep sections (default models/vit-mnist-relu-qann16.h5)
      --data FILE      its test images (default models/data/mnist-test.h5)
      -h, --help       this text
    """

let args = Array(CommandLine.arguments.dropFirst())
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("spikify-bench: \(message)\n\n\(usage)\n".utf8))
    exit(2)
}
if args.contains("-h") || args.contains("--help") { print(usage); exit(0) }
let flags: Set = ["--sections", "--batches", "--seconds", "--images", "--model", "--data", "--rss-probe", "--batch"]
let options: [String: String] = {
    var options: [String: String] = [:], position = 0
    while position < args.count {
        let flag = args[position]
        guard flags.contains(flag) else { fail("unknown option \(flag)") }
        guard position + 1 < args.count else { fail("\(flag) needs a value") }
        options[flag] = args[position + 1]
        position += 2
    }
    return options
}()
func value(_ flag: String) -> String? { options[flag] }
func positive(_ flag: String, default fallback: Int) -> Int {
    guard let text = value(flag) else { return fallback }
    guard let n = Int(text), n > 0, n <= 1 << 16 else { fail("\(flag) expects a positive integer, got \(text)") }
    return n
}
guard let seconds = Double(value("--seconds") ?? "3"), seconds > 0, seconds <= 600 else {
    fail("--seconds expects a number of seconds in (0, 600], got \(value("--seconds") ?? "")")
}

// Internal: one peak-RSS measurement in a fresh process (the tiny section starts these).
if let kind = value("--rss-probe") {
    do {
        print(String(format: "%.1f", try rssProbe(kind, batch: positive("--batch", default: 4), steps: 8)))
    } catch {
        FileHandle.standardError.write(Data("spikify-bench: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}

let known: Set = ["ann", "snn", "tiny", "sweep"]
let sections = Set((value("--sections") ?? "ann,snn,tiny,sweep").split(separator: ",").map(String.init))
if sections.isEmpty || !sections.isSubset(of: known) {
    fail("--sections expects a list of \(known.sorted().joined(separator: ", ")), got \(value("--sections") ?? "")")
}
let batches = (value("--batches") ?? "1,16").split(separator: ",").map { part -> Int in
    guard let n = Int(part), n > 0, n <= 1024 else { fail("--batches expects positive batch sizes, got \(part)") }
    return n
}
let images = positive("--images", default: 64)
let model = value("--model") ?? "models/vit-mnist-relu-qann16.h5"
let data = value("--data") ?? "models/data/mnist-test.h5"

print("openblas_core \(BLAS.coreName)")
print("linear_kernel \(PackedLinear.kernelName)")
print("blas_threads \(BLAS.threads)")
print("workers \(Parallel.workers)")
if let advice = BLAS.kernelAdvice() { print(advice) }
do {
    if sections.contains("ann") { annSection(batches: batches, seconds: seconds) }
    if sections.contains("snn") {
        try bundledSection(model: model, data: data, batch: 16, images: images, seconds: seconds)
    }
    if sections.contains("tiny") { try tinyStepSection(batch: 4, steps: 8, seconds: seconds) }
    if sections.contains("sweep") { try sweepSection(model: model, data: data, seconds: min(seconds, 1)) }
} catch {
    // A missing or unreadable model or data file: its message names the file and what was expected.
    FileHandle.standardError.write(Data("spikify-bench: \(error)\n".utf8))
    exit(1)
}
