// See include/spikify_simd.h. Each function mirrors a Swift definition operation for operation.
#include "spikify_simd.h"
#include <string.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
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
    for (long r = 0; r < rows; r++) {
        float *xr = x + r * width;
        float m = -__builtin_inff();
        for (long j = 0; j < width; j++) m = m > xr[j] ? m : xr[j];
        for (long j = 0; j < width; j++) xr[j] = spk_exp(xr[j] - m);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        long j = 0;
        for (; j + 4 <= width; j += 4) { s0 += xr[j]; s1 += xr[j + 1]; s2 += xr[j + 2]; s3 += xr[j + 3]; }
        for (; j < width; j++) s0 += xr[j];
        float s = (s0 + s1) + (s2 + s3);
        float inv = 1 / s;
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

SPK_CLONES
spk_fire_sums spk_stbif_row(const float *x, float *count, float *total, float *increment, long n, float theta,
                            float lower, float upper, float burst) {
    const float magic = 8388608.0f;
    const uint32_t magicBits = 0x4B000000u;
    uint32_t spikes = 0, events = 0, largest = 0;
    for (long i = 0; i < n; i++) {
        float c = count[i];
        float u = (x[i] / theta + 0.5f) - c;
        // STBIFNeuron.fireBranchless
        float above = u < -burst ? -burst : u;
        float within = above > burst ? burst : above;
        float v = within == within ? within : 0;
        float m = __builtin_copysignf(magic, v);
        float nearest = (v + m) - m;
        float av = v < 0 ? -v : v;
        float rounded = av < magic ? nearest : v;
        float k = rounded > v ? rounded - 1 : rounded;
        float low = lower - c, high = upper - c;
        float bounded = k < low ? low : k;
        float spike = bounded > high ? high : bounded;
        float updated = c + spike;
        count[i] = updated;
        total[i] = updated * theta;
        increment[i] = spike * theta;
        uint32_t size = float_to_bits((spike < 0 ? -spike : spike) + magic) - magicBits;
        spikes += size;
        events += ((size - 1) >> 31) ^ 1;
        largest = size > largest ? size : largest;
    }
    spk_fire_sums sums = { spikes, events, largest };
    return sums;
}
