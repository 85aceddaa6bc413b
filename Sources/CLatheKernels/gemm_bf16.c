// Matrix products with bf16 inputs and fp32 sums on AMX tiles (Sapphire Rapids and later).
//
// A tile is 16 rows of 64 bytes. TDPBF16PS takes an A tile of 16 rows × 32 bf16, a B tile of
// 16 rows × (16 columns × 2 bf16) holding k-pairs side by side ("VNNI" order), and adds their
// product into a C tile of 16 × 16 fp32. The kernel keeps a 32 × 32 block of C in four tiles
// and walks k 32 at a time through two A tiles and two B tiles.
//
// op(B) is packed once per product (or once per weight matrix) into n-blocks of 16 columns,
// each holding every k-pair for its columns: tile s of n-block j starts at
// j·(kp·16) + s·512 elements, rows of 32 bf16 (64 bytes) apart. The rows of op(A) a call
// covers are rounded into a per-thread buffer first, in blocks of 16 rows laid out the same
// way. k is padded to kp, a multiple of 32, and the blocks to an even count, with zeros, which
// add nothing.
#include "CLatheKernels.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__) && defined(__linux__)
#define LATHE_AMX 1
#include <immintrin.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cpuid.h>
#define AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl")))
#endif

static inline ptrdiff_t round_up(ptrdiff_t x, ptrdiff_t to) { return (x + to - 1) / to * to; }

ptrdiff_t lathe_bf16_packed_b_count(ptrdiff_t k, ptrdiff_t n) {
    return round_up(n, 32) * round_up(k, 32);
}

// A thread's buffer of at least `count` elements, kept for its next call: one for the rows of A
// the kernel rounds, one handed out to callers (for a packed B), so the two never overlap.
typedef struct { uint16_t *base; ptrdiff_t capacity; } thread_buffer;

static uint16_t *reserve(thread_buffer *buffer, ptrdiff_t count) {
    if (count > buffer->capacity) {
        free(buffer->base);
        buffer->capacity = round_up(count, 1 << 16);
        buffer->base = aligned_alloc(64, (size_t)buffer->capacity * sizeof(uint16_t));
        if (!buffer->base) abort();
    }
    return buffer->base;
}

static _Thread_local thread_buffer a_rows, caller_scratch;

uint16_t *lathe_bf16_thread_scratch(ptrdiff_t count) { return reserve(&caller_scratch, count); }

#ifdef LATHE_AMX

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int amx_state = -1;
static int amx_forced_off;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

// AMX-TILE and AMX-BF16 in CPUID leaf 7, tile state enabled by the OS in XCR0, and the
// kernel's leave to use it (Linux hands out the 8 KiB tile state only on request).
static void amx_probe(void) {
    unsigned eax, ebx, ecx, edx;
    amx_state = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return;
    int tile = (edx >> 24) & 1, bf16 = (edx >> 22) & 1;
    if (!tile || !bf16) return;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !((ecx >> 27) & 1)) return;  // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if (((lo >> 17) & 3) != 3) return;  // XTILECFG and XTILEDATA
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) return;
    amx_state = 1;
}

int lathe_bf16_amx_available(void) {
    pthread_once(&amx_once, amx_probe);
    return amx_state == 1 && !amx_forced_off;
}

void lathe_bf16_amx_disable(int off) { amx_forced_off = off; }

// Lanes (16 × 32 bits) holding the nearest bf16 (ties to even) of each float in their low
// half; NaN stays NaN. The same rule as lathe_bf16_pack.
AMX_TARGET static inline __m512i bf16_lanes(__m512 x) {
    __m512i bits = _mm512_castps_si512(x);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
    __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40));
    return _mm512_mask_mov_epi32(rounded, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), quiet);
}

AMX_TARGET static inline __mmask16 first16(ptrdiff_t count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? 0 : (__mmask16)((1u << count) - 1);
}

// 16 values of B from `at` on (lanes outside mask zero) as fp32: B's own floats, or its bf16
// bits widened (exactly, so rounding them again changes nothing).
AMX_TARGET static inline __m512 load16(const void *b, int bits, ptrdiff_t at, __mmask16 mask) {
    if (!bits) return _mm512_maskz_loadu_ps(mask, (const float *)b + at);
    __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, (const uint16_t *)b + at));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}

