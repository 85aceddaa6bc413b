// Row kernels of LatheTensor that Swift does not vectorise well (its generic SIMD
// conversions and clamps are not inlined): exp-based rows, reductions, bf16 rounding.
// Each is compiled for AVX-512F, AVX2 and baseline x86-64 and picked at load time by CPU feature.
#ifndef CLATHE_KERNELS_H
#define CLATHE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// max over p[0..<n] (n ≥ 1)
float lathe_max(const float *p, ptrdiff_t n);
/// Σ a[j]·b[j], in 16 interleaved partial sums
float lathe_dot(const float *a, const float *b, ptrdiff_t n);
/// p[j] *= factor
void lathe_scale(float *p, ptrdiff_t n, float factor);
/// p[j] = e^(p[j] − shift); returns Σ of the new p
float lathe_exp_shifted(float *p, ptrdiff_t n, float shift);
/// Σ e^(p[j] − shift), p unchanged
float lathe_sum_exp_shifted(const float *p, ptrdiff_t n, float shift);
/// d[j] = (accumulate ? d[j] : 0) + weight · e^(row[j] − lse)
void lathe_softmax_scaled(float *d, const float *row, ptrdiff_t n, float lse, float weight, int accumulate);
/// out = silu(gate) · up
void lathe_swiglu_forward(float *out, const float *gate, const float *up, ptrdiff_t n);
/// dgate += dout·up·σ(g)(1 + g(1 − σ(g)));  dup += dout·g·σ(g)
void lathe_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, ptrdiff_t n);
/// out = in rounded to bfloat16 (nearest, ties to even), kept in fp32 storage; out may be in
void lathe_bf16_round(float *out, const float *in, ptrdiff_t n);
/// out = in rounded to bfloat16 (nearest, ties to even) and stored as its 16 bits
void lathe_bf16_pack(uint16_t *out, const float *in, ptrdiff_t n);
/// out = the fp32 value of each bfloat16 (exact: its bits shifted up)
void lathe_bf16_unpack(float *out, const uint16_t *in, ptrdiff_t n);
/// e^x for each of n values (the same approximation every kernel above uses), for tests
void lathe_exp(float *out, const float *in, ptrdiff_t n);

#endif
