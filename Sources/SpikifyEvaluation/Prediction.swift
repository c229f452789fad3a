import SpikifyCore

/// Batched inference over a data set.
public enum Prediction {
    /// Logits `[N, classes]` of `run` over an in-memory data set, in batches of `batchSize`.
    public static func logits(
        of dataset: ImageDataset, batchSize: Int, progress: ((Int, Int) -> Void)? = nil, _ run: (Tensor) -> Tensor
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

    /// Logits of `run` over images `range` of a data file, read one batch at a time, with the labels when the
    /// file has them.
    public static func logits(
        of reader: ImageDatasetReader, range: Range<Int>, batchSize: Int, progress: ((Int, Int) -> Void)? = nil,
        _ run: (Tensor) -> Tensor
    ) throws -> (logits: Tensor, labels: [Int]?) {
        var all: [Float] = [], labels: [Int]? = reader.hasLabels ? [] : nil
        var classes = 0
        for start in stride(from: range.lowerBound, to: range.upperBound, by: max(1, batchSize)) {
            let batch = start..<min(range.upperBound, start + max(1, batchSize))
            let data = try reader.read(batch)
            let out = run(data.images)
            classes = out.shape[1]
            all += out.scalars
            if let l = data.labels { labels? += l }
            progress?(batch.upperBound - range.lowerBound, range.count)
        }
        return (Tensor(shape: [range.count, classes], scalars: all), labels)
    }
}
