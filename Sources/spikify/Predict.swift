import ArgumentParser
import Foundation
import HDF5
import Spikify

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the float ANN on a dataset and write its logits.",
        discussion: "Writes dataset 'logits' (float32 [N, classes]) to --out; prints the accuracy when the data has labels.")

    @Option(help: "Model file (HDF5).")
    var model: String

    @Option(help: "Dataset file (HDF5 with 'images' and optional 'labels').")
    var data: String

    @Option(help: "Output file for the logits (HDF5); written atomically.")
    var out: String

    @Option(name: .customLong("batch-size"), help: "Images per batch.")
    var batchSize = 16

    @OptionGroup var overrides: ModelOverrides

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        let m = try ViTImporter.load(model, options: overrides.importOptions)
        let reader = try ImageDatasetReader(data, for: m.config)
        let forward = ViTForward(m)
        let bar = ProgressBar("predict")
        let start = Date()
        let (logits, labels) = try Prediction.logits(of: reader, range: 0..<reader.count, batchSize: batchSize,
                                                     progress: bar.update) { forward.logits($0) }
        let seconds = Date().timeIntervalSince(start)
        if logits.scalars.contains(where: { !$0.isFinite }) {
            // Find the first batch with non-finite logits and name where they first appear.
            for s in stride(from: 0, to: reader.count, by: batchSize) {
                let images = try reader.images(s..<min(reader.count, s + batchSize))
                try forward.checkFinite(forward.logits(images), images: images, network: "ANN", file: model)
            }
        }
        try LogitsFile.write(logits, to: out)
        print("wrote \(out): logits [\(logits.shape[0]), \(logits.shape[1])]")
        if let labels {
            let correct = zip(logits.argmaxRows(), labels).filter { $0 == $1 }.count
            print(String(format: "accuracy %.2f%% (%d/%d)", 100 * Double(correct) / Double(labels.count), correct, labels.count))
        }
        note(String(format: "%.1f images/s (batch %d, BLAS %@)", Double(reader.count) / seconds, batchSize, BLAS.coreName))
        if let advice = BLAS.kernelAdvice() { note(advice) }
    }
}
