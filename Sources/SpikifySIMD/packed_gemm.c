// Linear layers on weights packed once (include/spikify_simd.h, "Packed GEMM"). Unlike simd.c, these kernels do not
// mirror a Swift definition: the networks that run them are held to PyTorch's results within a tolerance, and the
// spiking executor reproduces the QANN's by calling the same kernel (a row's sums never depend on the call), so the
// kernels fuse multiply and add. The AVX-512 and the AVX2 kernel compute every output with the same operations in
// the same order, so they give the same bits.
#include "spikify_simd.h"
#include <string.h>

#define PANEL SPK_PACKED_PANEL

long spk_packed_floats(long outFeatures, long inFeatures) {
    return (outFeatures + PANEL - 1) / PANEL * PANEL * inFeatures;
}

void spk_pack_weights(const float *w, long outFeatures, long inFeatures, float *packed) {
    const long panels = (outFeatures + PANEL - 1) / PANEL;
    for (long q = 0; q < panels; q++)
        for (long k = 0; k < inFeatures; k++)
            for (long j = 0; j < PANEL; j++) {
                const long n = q * PANEL + j;
                packed[(q * inFeatures + k) * PANEL + j] = n < outFeatures ? w[n * inFeatures + k] : 0;
            }
}

int spk_packed_equals(const float *w, long outFeatures, long inFeatures, const float *packed) {
    const long panels = (outFeatures + PANEL - 1) / PANEL;
    for (long q = 0; q < panels; q++)
        for (long k = 0; k < inFeatures; k++)
            for (long j = 0; j < PANEL; j++) {
                const long n = q * PANEL + j;
                const float want = n < outFeatures ? w[n * inFeatures + k] : 0;
                if (memcmp(&want, &packed[(q * inFeatures + k) * PANEL + j], sizeof want) != 0) return 0;
            }
    return 1;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define SPK_HAVE_AVX512_GEMM 1

enum { MR = 12 };  // rows per block: 12 rows × 2 vectors of 16 columns = 24 accumulators of the 32 registers

/// `mr` (≤ MR) rows of `a` times one panel of 32 packed columns, plus the bias, into `c` (masked to `cols`). Each
/// output is `bias + Σ_i a[r, i]·b[i]`, the sum in order of i with fused multiply-adds, whatever `mr` is. The
/// accumulators are named variables, not an array, so that the compiler keeps them in registers.
#define SPK_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
static inline __attribute__((always_inline, target("avx512f")))
void block_avx512(const int mr, const float *a, long lda, const float *b, long k, float *c, long ldc,
                  const float *bias, long cols) {
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
#define SPK_ZERO(r) __m512 lo##r = _mm512_setzero_ps(), hi##r = _mm512_setzero_ps();
    SPK_ROWS(SPK_ZERO)
#undef SPK_ZERO
    for (long i = 0; i < k; i++) {
        const __m512 b0 = _mm512_loadu_ps(b + i * PANEL), b1 = _mm512_loadu_ps(b + i * PANEL + 16);
#define SPK_FMA(r) if (r < mr) { const __m512 x = _mm512_set1_ps(a[r * lda + i]); \
                                  lo##r = _mm512_fmadd_ps(x, b0, lo##r); hi##r = _mm512_fmadd_ps(x, b1, hi##r); }
        SPK_ROWS(SPK_FMA)
#undef SPK_FMA
    }
    const __m512 bias0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    const __m512 bias1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#define SPK_STORE(r) if (r < mr) { _mm512_mask_storeu_ps(c + r * ldc, m0, _mm512_add_ps(bias0, lo##r)); \
                                    _mm512_mask_storeu_ps(c + r * ldc + 16, m1, _mm512_add_ps(bias1, hi##r)); }
    SPK_ROWS(SPK_STORE)
#undef SPK_STORE
}
#undef SPK_ROWS

/// `mr` (≤ 6) rows of `a` times two adjacent panels (`b`, and `b + k·PANEL` for the next), 33…64 columns (`cols`),
/// plus the bias, into `c`: the same sums as `block_avx512`, in the same order. Six rows of four vectors are 24
/// accumulators as well, but each step of k needs six broadcasts instead of twelve, and six row pointers fit the
/// general-purpose registers, so the loop spends its instructions on multiply-adds (10–20% faster than two
/// 12-row blocks in a C harness on the ViT shapes, one thread).
#define SPK_ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)  // (the AVX2 kernel's blocks have six rows too)
static inline __attribute__((always_inline, target("avx512f")))
void pair_block_avx512(const int mr, const float *a, long lda, const float *b, long k, float *c, long ldc,
                       const float *bias, long cols) {
    const float *b2 = b + k * PANEL;
    const __mmask16 m2 = cols >= 48 ? 0xFFFF : cols <= 32 ? 0 : (__mmask16)((1u << (cols - 32)) - 1);
    const __mmask16 m3 = cols >= 64 ? 0xFFFF : cols <= 48 ? 0 : (__mmask16)((1u << (cols - 48)) - 1);
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
#define SPK_ZERO(r) __m512 v0##r = _mm512_setzero_ps(), v1##r = _mm512_setzero_ps(), \
                           v2##r = _mm512_setzero_ps(), v3##r = _mm512_setzero_ps();
    SPK_ROWS6(SPK_ZERO)
#undef SPK_ZERO
#pragma clang loop unroll_count(2)
    for (long i = 0; i < k; i++) {
        const __m512 b0 = _mm512_loadu_ps(b + i * PANEL), b1 = _mm512_loadu_ps(b + i * PANEL + 16);
        const __m512 b20 = _mm512_loadu_ps(b2 + i * PANEL), b21 = _mm512_loadu_ps(b2 + i * PANEL + 16);
#define SPK_FMA(r) if (r < mr) { const __m512 x = _mm512_set1_ps(a##r[i]); \
                                  v0##r = _mm512_fmadd_ps(x, b0, v0##r); v1##r = _mm512_fmadd_ps(x, b1, v1##r); \
                                  v2##r = _mm512_fmadd_ps(x, b20, v2##r); v3##r = _mm512_fmadd_ps(x, b21, v3##r); }
        SPK_ROWS6(SPK_FMA)
#undef SPK_FMA
    }
    const __m512 bias0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    const __m512 bias1 = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
    const __m512 bias2 = bias ? _mm512_maskz_loadu_ps(m2, bias + 32) : _mm512_setzero_ps();
    const __m512 bias3 = bias ? _mm512_maskz_loadu_ps(m3, bias + 48) : _mm512_setzero_ps();
#define SPK_STORE(r) if (r < mr) { _mm512_storeu_ps(c + r * ldc, _mm512_add_ps(bias0, v0##r)); \
                                    _mm512_storeu_ps(c + r * ldc + 16, _mm512_add_ps(bias1, v1##r)); \
                                    _mm512_mask_storeu_ps(c + r * ldc + 32, m2, _mm512_add_ps(bias2, v2##r)); \
                                    _mm512_mask_storeu_ps(c + r * ldc + 48, m3, _mm512_add_ps(bias3, v3##r)); }
    SPK_ROWS6(SPK_STORE)
#undef SPK_STORE
}

/// Panels two at a time in blocks of 6 rows (`pair_block_avx512`), a last odd panel in blocks of 12
/// (`block_avx512`); every output gets the same sum either way.
__attribute__((target("avx512f")))
static void linear_avx512(const float *x, long rows, long k, const float *packed, const float *bias, long n,
                          long firstPanel, long endPanel, float *y) {
    long q = firstPanel;
    for (; q + 1 < endPanel; q += 2) {
        const long cols = n - q * PANEL < 2 * PANEL ? n - q * PANEL : 2 * PANEL;
        const float *b = packed + q * k * PANEL, *bq = bias ? bias + q * PANEL : 0;
        long r = 0;
        for (; r + 6 <= rows; r += 6) pair_block_avx512(6, x + r * k, k, b, k, y + r * n + q * PANEL, n, bq, cols);
        switch (rows - r) {  // one specialisation per leftover row count
#define SPK_TAIL(m) case m: pair_block_avx512(m, x + r * k, k, b, k, y + r * n + q * PANEL, n, bq, cols); break;
            SPK_TAIL(1) SPK_TAIL(2) SPK_TAIL(3) SPK_TAIL(4) SPK_TAIL(5)
#undef SPK_TAIL
            default: break;
        }
    }
    for (; q < endPanel; q++) {
        const long cols = n - q * PANEL < PANEL ? n - q * PANEL : PANEL;
        const float *b = packed + q * k * PANEL, *bq = bias ? bias + q * PANEL : 0;
        long r = 0;
        for (; r + MR <= rows; r += MR) block_avx512(MR, x + r * k, k, b, k, y + r * n + q * PANEL, n, bq, cols);
        switch (rows - r) {  // one specialisation per leftover row count
#define SPK_TAIL(m) case m: block_avx512(m, x + r * k, k, b, k, y + r * n + q * PANEL, n, bq, cols); break;
            SPK_TAIL(1) SPK_TAIL(2) SPK_TAIL(3) SPK_TAIL(4) SPK_TAIL(5) SPK_TAIL(6)
            SPK_TAIL(7) SPK_TAIL(8) SPK_TAIL(9) SPK_TAIL(10) SPK_TAIL(11)
#undef SPK_TAIL
            default: break;
        }
    }
}

/// `mr` (≤ 6) rows of `a` times 16 columns of a packed panel (`b` points at the first of them in row 0 of the
/// panel), plus the bias, into `c` (masked to `cols` ≤ 16): the sums of `block_avx512`, in the same order, with
/// 8-float vectors. Six rows of two vectors are 12 accumulators, which with two weight vectors and a broadcast fit
/// AVX2's 16 registers.
static inline __attribute__((always_inline, target("avx2,fma")))
void block_avx2(const int mr, const float *a, long lda, const float *b, long k, float *c, long ldc,
                const float *bias, long cols) {
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
#define SPK_ZERO(r) __m256 lo##r = _mm256_setzero_ps(), hi##r = _mm256_setzero_ps();
    SPK_ROWS6(SPK_ZERO)
#undef SPK_ZERO
    for (long i = 0; i < k; i++) {
        const __m256 b0 = _mm256_loadu_ps(b + i * PANEL), b1 = _mm256_loadu_ps(b + i * PANEL + 8);
#define SPK_FMA(r) if (r < mr) { const __m256 x = _mm256_broadcast_ss(a##r + i); \
                                  lo##r = _mm256_fmadd_ps(x, b0, lo##r); hi##r = _mm256_fmadd_ps(x, b1, hi##r); }
        SPK_ROWS6(SPK_FMA)
#undef SPK_FMA
    }
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cols), lane);
    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cols - 8), lane);
    const __m256 bias0 = bias ? _mm256_maskload_ps(bias, m0) : _mm256_setzero_ps();
    const __m256 bias1 = bias ? _mm256_maskload_ps(bias + 8, m1) : _mm256_setzero_ps();
    if (cols >= 16) {
#define SPK_STORE(r) if (r < mr) { _mm256_storeu_ps(c + r * ldc, _mm256_add_ps(bias0, lo##r)); \
                                    _mm256_storeu_ps(c + r * ldc + 8, _mm256_add_ps(bias1, hi##r)); }
        SPK_ROWS6(SPK_STORE)
#undef SPK_STORE
    } else {
#define SPK_STORE(r) if (r < mr) { _mm256_maskstore_ps(c + r * ldc, m0, _mm256_add_ps(bias0, lo##r)); \
                                    _mm256_maskstore_ps(c + r * ldc + 8, m1, _mm256_add_ps(bias1, hi##r)); }
        SPK_ROWS6(SPK_STORE)
#undef SPK_STORE
    }
}
#undef SPK_ROWS6

/// Each panel in two halves of 16 columns, each in blocks of 6 rows (`block_avx2`).
__attribute__((target("avx2,fma")))
static void linear_avx2(const float *x, long rows, long k, const float *packed, const float *bias, long n,
                        long firstPanel, long endPanel, float *y) {
    for (long q = firstPanel; q < endPanel; q++) {
        for (long half = 0; half < 2; half++) {
            const long first = q * PANEL + half * 16;
            if (first >= n) break;
            const long cols = n - first < 16 ? n - first : 16;
            const float *b = packed + q * k * PANEL + half * 16, *bq = bias ? bias + first : 0;
            long r = 0;
            for (; r + 6 <= rows; r += 6) block_avx2(6, x + r * k, k, b, k, y + r * n + first, n, bq, cols);
            switch (rows - r) {  // one specialisation per leftover row count
#define SPK_TAIL(m) case m: block_avx2(m, x + r * k, k, b, k, y + r * n + first, n, bq, cols); break;
                SPK_TAIL(1) SPK_TAIL(2) SPK_TAIL(3) SPK_TAIL(4) SPK_TAIL(5)
#undef SPK_TAIL
                default: break;
            }
        }
    }
}
#endif

/// The kernel this CPU runs: 2 (AVX-512F), 1 (AVX2 and FMA), 0 (none). Asked once: every linear layer's call
/// reads it (a relaxed atomic; racing first callers store the same value).
static int packed_kernel(void) {
    static int known = -1;
    int kernel = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (kernel >= 0) return kernel;
    kernel = 0;
#ifdef SPK_HAVE_AVX512_GEMM
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) kernel = 2;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) kernel = 1;
#endif
    __atomic_store_n(&known, kernel, __ATOMIC_RELAXED);
    return kernel;
}

int spk_packed_linear_available(void) { return packed_kernel(); }

void spk_packed_linear(const float *x, long rows, long inFeatures, const float *packed, const float *bias,
                       long outFeatures, long firstPanel, long endPanel, float *y) {
    if (!spk_packed_linear_on(packed_kernel(), x, rows, inFeatures, packed, bias, outFeatures, firstPanel, endPanel,
                              y)) {
        __builtin_trap();  // callers check spk_packed_linear_available() first
    }
}

int spk_packed_linear_on(int kernel, const float *x, long rows, long inFeatures, const float *packed,
                         const float *bias, long outFeatures, long firstPanel, long endPanel, float *y) {
    if (kernel < 1 || kernel > packed_kernel()) return 0;
#ifdef SPK_HAVE_AVX512_GEMM
    // Blocks of rows whose inputs stay in cache while the panels of the weights pass by.
    enum { ROW_BLOCK = 240 };
    const int avx512 = kernel == 2;
    for (long r = 0; r < rows; r += ROW_BLOCK) {
        const long m = rows - r < ROW_BLOCK ? rows - r : ROW_BLOCK;
        if (avx512) {
            linear_avx512(x + r * inFeatures, m, inFeatures, packed, bias, outFeatures, firstPanel, endPanel,
                          y + r * outFeatures);
        } else {
            linear_avx2(x + r * inFeatures, m, inFeatures, packed, bias, outFeatures, firstPanel, endPanel,
                        y + r * outFeatures);
        }
    }
    return 1;
#else
    (void)x; (void)rows; (void)inFeatures; (void)packed; (void)bias; (void)outFeatures; (void)firstPanel;
    (void)endPanel; (void)y;
    return 0;
#endif
}
