#include "CLatheKernels.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

// e^x: x = k·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for an exact k·ln2), e^r by its
// degree-7 Taylor polynomial (relative error < 2e-7), 2^k put in the exponent bits. Below
// −87.3 the result is 0 (no subnormals); above 88.37 it is clamped (2^k stays below 2^128).
// k is rounded by adding and subtracting 1.5·2^23, so the loop has no calls and vectorises.
static inline float exp_approx(float x) {
    float c = x < -87.3f ? -87.3f : (x > 88.37f ? 88.37f : x);
    float k = (c * 1.44269504f + 12582912.0f) - 12582912.0f;
    float r = c - k * 0.693145751953125f - k * 1.428606765330187e-6f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return x < -87.3f ? 0.0f : p * scale;
}

CLONES float lathe_max(const float *p, ptrdiff_t n) {
    float acc[16];
    for (int l = 0; l < 16; l++) acc[l] = p[0];
    ptrdiff_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) acc[l] = p[j + l] > acc[l] ? p[j + l] : acc[l];
    float m = acc[0];
    for (int l = 1; l < 16; l++) m = acc[l] > m ? acc[l] : m;
    for (; j < n; j++) m = p[j] > m ? p[j] : m;
    return m;
}

CLONES float lathe_dot(const float *a, const float *b, ptrdiff_t n) {
    float acc[16] = {0};
    ptrdiff_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) acc[l] += a[j + l] * b[j + l];
    float s = 0;
    for (; j < n; j++) s += a[j] * b[j];
    for (int l = 0; l < 16; l++) s += acc[l];
    return s;
}

CLONES void lathe_scale(float *p, ptrdiff_t n, float factor) {
    for (ptrdiff_t j = 0; j < n; j++) p[j] *= factor;
}

CLONES float lathe_exp_shifted(float *p, ptrdiff_t n, float shift) {
    float acc[16] = {0};
    ptrdiff_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) {
            float e = exp_approx(p[j + l] - shift);
            p[j + l] = e;
            acc[l] += e;
        }
    float s = 0;
    for (; j < n; j++) {
        p[j] = exp_approx(p[j] - shift);
        s += p[j];
    }
    for (int l = 0; l < 16; l++) s += acc[l];
    return s;
}

CLONES float lathe_sum_exp_shifted(const float *p, ptrdiff_t n, float shift) {
    float acc[16] = {0};
    ptrdiff_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) acc[l] += exp_approx(p[j + l] - shift);
    float s = 0;
    for (; j < n; j++) s += exp_approx(p[j] - shift);
    for (int l = 0; l < 16; l++) s += acc[l];
    return s;
}

CLONES void lathe_softmax_scaled(float *d, const float *row, ptrdiff_t n, float lse, float weight, int accumulate) {
    if (accumulate) {
        for (ptrdiff_t j = 0; j < n; j++) d[j] += weight * exp_approx(row[j] - lse);
    } else {
        for (ptrdiff_t j = 0; j < n; j++) d[j] = weight * exp_approx(row[j] - lse);
    }
}

static inline float swiglu(float g, float u) { return g / (1.0f + exp_approx(-g)) * u; }

// out may be gate or up (inference writes over gate). Sixteen lanes at a time through a local
// block: written straight to out, clang's vectorised loop is guarded by an overlap check, and
// out == gate sent every in-place call down the scalar fallback.
CLONES void lathe_swiglu_forward(float *out, const float *gate, const float *up, ptrdiff_t n) {
    ptrdiff_t j = 0;
    for (; j + 16 <= n; j += 16) {
        float block[16];
        for (int l = 0; l < 16; l++) block[l] = swiglu(gate[j + l], up[j + l]);
        memcpy(out + j, block, sizeof block);
    }
    for (; j < n; j++) out[j] = swiglu(gate[j], up[j]);
}

CLONES void lathe_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                                  ptrdiff_t n) {
    for (ptrdiff_t j = 0; j < n; j++) {
        float g = gate[j], sigma = 1.0f / (1.0f + exp_approx(-g));
        dgate[j] += dout[j] * up[j] * sigma * (1.0f + g * (1.0f - sigma));
        dup[j] += dout[j] * g * sigma;
    }
}

CLONES void lathe_bf16_round(float *out, const float *in, ptrdiff_t n) {
    for (ptrdiff_t j = 0; j < n; j++) {
        uint32_t bits;
        memcpy(&bits, &in[j], 4);
        uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
        // NaN stays NaN (rounding could carry its payload into infinity)
        uint32_t result = (bits & 0x7FFFFFFFu) > 0x7F800000u ? bits : rounded;
        memcpy(&out[j], &result, 4);
    }
}

CLONES void lathe_exp(float *out, const float *in, ptrdiff_t n) {
    for (ptrdiff_t j = 0; j < n; j++) out[j] = exp_approx(in[j]);
}

CLONES void lathe_bf16_pack(uint16_t *out, const float *in, ptrdiff_t n) {
    for (ptrdiff_t j = 0; j < n; j++) {
        uint32_t bits;
        memcpy(&bits, &in[j], 4);
        uint32_t rounded = bits + 0x7FFFu + ((bits >> 16) & 1u);
        // NaN stays NaN: keep its top bits and set a mantissa bit so it cannot become infinity
        out[j] = (bits & 0x7FFFFFFFu) > 0x7F800000u ? (uint16_t)((bits >> 16) | 0x40u) : (uint16_t)(rounded >> 16);
    }
}

CLONES void lathe_bf16_unpack(float *out, const uint16_t *in, ptrdiff_t n) {
    for (ptrdiff_t j = 0; j < n; j++) {
        uint32_t bits = (uint32_t)in[j] << 16;
        memcpy(&out[j], &bits, 4);
    }
}
