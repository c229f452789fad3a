// Hot elementwise kernels of Spikify in C, compiled for several x86-64 levels at once (function multiversioning:
// the loader picks the AVX-512, AVX2 or baseline clone for the CPU it runs on; docs/performance.md, "Vector width").
// Swift code is compiled for baseline x86-64 (SSE2) and cannot use wider vectors by itself.
//
// Every kernel computes each element with exactly the operations, in exactly the order, of its Swift definition
// (floating-point contraction off, no reassociation), so every clone gives the same bits; tests compare them with
// the Swift definitions element for element (KernelTests, NeuronTests).
#ifndef SPIKIFY_SIMD_H
#define SPIKIFY_SIMD_H

#include <stdint.h>

/// Lanes of the softmax's partial sums (part of its definition: `Kernels.softmax`).
#define SPK_SOFTMAX_LANES 16

/// Softmax along rows of `width` floats, max-subtracted, in place (`Kernels.softmax`).
void spk_softmax_rows(float *x, long rows, long width);

/// GELU with Abramowitz–Stegun erf, in place (`Kernels.gelu`).
void spk_gelu(float *x, long count);

/// Sums of one ST-BIF+ step over some rows (`spk_stbif_rows`, for `STBIFLayer`'s statistics).
typedef struct {
    uint32_t spikes;   ///< Σ|k|
    uint32_t events;   ///< neurons with k ≠ 0
    uint32_t largest;  ///< max |k|
} spk_fire_sums;

/// Where `spk_stbif_rows` finds the counts S: recovered from the totals as `S = round(total·(1/θ))` (exact when θ and
/// 1/θ are normal floats, |S| < 2²¹ and S·θ is finite: then `total·(1/θ)` is within |S|·(3·2⁻²⁴ + 2⁻⁴⁶) < 0.4 of S,
/// which the caller checks), in a float buffer, in an int8 buffer that replaces the totals (none are written), or in a
/// byte buffer that replaces the totals and the levels (`SPK_COUNTS_NIBBLES`, at most 16 levels: `upper − lower ≤
/// 15`): each byte holds the count's code `S − lower` in its high 4 bits and the level's `L − lower` in its low 4
/// bits, and a neuron at the NaN level keeps its count as its level (at which it does not fire either).
enum { SPK_COUNTS_FROM_TOTALS = 0, SPK_COUNTS_FLOAT = 4, SPK_COUNTS_INT8 = 1, SPK_COUNTS_NIBBLES = 2 };

/// One step of `rows` consecutive rows of `width` ST-BIF+ neurons from their settle levels
/// `L = clamp(floor(x/θ + 0.5), lower, upper)` (`lower − 1` for a NaN drive): the spike is `clamp(L − S, −B, B)`,
/// 0 at the NaN level (`STBIFNeuron.fireAtLevel`; for finite drives the spikes of `STBIFNeuron.fire` on the membrane
/// `x/θ + 0.5 − S` with single spikes, and its settled count for every B). Updates the counts (`count`, of
/// `countKind`), writes `total = S·θ` (unless the counts are bytes) and `increment = k·θ`, and `fired[r]` = 1 when a
/// neuron of row r spiked. `burst` < 2²².
///
/// `levels` holds one level per neuron, `levelBytes` 1 (int8: bounds within −127…127) or 4 (int32); with
/// `SPK_COUNTS_NIBBLES` the levels are in the counts' bytes and `levels` is not used. With `x` the
/// input totals of these rows the levels are computed from them and stored; with `x` NULL (the input did not
/// change) they are read.
/// With `increment` NULL the increments are not written (nobody reads them).
spk_fire_sums spk_stbif_rows(const float *x, void *levels, long levelBytes, void *count, long countKind,
                             float *total, float *increment, long rows, long width, float theta, float lower,
                             float upper, float burst, uint8_t *fired);

/// `out[i] = counts[i]·unit`: totals kept as int8 counts of a unit, as floats (the producer's `S·θ`, bit for bit).
void spk_counts_to_floats(const int8_t *counts, float unit, float *out, long n);

/// `out[i] = ((codes[i] >> 4) + base)·unit` for n bytes: totals kept as counts in the high halves of bytes
/// (`SPK_COUNTS_NIBBLES`, codes from `base`), as floats (the producer's `S·θ`, bit for bit).
void spk_nibble_counts_to_floats(const uint8_t *codes, int base, float unit, float *out, long n);

