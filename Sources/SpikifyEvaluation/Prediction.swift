import SpikifyCore
import SpikifyModel
import SpikifySpiking
import SpikifyConversion

/// Batched inference over a dataset.
public enum Prediction {
    /// Logits `[N, classes]` of `run` over `dataset` in batches of `batchSize`.
    public static func logits(
        of dataset: ImageDataset, batchSize: Int, progress: ((Int, Int) -> Void)? = nil,
        _ run: (Tensor) -> Tensor
    ) -> Tensor {
        var all: [Float] = []
        var classes = 0
        let n = dataset.count
        for start in stride(from: 0, to: n, by: max(1, batchSize)) {
            let end = min(n, start + batchSize)
            let out = run(dataset.batch(start..<end))
            classes = out.shape[1]
            all += out.scalars
            progress?(end, n)
        }
        return Tensor(shape: [n, classes], scalars: all)
    }

    /// Fraction of rows whose argmax equals the label.
    public static func accuracy(_ logits: Tensor, labels: [Int]) -> Double {
        agreement(logits.argmaxRows(), labels)
    }

    /// Fraction of positions where two label lists agree.
    public static func agreement(_ a: [Int], _ b: [Int]) -> Double {
        precondition(a.count == b.count)
        guard !a.isEmpty else { return 0 }
        return Double(zip(a, b).filter { $0 == $1 }.count) / Double(a.count)
    }
}
