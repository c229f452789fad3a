import Foundation

/// `nn.Linear` on a gathered subset of rows that reproduces, bit for bit, the one-GEMM-per-sample call of
/// ``Kernels/linear(_:samples:rowsPerSample:inFeatures:weight:bias:outFeatures:into:)`` (the reference network's).
///
/// Why it needs a check: OpenBLAS picks its kernel by shape (for example a "small matrix" kernel when
/// `rows × outFeatures` is small, which sums each dot product in another order), so a row's result can depend on
/// how many rows share the call. With the blocked kernel every element is the same sequence of operations
/// whatever the row count (blocking splits rows and columns, never the order over the inner dimension), so
/// gathering only the rows that changed — from any samples — gives the per-sample results once the call has
/// enough rows to avoid the shape-dependent kernels. ``minimumRows(inFeatures:outFeatures:rowsPerSample:)``
/// measures that row count for a shape on this machine's BLAS (kernel and thread count as they are), by
/// comparing gathered calls of many sizes and row positions with per-sample calls; callers pad smaller calls to it,
/// and keep one call per sample when no row count up to a few samples agrees (``GatheredLinearTests`` sweeps
/// every row count for the shapes of the bundled models).
package enum GatheredLinear {
    private struct Shape: Hashable { let k, n, rows: Int }
    private nonisolated(unsafe) static var measured: [Shape: Int?] = [:]
    private static let lock = NSLock()

    /// The smallest row count `m₀` such that gathered calls of every tested size ≥ `m₀` reproduce the per-sample
    /// results bit for bit (nil: none does; keep one call per sample). Measured once per shape and process.
    package static func minimumRows(inFeatures k: Int, outFeatures n: Int, rowsPerSample rows: Int) -> Int? {
        let shape = Shape(k: k, n: n, rows: rows)
        lock.lock()
        defer { lock.unlock() }
        if let known = measured[shape] { return known }
        let m0 = measure(shape)
        measured[shape] = m0
        return m0
    }

    /// Row counts tried: every small count, then sizes around one, two and several samples.
    static func candidates(rowsPerSample rows: Int) -> [Int] {
        var m = Array(1...16) + [20, 24, 31, 32, 40, 48, 63, 64, 96, 128]
        m += [rows - 1, rows, rows + 1, 2 * rows - 1, 2 * rows + 3, 3 * rows + 5, 4 * rows]
        return Array(Set(m.filter { $0 >= 1 && $0 <= 4 * rows })).sorted()
    }

    private static func measure(_ shape: Shape) -> Int? {
        let k = shape.k, n = shape.n, rows = shape.rows, samples = 4
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(k * 31 + n * 7 + rows)
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 997
        }
        let x = FloatBuffer((0..<(samples * rows * k)).map { _ in next() })
        let w = FloatBuffer((0..<(n * k)).map { _ in next() * 0.05 })
        let b = FloatBuffer((0..<n).map { _ in next() })
        let reference = FloatBuffer(count: samples * rows * n)
        Kernels.linear(x.pointer, samples: samples, rowsPerSample: rows, inFeatures: k, weight: w.pointer,
                       bias: b.orNil, outFeatures: n, into: reference.pointer)
        let all = candidates(rowsPerSample: rows)
        let gathered = FloatBuffer(count: all.last! * k), out = FloatBuffer(count: all.last! * n)
        var passing = [Bool]()
        for m in all {
            // Rows from all samples, in a scrambled order, so positions within the call vary too.
            let source = (0..<m).map { (($0 &* 7919) &+ m) % (samples * rows) }
            for (i, r) in source.enumerated() { (gathered.pointer + i * k).update(from: x.pointer + r * k, count: k) }
            Kernels.linear(gathered.pointer, rows: m, inFeatures: k, weight: w.pointer, bias: b.orNil,
                           outFeatures: n, into: out.pointer)
            var same = true
            for (i, r) in source.enumerated() where same {
                same = memcmp(out.pointer + i * n, reference.pointer + r * n, n * MemoryLayout<Float>.size) == 0
            }
            passing.append(same)
        }
        guard passing.last == true else { return nil }
        var first = all.count - 1
        while first > 0 && passing[first - 1] { first -= 1 }
        return all[first]
    }
}