/// `out[i] = table[codes[i] >> 4]` for n bytes: totals kept as counts in the high halves of bytes
/// (`SPK_COUNTS_NIBBLES`), `table` holding the 16 floats their codes stand for (`ValueSlot.nibbleTable`).
void spk_nibble_lookup(const uint8_t *codes, const float *table, float *out, long n);

/// `out[i] = table[codes[i]]` for n int8 codes, `table` pointing at the entry of code 0 (entries −128…127 around
/// it): a value read through a table of its source's counts (`ValueSlot.countTable`).
void spk_table_lookup(const int8_t *codes, const float *table, float *out, long n);

/// A row rewritten in place: `increment[j] = total[j] − increment[j]` (the increment held the old total); returns
/// how many differences are non-zero (`ValueSlot.finishRow`).
long spk_finish_row(const float *total, float *increment, long width);

/// A row set to `fresh`: `increment[j] = fresh[j] − total[j]` (skipped when `increment` is NULL),
/// `total[j] = fresh[j]`; returns how many differences are non-zero (`ValueSlot.updateRow`, `rewriteRow`).
long spk_update_row(float *total, float *increment, const float *fresh, long width);

/// How many of `x[0..<n]` are non-zero (`ValueSlot.nonZeroIncrements`).
long spk_count_nonzero(const float *x, long n);

/// Whether the calling thread runs its data-parallel loops inline (`Parallel.inline`): a thread-local flag, set by
/// work that is itself one of several running in parallel.
int spk_thread_inline(void);
void spk_set_thread_inline(int value);

// Packed GEMM (packed_gemm.c): `nn.Linear` on weights packed once, in panels of SPK_PACKED_PANEL output columns
// (`[panel][inFeatures][SPK_PACKED_PANEL]`, zero-padded), for every forward pass (float ANN, QANN, calibration) and
// the spiking executor's linear layers on CPUs with AVX-512 or AVX2. OpenBLAS packs the weights again at every call,
// 10–15% of a ViT-Tiny layer's time at one image, and its API cannot keep them packed. The exception to the rule
// above: no Swift definition to mirror (the networks are held to PyTorch within a tolerance, and the spiking executor
// reproduces the QANN by calling this same kernel), multiply and add fused, x86-64 with AVX2 and FMA or AVX-512.

/// Output columns per packed panel.
#define SPK_PACKED_PANEL 32

/// Floats of a packed `[outFeatures, inFeatures]` weight.
long spk_packed_floats(long outFeatures, long inFeatures);

/// Packs `w` (`[outFeatures, inFeatures]`, PyTorch's layout) into `packed` (`spk_packed_floats` floats).
void spk_pack_weights(const float *w, long outFeatures, long inFeatures, float *packed);

/// Whether `packed` holds `w` (`[outFeatures, inFeatures]`) as `spk_pack_weights` packs it, bit for bit.
int spk_packed_equals(const float *w, long outFeatures, long inFeatures, const float *packed);

/// Which kernel `spk_packed_linear` runs on this CPU: 2 (AVX-512F), 1 (AVX2 and FMA: the same bits), 0 (none: the
/// callers use OpenBLAS).
int spk_packed_linear_available(void);

/// `y[r, n] = bias[n] + Σ_k x[r, k]·W[n, k]` for the output columns of panels `firstPanel..<endPanel`, `x`
/// `[rows, inFeatures]` and `y` `[rows, outFeatures]` row-major, each sum in order of k with fused multiply-adds (so
/// a row's result depends neither on the other rows nor on its position); `bias` may be NULL.
void spk_packed_linear(const float *x, long rows, long inFeatures, const float *packed, const float *bias,
                       long outFeatures, long firstPanel, long endPanel, float *y);

/// `spk_packed_linear` on the kernel `kernel` (1: AVX2, 2: AVX-512F) where this CPU runs it (returns 1), else
/// nothing (returns 0): the tests compare the two kernels' bits on CPUs that run both.
int spk_packed_linear_on(int kernel, const float *x, long rows, long inFeatures, const float *packed,
                         const float *bias, long outFeatures, long firstPanel, long endPanel, float *y);

#endif
