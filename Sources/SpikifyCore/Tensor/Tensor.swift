/// A dense, row-major Float32 tensor.
///
/// Storage is a Swift array (copy-on-write); hot loops go through `withUnsafe…` buffers and BLAS.
/// Shapes follow PyTorch conventions (`[out, in]` for linear weights, `[N, C, H, W]` for images).
public struct Tensor: Sendable, Equatable {
    public private(set) var shape: [Int]
    public var scalars: [Float]

    public init(shape: [Int], scalars: [Float]) {
        // Callers pass computed shapes; tensors read from files take the dataset's own shape and element count.
        precondition(shape.reduce(1, *) == scalars.count, "Tensor: \(scalars.count) values do not fill shape \(shape)")
        self.shape = shape
        self.scalars = scalars
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { scalars.count }
    public var rank: Int { shape.count }

    /// Rows `range` of the leading dimension.
    public func slice(rows range: Range<Int>) -> Tensor {
        let rowSize = shape.dropFirst().reduce(1, *)
        var s = shape
        s[0] = range.count
        return Tensor(shape: s, scalars: Array(scalars[(range.lowerBound * rowSize)..<(range.upperBound * rowSize)]))
    }

    /// Index of the largest value in each row of a `[rows, columns]` tensor (first one on ties, like `torch.argmax`).
    public func argmaxRows() -> [Int] {
        precondition(rank == 2)
        let columns = shape[1]
        return (0..<shape[0]).map { r in
            var best = 0
            var bestValue = -Float.infinity
            for c in 0..<columns where scalars[r * columns + c] > bestValue {
                bestValue = scalars[r * columns + c]
                best = c
            }
            return best
        }
    }

    /// Largest absolute elementwise difference to `other` (same shape).
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "maxAbsDifference: shapes \(shape) and \(other.shape)")
        var m: Float = 0
        for i in 0..<count { m = max(m, abs(scalars[i] - other.scalars[i])) }
        return m
    }
}