// Lane i = (bf16 of element i from lo, bf16 of element i from hi): a k-pair of column i, from
// two rows (hi < 0: past the end of k). Lanes outside mask are zero.
AMX_TARGET static inline __m512i pairs_of_rows(const void *b, int bits, ptrdiff_t lo, ptrdiff_t hi, __mmask16 mask) {
    __m512i low = bf16_lanes(load16(b, bits, lo, mask));
    if (hi < 0) return _mm512_maskz_mov_epi32(mask, low);
    __m512i high = bf16_lanes(load16(b, bits, hi, mask));
    return _mm512_maskz_mov_epi32(mask, _mm512_or_si512(low, _mm512_slli_epi32(high, 16)));
}

// Lane q = (bf16 of element 2q, bf16 of element 2q+1) of a row from `at` on: its first `count`
// (≤ 32) values, rounded and laid side by side; zero past count.
AMX_TARGET static inline __m512i pairs_along_row(const void *b, int bits, ptrdiff_t at, ptrdiff_t count) {
    __m512i x = bf16_lanes(load16(b, bits, at, first16(count)));
    __m512i y = bf16_lanes(load16(b, bits, at + 16, first16(count - 16)));
    __m512i packed = _mm512_castsi256_si512(_mm512_cvtepi32_epi16(_mm512_maskz_mov_epi32(first16(count), x)));
    return _mm512_inserti64x4(packed, _mm512_cvtepi32_epi16(_mm512_maskz_mov_epi32(first16(count - 16), y)), 1);
}

// Transposes 16 rows of 16 lanes: lane j of row i goes to lane i of row j. Each step swaps the
// off-diagonal blocks of side b (8, 4, 2, 1), pairing row i with row i + b.
AMX_TARGET static inline void transpose16(__m512i r[16]) {
    for (int b = 8; b >= 1; b >>= 1) {
        int upper[16], lower[16];
        for (int j = 0; j < 16; j++) {
            upper[j] = (j & b) ? 16 + j - b : j;
            lower[j] = (j & b) ? 16 + j : j + b;
        }
        __m512i up = _mm512_loadu_si512(upper), low = _mm512_loadu_si512(lower);
        for (int i = 0; i < 16; i++) {
            if (i & b) continue;
            __m512i x = r[i], y = r[i + b];
            r[i] = _mm512_permutex2var_epi32(x, up, y);
            r[i + b] = _mm512_permutex2var_epi32(x, low, y);
        }
    }
}

// Stores 16 transposed rows of lanes 64 bytes apart: the tile rows of 16 k-pairs.
AMX_TARGET static inline void store_transposed(uint16_t *dst, ptrdiff_t stride, __m512i r[16]) {
    transpose16(r);
    for (int q = 0; q < 16; q++) _mm512_storeu_si512(dst + q * stride, r[q]);
}

// n-blocks [block_lo, block_hi) of op(B), from fp32 or (bits) bf16 B.
AMX_TARGET static inline void pack_b(uint16_t *packed, const void *b, int bits, ptrdiff_t ldb, int trans_b, ptrdiff_t k,
                                     ptrdiff_t n, ptrdiff_t block_lo, ptrdiff_t block_hi) {
    ptrdiff_t kp = round_up(k, 32);
    for (ptrdiff_t j = block_lo; j < block_hi; j++) {
        uint16_t *block = packed + j * kp * 16;
        ptrdiff_t cols = n - j * 16;
        if (!trans_b) {  // k-pair p of the block's columns: rows 2p and 2p+1 of B, side by side
            for (ptrdiff_t p = 0; p < kp / 2; p++) {
                ptrdiff_t lo = 2 * p * ldb + j * 16, hi = 2 * p + 1 < k ? lo + ldb : -1;
                _mm512_storeu_si512(block + p * 32,
                                    2 * p < k ? pairs_of_rows(b, bits, lo, hi, first16(cols)) : _mm512_setzero_si512());
            }
            continue;
        }
        // column c of the block is row j·16 + c of B: 16 k-pairs of each of its 16 rows, transposed
        for (ptrdiff_t s = 0; s < kp; s += 32) {
            __m512i r[16];
            for (ptrdiff_t c = 0; c < 16; c++)
                r[c] = c < cols ? pairs_along_row(b, bits, (j * 16 + c) * ldb + s, k - s) : _mm512_setzero_si512();
            store_transposed(block + s * 16, 32, r);
        }
    }
}

AMX_TARGET void lathe_bf16_pack_b(uint16_t *packed, const float *b, ptrdiff_t ldb, int trans_b, ptrdiff_t k,
                                  ptrdiff_t n, ptrdiff_t block_lo, ptrdiff_t block_hi) {
    pack_b(packed, b, 0, ldb, trans_b, k, n, block_lo, block_hi);
}

