import CBLAS
import Foundation

/// Thin access to OpenBLAS: single-precision GEMM and thread control.
public enum BLAS {
    /// The OpenBLAS kernel in use (`openblas_get_corename()`), to be reported with every timing.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// A warning with its fix when OpenBLAS runs a kernel older than the CPU: a generic or SSE-era core (say
    /// `Prescott`, which an OpenBLAS older than the CPU falls back to) on a CPU whose `/proc/cpuinfo` flags list
    /// AVX-512 or AVX2, where GEMMs run several times slower. Nil when the kernel fits or the flags are unknown.
    /// Spikify never sets `OPENBLAS_CORETYPE` itself; the user chooses to.
    public static func kernelAdvice(cpuFlags: Set<String>? = cpuFlags(), core: String = coreName) -> String? {
        guard let flags = cpuFlags else { return nil }
        let name = core.lowercased()
        let avx512Cores = ["skylakex", "cooperlake", "sapphirerapids"]
        let suggestion: String
        if flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl") {
            guard !avx512Cores.contains(name) else { return nil }
            suggestion = flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        } else if flags.contains("avx2") && flags.contains("fma") {
            guard !(avx512Cores + ["haswell", "zen"]).contains(name) else { return nil }
            suggestion = "Haswell"
        } else {
            return nil
        }
        let isa = suggestion == "Haswell" ? "AVX2" : "AVX-512"
        return "warning: OpenBLAS runs its \(core) kernel on a CPU with \(isa), so matrix products run several "
            + "times slower than they can (this OpenBLAS does not recognise the CPU). Fix: export "
            + "OPENBLAS_CORETYPE=\(suggestion) before running (or install a newer OpenBLAS)."
    }

    /// The CPU flags of the first processor in `/proc/cpuinfo` (nil where there is none).
    public static func cpuFlags() -> Set<String>? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":")
        else { return nil }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }

    /// Row-major `C = alpha · op(A) · op(B) + beta · C` with `op(A)` of shape `[m, k]` and `op(B)` of shape `[k, n]`.
    @inline(__always)
    package static func gemm(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Runs `body` with OpenBLAS limited to one thread, for regions that parallelise over work items themselves.
    package static func withSingleThread<R>(_ body: () throws -> R) rethrows -> R {
        let previous = threads
        if previous == 1 { return try body() }
        threads = 1
        defer { threads = previous }
        return try body()
    }
}
