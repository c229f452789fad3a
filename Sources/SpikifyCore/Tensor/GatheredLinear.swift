import Foundation

/// `nn.Linear` on gathered rows that reproduces, bit for bit, the one-GEMM-per-sample call of
/// ``Kernels/linear(_:samples:rowsPerSample:inFeatures:weight:bias:outFeatures:into:)`` (the reference network's).
///
/// Why it needs a check: OpenBLAS picks its kernel by shape (a "small matrix" kernel when `rows × outFeatures` is
/// small, edge code for the rows left over by its tiles), and the order of a dot product's terms can follow, so a
/// row's result can depend on how many rows share the call and where the row sits in it. Gathered calls therefore
/// only have row counts from a fixed set, ``callSizes(weight:bias:inFeatures:outFeatures:rowsPerSample:maximumRows:)``,
/// chosen on this machine (BLAS kernel as configured, one thread as in the spiking executor) with the layer's own
/// weights: a size is accepted only when, in several calls of that size holding rows of many samples in scrambled
/// positions, every row equals its per-sample result. Callers cover their rows with calls of accepted sizes
/// (``coverPlan(sizes:maximumRows:)``: larger calls run closer to the kernel's peak, padding is wasted), pad the last
/// call with copies of a row, and keep one call per sample when no size passes. Evidence: ``GatheredLinearTests``
/// (every position and every accepted size, the layer shapes of the bundled models, and the bundled QANN's SNN bit
/// for bit); `spikify-bench` checks the settled logits of 64 images.
package enum GatheredLinear {
    /// The row counts gathered calls may have for this layer, ascending; empty: one call per sample.
    package static func callSizes(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, inFeatures k: Int,
                                  outFeatures n: Int, rowsPerSample rows: Int, maximumRows: Int) -> [Int] {
        BLAS.withSingleThread {
            candidates(rowsPerSample: rows, maximum: maximumRows).filter {
                reproduces(callRows: $0, weight: weight, bias: bias, k: k, n: n, rows: rows)
            }
        }
    }

    /// Call sizes tried: multiples of 32 from 64 to 256 rows, those that do not exceed `maximum`.
    static func candidates(rowsPerSample rows: Int, maximum: Int) -> [Int] {
        stride(from: 64, through: 256, by: 32).filter { $0 <= maximum }
    }

    /// How to cover any number of rows up to `maximumRows` with calls of the accepted `sizes` (ascending, not
    /// empty): `plan[left]` is the size of the next call when `left` rows remain. The plan minimises the rows
    /// computed, padding included, plus 16 rows for each call (a call's fixed cost: packing the weights, its edges);
    /// so 394 rows with sizes 64…256 take calls of 256 and 160 (22 rows of padding), and more rows than the largest
    /// size take the largest first.
    package static func coverPlan(sizes: [Int], maximumRows: Int) -> [Int] {
        let perCall = 16
        var cost = [Int](repeating: 0, count: maximumRows + 1), plan = cost
        for left in stride(from: 1, through: maximumRows, by: 1) {
            var best = Int.max
            for size in sizes.reversed() {  // larger first: ties go to fewer, larger calls
                let c = size + perCall + (size >= left ? 0 : cost[left - size])
                if c < best { best = c; plan[left] = size }
            }
            cost[left] = best
        }
        return plan
    }

    /// Whether calls of `m` rows, filled with rows of several samples in scrambled positions (every row twice, at
    /// different positions), reproduce every row's per-sample result (rows like spike totals, small integers times
    /// a step, and plain random rows).
    static func reproduces(callRows m: Int, weight w: UnsafePointer<Float>, bias b: UnsafePointer<Float>?,
                           k: Int, n: Int, rows: Int) -> Bool {
        let samples = max(4, m / rows + 1), total = samples * rows
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(k * 31 + n * 7 + rows)
        func next() -> Int64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int64(bitPattern: state >> 11)
        }
        let x = FloatBuffer((0..<(total * k)).map { i in
            (i / k) % 2 == 0 ? Float(next() % 16 - 8) * 0.037 : Float(next() % 2001 - 1000) / 997
        })
        let reference = FloatBuffer(count: total * n)
        Kernels.linear(x.pointer, samples: samples, rowsPerSample: rows, inFeatures: k, weight: w, bias: b,
                       outFeatures: n, into: reference.pointer)
        let gathered = FloatBuffer(count: m * k), out = FloatBuffer(count: m * n)
        // Calls over a permutation of the rows, overlapping by half a call.
        let order = (0..<total).map { ($0 &* 7919 &+ 13) % total }
        let stride = Swift.max(1, m / 2)
        var start = 0
        while start < total {
            let source = (0..<m).map { order[(start + $0) % total] }
            for (i, r) in source.enumerated() { (gathered.pointer + i * k).update(from: x.pointer + r * k, count: k) }
            Kernels.linear(gathered.pointer, rows: m, inFeatures: k, weight: w, bias: b, outFeatures: n,
                           into: out.pointer)
            for (i, r) in source.enumerated()
            where memcmp(out.pointer + i * n, reference.pointer + r * n, n * MemoryLayout<Float>.size) != 0 {
                return false
            }
            start += stride
        }
        return true
    }
}
