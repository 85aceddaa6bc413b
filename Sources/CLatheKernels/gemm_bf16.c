// Matrix products with bf16 inputs and fp32 sums on AMX tiles (Sapphire Rapids and later).
//
// A tile is 16 rows of 64 bytes. TDPBF16PS takes an A tile of 16 rows × 32 bf16, a B tile of
// 16 rows × (16 columns × 2 bf16) holding k-pairs side by side ("VNNI" order), and adds their
// product into a C tile of 16 × 16 fp32. The kernel keeps a 32 × 32 block of C in four tiles
// and walks k 32 at a time through two A tiles and two B tiles.
//
// op(B) is packed once per product (or once per weight matrix) into n-blocks of 16 columns,
// each holding every k-pair for its columns: tile s of n-block j starts at
// j·(kp·16) + s·512 elements, rows of 32 bf16 (64 bytes) apart. Rows of op(A) are rounded
// into a per-thread buffer 32 rows at a time, row-major with a stride of kp. k is padded to kp,
// a multiple of 32, and the n-blocks to an even count, with zeros, which add nothing.
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

// The nearest bf16 (ties to even); NaN stays NaN. The same rule as lathe_bf16_pack.
static inline uint16_t to_bf16(float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    uint32_t rounded = bits + 0x7FFFu + ((bits >> 16) & 1u);
    return (bits & 0x7FFFFFFFu) > 0x7F800000u ? (uint16_t)((bits >> 16) | 0x40u) : (uint16_t)(rounded >> 16);
}

ptrdiff_t lathe_bf16_packed_b_count(ptrdiff_t k, ptrdiff_t n) {
    return round_up(n, 32) * round_up(k, 32);
}

// Element (kk, col) of op(B) goes to n-block col/16, pair row kk/2, slot (col%16)·2 + kk%2.
#define PACKED_INDEX(kp, kk, col) (((col) / 16) * (kp) * 16 + ((kk) / 2) * 32 + ((col) % 16) * 2 + ((kk) & 1))

void lathe_bf16_pack_b(uint16_t *packed, const float *b, ptrdiff_t ldb, int trans_b, ptrdiff_t k, ptrdiff_t n,
                       ptrdiff_t block_lo, ptrdiff_t block_hi) {
    ptrdiff_t kp = round_up(k, 32);
    for (ptrdiff_t j = block_lo; j < block_hi; j++) {
        uint16_t *block = packed + j * kp * 16;
        memset(block, 0, (size_t)kp * 16 * sizeof(uint16_t));
        ptrdiff_t c_hi = (j + 1) * 16 < n ? (j + 1) * 16 : n;
        for (ptrdiff_t col = j * 16; col < c_hi; col++) {
            if (trans_b) {  // column col of op(B) is row col of B: contiguous
                const float *row = b + col * ldb;
                for (ptrdiff_t kk = 0; kk < k; kk++) block[PACKED_INDEX(kp, kk, col) - j * kp * 16] = to_bf16(row[kk]);
            } else {
                for (ptrdiff_t kk = 0; kk < k; kk++)
                    block[PACKED_INDEX(kp, kk, col) - j * kp * 16] = to_bf16(b[kk * ldb + col]);
            }
        }
    }
}

void lathe_bf16_pack_b_bits(uint16_t *packed, const uint16_t *b, ptrdiff_t ldb, int trans_b, ptrdiff_t k, ptrdiff_t n,
                            ptrdiff_t block_lo, ptrdiff_t block_hi) {
    ptrdiff_t kp = round_up(k, 32);
    for (ptrdiff_t j = block_lo; j < block_hi; j++) {
        uint16_t *block = packed + j * kp * 16;
        memset(block, 0, (size_t)kp * 16 * sizeof(uint16_t));
        ptrdiff_t c_hi = (j + 1) * 16 < n ? (j + 1) * 16 : n;
        for (ptrdiff_t col = j * 16; col < c_hi; col++)
            for (ptrdiff_t kk = 0; kk < k; kk++)
                block[PACKED_INDEX(kp, kk, col) - j * kp * 16] = trans_b ? b[col * ldb + kk] : b[kk * ldb + col];
    }
}

// Rows [r0, r0+rows) of op(A), rounded, into dst (32 × kp, zero beyond k and beyond rows).
static void pack_a(uint16_t *dst, ptrdiff_t kp, const float *a, ptrdiff_t lda, int trans_a, ptrdiff_t r0,
                   ptrdiff_t rows, ptrdiff_t k) {
    if (trans_a) {  // row r of op(A) is column r of A
        for (ptrdiff_t r = rows; r < 32; r++) memset(dst + r * kp, 0, (size_t)kp * sizeof(uint16_t));
        for (ptrdiff_t kk = 0; kk < k; kk++) {
            const float *src = a + kk * lda + r0;
            for (ptrdiff_t r = 0; r < rows; r++) dst[r * kp + kk] = to_bf16(src[r]);
        }
        for (ptrdiff_t r = 0; r < rows; r++)
            for (ptrdiff_t kk = k; kk < kp; kk++) dst[r * kp + kk] = 0;
    } else {
        for (ptrdiff_t r = 0; r < 32; r++) {
            uint16_t *out = dst + r * kp;
            if (r >= rows) { memset(out, 0, (size_t)kp * sizeof(uint16_t)); continue; }
            const float *src = a + (r0 + r) * lda;
            for (ptrdiff_t kk = 0; kk < k; kk++) out[kk] = to_bf16(src[kk]);
            for (ptrdiff_t kk = k; kk < kp; kk++) out[kk] = 0;
        }
    }
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
            _tile_loadd(4, a + s * 32, kp * sizeof(uint16_t));
            _tile_loadd(5, a + 16 * kp + s * 32, kp * sizeof(uint16_t));
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

AMX_TARGET void lathe_bf16_gemm_packed(float *c, ptrdiff_t ldc, const float *a, ptrdiff_t lda, int trans_a,
                                       const uint16_t *packed_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                                       float beta) {
    ptrdiff_t kp = round_up(k, 32);
    uint16_t *a_block = reserve(&a_rows, 32 * kp);
    configure_tiles();
    for (ptrdiff_t r0 = 0; r0 < m; r0 += 32) {
        ptrdiff_t rows = m - r0 < 32 ? m - r0 : 32;
        pack_a(a_block, kp, a, lda, trans_a, r0, rows, k);
        block_row(c + r0 * ldc, ldc, a_block, packed_b, kp, rows, n, alpha, beta);
    }
    _tile_release();
}

#else

int lathe_bf16_amx_available(void) { return 0; }
void lathe_bf16_amx_disable(int off) { (void)off; }
void lathe_bf16_gemm_packed(float *c, ptrdiff_t ldc, const float *a, ptrdiff_t lda, int trans_a,
                            const uint16_t *packed_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, float beta) {
    (void)c; (void)ldc; (void)a; (void)lda; (void)trans_a; (void)packed_b; (void)m; (void)n; (void)k; (void)alpha;
    (void)beta;
    abort();  // callers check lathe_bf16_amx_available first
}

#endif