AMX_TARGET void lathe_bf16_pack_b_bits(uint16_t *packed, const uint16_t *b, ptrdiff_t ldb, int trans_b, ptrdiff_t k,
                                       ptrdiff_t n, ptrdiff_t block_lo, ptrdiff_t block_hi) {
    pack_b(packed, b, 1, ldb, trans_b, k, n, block_lo, block_hi);
}

// Rows [0, rows) of op(A), rounded, into dst (round_up(rows, 32) × kp, zero past k and past rows),
// laid out as packed B is: blocks of 16 rows, each holding its k-steps' 16 × 32 tiles one after
// another, so a tile is 1 KiB in a row (rows kp apart would share cache sets when kp is large).
AMX_TARGET static void pack_a(uint16_t *dst, ptrdiff_t kp, const float *a, ptrdiff_t lda, int trans_a, ptrdiff_t rows,
                              ptrdiff_t k) {
    ptrdiff_t padded = round_up(rows, 32);
    if (!trans_a) {
        for (ptrdiff_t r = 0; r < padded; r++)
            for (ptrdiff_t s = 0; s < kp; s += 32)
                _mm512_storeu_si512(dst + (r / 16) * kp * 16 + s * 16 + (r % 16) * 32,
                                    r < rows ? pairs_along_row(a, 0, r * lda + s, k - s) : _mm512_setzero_si512());
        return;
    }
    // row r of op(A) is column r of A: a k-pair of 16 such rows is two rows of A side by side, and
    // 16 k-pairs of them, transposed, are those rows' next 32 values of k. A k-step's 32 rows of A
    // are walked along, 16 columns at a time.
    for (ptrdiff_t s = 0; s < kp; s += 32) {
        for (ptrdiff_t g = 0; g < padded; g += 16) {
            __mmask16 mask = first16(rows - g);
            __m512i r[16];
            for (ptrdiff_t q = 0; q < 16; q++) {
                ptrdiff_t kk = s + 2 * q;
                ptrdiff_t lo = kk * lda + g, hi = kk + 1 < k ? lo + lda : -1;
                r[q] = kk < k ? pairs_of_rows(a, 0, lo, hi, mask) : _mm512_setzero_si512();
            }
            store_transposed(dst + g * kp + s * 16, 32, r);
        }
    }
}

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

AMX_TARGET static void configure_tiles(void) {
    tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) { config.rows[t] = 16; config.colsb[t] = 64; }
    _tile_loadconfig(&config);
}

// C (rows × cols, ≤ 16 × 16) = alpha · tile + beta · C, from the tile's stored copy.
static void store_edge(float *c, ptrdiff_t ldc, const float *tile, ptrdiff_t rows, ptrdiff_t cols, float alpha,
                       float beta) {
    for (ptrdiff_t r = 0; r < rows; r++)
        for (ptrdiff_t j = 0; j < cols; j++)
            c[r * ldc + j] = beta == 0 ? alpha * tile[r * 16 + j] : alpha * tile[r * 16 + j] + beta * c[r * ldc + j];
}

