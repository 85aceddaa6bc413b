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

// Products with bf16 inputs and fp32 sums on AMX tiles (gemm_bf16.c). op(B) is packed first
// (rounded to bf16, k-pairs side by side in n-blocks of 16 columns); rows of op(A) are rounded
// as the product goes. Rounding is to nearest, ties to even, as lathe_bf16_pack.

/// 1 when this CPU and OS run AMX bf16 tiles (checked once) and they are not switched off
int lathe_bf16_amx_available(void);
/// off ≠ 0: lathe_bf16_amx_available answers 0, so callers take their other path (for tests)
void lathe_bf16_amx_disable(int off);
/// Elements of a packed op(B) of k × n: k rounded up to 32 times n rounded up to 32
ptrdiff_t lathe_bf16_packed_b_count(ptrdiff_t k, ptrdiff_t n);
/// Packs n-blocks [block_lo, block_hi) (16 columns each, round_up(n, 32)/16 in all) of op(B), k × n,
/// from fp32 B (row stride ldb; trans_b: B is stored n × k)
void lathe_bf16_pack_b(uint16_t *packed, const float *b, ptrdiff_t ldb, int trans_b, ptrdiff_t k, ptrdiff_t n,
                       ptrdiff_t block_lo, ptrdiff_t block_hi);
/// The same from B already in bf16 bits
void lathe_bf16_pack_b_bits(uint16_t *packed, const uint16_t *b, ptrdiff_t ldb, int trans_b, ptrdiff_t k, ptrdiff_t n,
                            ptrdiff_t block_lo, ptrdiff_t block_hi);
/// C (m × n, row stride ldc) = alpha · op(A) · op(B) + beta · C (beta 0: C is not read), A fp32 of m × k
/// (row stride lda; trans_a: stored k × m), op(B) packed. Needs lathe_bf16_amx_available().
void lathe_bf16_gemm_packed(float *c, ptrdiff_t ldc, const float *a, ptrdiff_t lda, int trans_a,
                            const uint16_t *packed_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, float beta);
/// The calling thread's scratch of at least count elements, reused by its next call (64-byte aligned)
uint16_t *lathe_bf16_thread_scratch(ptrdiff_t count);

#endif
