// See include/spikify_simd.h. Each function mirrors a Swift definition operation for operation.
#include "spikify_simd.h"
#include <string.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

// ThreadSanitizer instruments the clones' resolver, which the loader runs before the sanitizer is set up (`make
// test-tsan` builds the baseline only: every clone gives the same bits).
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SPK_SINGLE_BUILD 1
#endif
#endif

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__) && !defined(SPK_SINGLE_BUILD)
#define SPK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SPK_CLONES
#endif

static inline float bits_to_float(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static inline uint32_t float_to_bits(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

/// `Elementary.exp`: Cephes-style range reduction and polynomial.
static inline float spk_exp(float x) {
    float c = x < -87.33654f ? -87.33654f : (x > 88.0f ? 88.0f : x);
    float t = c * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = c - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float er = p * r * r + r + 1;
    int32_t exponent = (int32_t)float_to_bits(t) - 0x4B400000 + 127;
    return er * bits_to_float((uint32_t)exponent << 23);
}

/// `Elementary.erf`: Abramowitz & Stegun 7.1.26.
static inline float spk_erf(float x) {
    float a = x < 0 ? -x : x;
    float t = 1 / (1 + 0.3275911f * a);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    float y = 1 - p * t * spk_exp(-a * a);
    return x < 0 ? -y : y;
}

SPK_CLONES
void spk_softmax_rows(float *x, long rows, long width) {
    enum { L = SPK_SOFTMAX_LANES };
    for (long r = 0; r < rows; r++) {
        float *xr = x + r * width;
        const long whole = width / L * L;
        // The maximum, lane by lane and then across lanes (the same number in any order, NaN aside).
        float lanes[L];
        for (int l = 0; l < L; l++) lanes[l] = -__builtin_inff();
        for (long j = 0; j < whole; j += L)
            for (int l = 0; l < L; l++) lanes[l] = lanes[l] > xr[j + l] ? lanes[l] : xr[j + l];
        float m = -__builtin_inff();
        for (int l = 0; l < L; l++) m = m > lanes[l] ? m : lanes[l];
        for (long j = whole; j < width; j++) m = m > xr[j] ? m : xr[j];
        for (long j = 0; j < width; j++) xr[j] = spk_exp(xr[j] - m);
        // Lane sums in order, the tail into lane 0, then halves folded onto halves.
        for (int l = 0; l < L; l++) lanes[l] = 0;
        for (long j = 0; j < whole; j += L)
            for (int l = 0; l < L; l++) lanes[l] += xr[j + l];
        for (long j = whole; j < width; j++) lanes[0] += xr[j];
        for (int half = L / 2; half >= 1; half /= 2)
            for (int l = 0; l < half; l++) lanes[l] += lanes[l + half];
        float inv = 1 / lanes[0];
        for (long k = 0; k < width; k++) xr[k] *= inv;
    }
}

SPK_CLONES
void spk_gelu(float *x, long count) {
    const float invSqrt2 = 0.70710678118654752440f;
    for (long i = 0; i < count; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1 + spk_erf(v * invSqrt2));
    }
}

/// The level an ST-BIF+ neuron settles on for the input total x: `clamp(floor(x/θ + 0.5), lower, upper)`, computed
/// as the layer's drive `x/θ + 0.5` always was, and `lower − 1` for a NaN drive (a neuron that never fires).
/// `floorf` of the clamped drive is exact; it is one instruction on AVX-512 and AVX2 (`vrndscaleps`, `vroundps`), a
/// call on older CPUs. (It replaced adding and removing ±2²³, the same integers, which cost 12% more of the
/// kernel's time on rows whose input changed.)
static inline __attribute__((always_inline)) float stbif_level(float x, float theta, float lower, float upper) {
    float d = x / theta + 0.5f;
    float low = d < lower ? lower : d;  // NaN stays NaN through both clamps
    float within = low > upper ? upper : low;
    return within == within ? __builtin_floorf(within) : lower - 1;
}

/// The spike of an ST-BIF+ neuron at level `l` with count `c`: `clamp(L − S, −B, B)`, 0 for the NaN level, and the
/// row's sums. With single spikes (`single`) two comparisons decide it, every spike has size 1, and a row's events
/// equal its spikes, so only one sum is kept (the row's end completes the others).
static inline __attribute__((always_inline))
float stbif_spike(float l, float c, float lower, float burst, int single, uint32_t *rowSpikes, uint32_t *rowEvents,
                  uint32_t *largest) {
    if (single) {
        /* L ≤ upper, so L > S only below the upper bound; the NaN level lower − 1 never exceeds S. */
        const int up = l > c, down = (l < c) & (l >= lower);
        *rowSpikes += (uint32_t)(up | down);
        return (float)up - (float)down;
    }
    const float magic = 8388608.0f;
    float k = l - c;
    float above = k < -burst ? -burst : k;
    float within = above > burst ? burst : above;
    float spike = l >= lower ? within : 0;
    uint32_t size = float_to_bits((spike < 0 ? -spike : spike) + magic) - 0x4B000000u;
    *rowSpikes += size;
    *rowEvents += ((size - 1) >> 31) ^ 1;
    *largest = size > *largest ? size : *largest;
    return spike;
}

/// The ST-BIF+ rows of `spk_stbif_rows` for one level type (`LEVEL_T`: int8_t or int32_t), with the levels computed
/// from the input totals `x` and stored (`readInput`) or read back, the counts (`countKind`) recovered from the totals
/// (S = round(total·(1/θ)), exact for |S| < 2²¹ and θ, 1/θ normal, see the header), kept in a float buffer, kept
/// as int8 in place of the totals, or kept with the levels in one byte (`SPK_COUNTS_NIBBLES`: the count's code in
/// the high half, the level's in the low one, `levels` unused), and the increments written or not
/// (`writeIncrements`).
#define SPK_STBIF_ROWS(NAME, LEVEL_T) \
static inline __attribute__((always_inline)) \
spk_fire_sums NAME(const float *x, LEVEL_T *level, void *countBuffer, float *total, float *increment, long rows, \
                   long width, float theta, float lower, float upper, float burst, uint8_t *fired, int readInput, \
                   int countKind, int writeIncrements, int single) { \
    const int fromTotals = countKind == SPK_COUNTS_FROM_TOTALS, inBytes = countKind == SPK_COUNTS_INT8; \
    const int nibbles = countKind == SPK_COUNTS_NIBBLES; \
    float *count = (float *)countBuffer; \
    int8_t *count8 = (int8_t *)countBuffer; \
    uint8_t *codes = (uint8_t *)countBuffer; \
    const float magic = 8388608.0f; \
    const float inverse = 1 / theta; \
    uint32_t spikes = 0, events = 0, largest = 0; \
    for (long r = 0; r < rows; r++) { \
        uint32_t rowSpikes = 0, rowEvents = 0; \
        for (long i = r * width; i < (r + 1) * width; i++) { \
            const uint8_t code = nibbles ? codes[i] : 0; \
            float l; \
            if (readInput) { \
                l = stbif_level(x[i], theta, lower, upper); \
                if (!nibbles) level[i] = (LEVEL_T)l; \
            } else { \
                l = nibbles ? (float)(code & 15) + lower : (float)level[i]; \
            } \
            float c; \
            if (fromTotals) { \
                float q = total[i] * inverse; \
                float mq = __builtin_copysignf(magic, q); \
                c = (q + mq) - mq; /* nearest integer (|q| < 2²²) */ \
            } else if (nibbles) { \
                c = (float)(code >> 4) + lower; \
            } else if (inBytes) { \
                c = (float)count8[i]; \
            } else { \
                c = count[i]; \
            } \
            float spike = stbif_spike(l, c, lower, burst, single, &rowSpikes, &rowEvents, &largest); \
            float updated = c + spike; \
            if (nibbles) { \
                /* A neuron at the NaN level keeps its count as its level: it does not fire there either. */ \
                float kept = l >= lower ? l : updated; \
                codes[i] = (uint8_t)(((int)(updated - lower) << 4) | (int)(kept - lower)); \
            } else if (inBytes) { \
                count8[i] = (int8_t)updated; /* the total S·θ is computed by its readers */ \
            } else { \
                if (!fromTotals) count[i] = updated; \
                total[i] = updated * theta; \
            } \
            if (writeIncrements) increment[i] = spike * theta; \
        } \
        if (single) { \
            rowEvents = rowSpikes; \
            largest = rowSpikes != 0 ? 1 : largest; \
        } \
        fired[r] = rowSpikes != 0; \
        spikes += rowSpikes; \
        events += rowEvents; \
    } \
    spk_fire_sums sums = { spikes, events, largest }; \
    return sums; \
}

SPK_STBIF_ROWS(stbif_rows8, int8_t)
SPK_STBIF_ROWS(stbif_rows32, int32_t)
#undef SPK_STBIF_ROWS

SPK_CLONES
spk_fire_sums spk_stbif_rows(const float *x, void *levels, long levelBytes, void *count, long countKind,
                             float *total, float *increment, long rows, long width, float theta, float lower,
                             float upper, float burst, uint8_t *fired) {
    // One specialisation per case, so that the hot loop has no run-time branches.
#define SPK_STBIF(KERNEL, LEVEL_T, readInput, kind, writeIncrements, single) \
    return KERNEL(x, (LEVEL_T *)levels, count, total, increment, rows, width, theta, lower, upper, burst, fired, \
                  readInput, kind, writeIncrements, single)
#define SPK_STBIF_KINDS(KERNEL, LEVEL_T, readInput, writeIncrements, single) \
    if (countKind == SPK_COUNTS_NIBBLES) \
        SPK_STBIF(KERNEL, LEVEL_T, readInput, SPK_COUNTS_NIBBLES, writeIncrements, single); \
    if (countKind == SPK_COUNTS_INT8) SPK_STBIF(KERNEL, LEVEL_T, readInput, SPK_COUNTS_INT8, writeIncrements, single); \
    if (countKind == SPK_COUNTS_FLOAT) SPK_STBIF(KERNEL, LEVEL_T, readInput, SPK_COUNTS_FLOAT, writeIncrements, single); \
    SPK_STBIF(KERNEL, LEVEL_T, readInput, SPK_COUNTS_FROM_TOTALS, writeIncrements, single);
#define SPK_STBIF_CASES(KERNEL, LEVEL_T, readInput) \
    if (burst == 1) { \
        if (increment) { SPK_STBIF_KINDS(KERNEL, LEVEL_T, readInput, 1, 1) } \
        SPK_STBIF_KINDS(KERNEL, LEVEL_T, readInput, 0, 1) \
    } \
    if (increment) { SPK_STBIF_KINDS(KERNEL, LEVEL_T, readInput, 1, 0) } \
    SPK_STBIF_KINDS(KERNEL, LEVEL_T, readInput, 0, 0)
    if (levelBytes == 1) {
        if (x) { SPK_STBIF_CASES(stbif_rows8, int8_t, 1) }
        SPK_STBIF_CASES(stbif_rows8, int8_t, 0)
    }
    if (x) { SPK_STBIF_CASES(stbif_rows32, int32_t, 1) }
    SPK_STBIF_CASES(stbif_rows32, int32_t, 0)
#undef SPK_STBIF_CASES
#undef SPK_STBIF_KINDS
#undef SPK_STBIF
}

SPK_CLONES
void spk_counts_to_floats(const int8_t *counts, float unit, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = (float)counts[i] * unit;
}

SPK_CLONES
void spk_nibble_counts_to_floats(const uint8_t *codes, int base, float unit, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = (float)((codes[i] >> 4) + base) * unit;
}

SPK_CLONES
void spk_nibble_lookup(const uint8_t *codes, const float *table, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = table[codes[i] >> 4];
}

SPK_CLONES
void spk_table_lookup(const int8_t *codes, const float *table, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = table[codes[i]];
}

SPK_CLONES
long spk_finish_row(const float *total, float *increment, long width) {
    long nonzero = 0;
    for (long j = 0; j < width; j++) {
        float delta = total[j] - increment[j];
        increment[j] = delta;
        nonzero += delta != 0;
    }
    return nonzero;
}

SPK_CLONES
long spk_update_row(float *total, float *increment, const float *fresh, long width) {
    long nonzero = 0;
    if (!increment) {
        for (long j = 0; j < width; j++) {
            nonzero += fresh[j] - total[j] != 0;
            total[j] = fresh[j];
        }
        return nonzero;
    }
    for (long j = 0; j < width; j++) {
        float delta = fresh[j] - total[j];
        increment[j] = delta;
        total[j] = fresh[j];
        nonzero += delta != 0;
    }
    return nonzero;
}

SPK_CLONES
long spk_count_nonzero(const float *x, long n) {
    long count = 0;
    for (long i = 0; i < n; i++) count += x[i] != 0;
    return count;
}

static _Thread_local int thread_inline = 0;
int spk_thread_inline(void) { return thread_inline; }
void spk_set_thread_inline(int value) { thread_inline = value; }