// One 32-row block of A (packed, stride kp) against n-blocks [2·pair_lo, 2·pair_hi) of packed B.
AMX_TARGET static void block_row(float *c, ptrdiff_t ldc, const uint16_t *a, const uint16_t *b, ptrdiff_t kp,
                                 ptrdiff_t rows, ptrdiff_t n, float alpha, float beta) {
    float edge[16 * 16] __attribute__((aligned(64)));
    ptrdiff_t steps = kp / 32, block_stride = kp * 16;
    for (ptrdiff_t col = 0; col < n; col += 32) {
        const uint16_t *b0 = b + (col / 16) * block_stride, *b1 = b0 + block_stride;
        // A 16 × 16 quarter goes straight to and from C when it is whole and C's own scaling is plain.
        int plain = alpha == 1 && (beta == 0 || beta == 1);
        int whole00 = plain && rows >= 16 && col + 16 <= n, whole01 = plain && rows >= 16 && col + 32 <= n;
        int whole10 = plain && rows >= 32 && col + 16 <= n, whole11 = plain && rows >= 32 && col + 32 <= n;
        float *c00 = c + col, *c01 = c + col + 16, *c10 = c + 16 * ldc + col, *c11 = c10 + 16;
        size_t stride = (size_t)ldc * sizeof(float);
        if (whole00 && beta == 1) _tile_loadd(0, c00, stride); else _tile_zero(0);
        if (whole01 && beta == 1) _tile_loadd(1, c01, stride); else _tile_zero(1);
        if (whole10 && beta == 1) _tile_loadd(2, c10, stride); else _tile_zero(2);
        if (whole11 && beta == 1) _tile_loadd(3, c11, stride); else _tile_zero(3);
        for (ptrdiff_t s = 0; s < steps; s++) {
            _tile_loadd(4, a + s * 512, 64);
            _tile_loadd(5, a + 16 * kp + s * 512, 64);
            _tile_loadd(6, b0 + s * 512, 64);
            _tile_loadd(7, b1 + s * 512, 64);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
        ptrdiff_t cols0 = n - col < 16 ? n - col : 16, cols1 = n - col - 16 < 16 ? n - col - 16 : 16;
        ptrdiff_t rows0 = rows < 16 ? rows : 16, rows1 = rows - 16 < 16 ? rows - 16 : 16;
        if (whole00) _tile_stored(0, c00, stride);
        else if (cols0 > 0 && rows0 > 0) { _tile_stored(0, edge, 64); store_edge(c00, ldc, edge, rows0, cols0, alpha, beta); }
        if (whole01) _tile_stored(1, c01, stride);
        else if (cols1 > 0 && rows0 > 0) { _tile_stored(1, edge, 64); store_edge(c01, ldc, edge, rows0, cols1, alpha, beta); }
        if (whole10) _tile_stored(2, c10, stride);
        else if (cols0 > 0 && rows1 > 0) { _tile_stored(2, edge, 64); store_edge(c10, ldc, edge, rows1, cols0, alpha, beta); }
        if (whole11) _tile_stored(3, c11, stride);
        else if (cols1 > 0 && rows1 > 0) { _tile_stored(3, edge, 64); store_edge(c11, ldc, edge, rows1, cols1, alpha, beta); }
    }
}

// Columns of packed B a chunk holds (a multiple of 32): about 512 KiB of it, so a chunk stays in
// L2 while every 32-row block of A passes over it.
static ptrdiff_t chunk_columns(ptrdiff_t kp) {
    ptrdiff_t columns = (512 * 1024 / (kp * (ptrdiff_t)sizeof(uint16_t))) / 32 * 32;
    return columns < 32 ? 32 : columns;
}

AMX_TARGET void lathe_bf16_gemm_packed(float *c, ptrdiff_t ldc, const float *a, ptrdiff_t lda, int trans_a,
                                       const uint16_t *packed_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                                       float beta) {
    ptrdiff_t kp = round_up(k, 32), chunk = chunk_columns(kp);
    uint16_t *rows = reserve(&a_rows, round_up(m, 32) * kp);
    pack_a(rows, kp, a, lda, trans_a, m, k);
    configure_tiles();
    for (ptrdiff_t col = 0; col < n; col += chunk) {
        ptrdiff_t width = n - col < chunk ? n - col : chunk;
        for (ptrdiff_t r0 = 0; r0 < m; r0 += 32)
            block_row(c + r0 * ldc + col, ldc, rows + r0 * kp, packed_b + col * kp, kp, m - r0 < 32 ? m - r0 : 32,
                      width, alpha, beta);
    }
    _tile_release();
}

#else

int lathe_bf16_amx_available(void) { return 0; }
void lathe_bf16_amx_disable(int off) { (void)off; }
// Packing and the product exist only for AMX; callers check lathe_bf16_amx_available first.
void lathe_bf16_pack_b(uint16_t *packed, const float *b, ptrdiff_t ldb, int trans_b, ptrdiff_t k, ptrdiff_t n,
                       ptrdiff_t block_lo, ptrdiff_t block_hi) {
    (void)packed; (void)b; (void)ldb; (void)trans_b; (void)k; (void)n; (void)block_lo; (void)block_hi;
    abort();
}
void lathe_bf16_pack_b_bits(uint16_t *packed, const uint16_t *b, ptrdiff_t ldb, int trans_b, ptrdiff_t k, ptrdiff_t n,
                            ptrdiff_t block_lo, ptrdiff_t block_hi) {
    (void)packed; (void)b; (void)ldb; (void)trans_b; (void)k; (void)n; (void)block_lo; (void)block_hi;
    abort();
}
void lathe_bf16_gemm_packed(float *c, ptrdiff_t ldc, const float *a, ptrdiff_t lda, int trans_a,
                            const uint16_t *packed_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, float beta) {
    (void)c; (void)ldc; (void)a; (void)lda; (void)trans_a; (void)packed_b; (void)m; (void)n; (void)k; (void)alpha;
    (void)beta;
    abort();
}

#endif
