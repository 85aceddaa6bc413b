#include "stripe_hash.h"

#if defined(__x86_64__)
#include <immintrin.h>

static inline int is_ascii_space(uint8_t b) { return b == 0x20 || (b >= 0x09 && b <= 0x0D); }

/// Where a run stands: bytes read and written, whether the last byte written was a space (or
/// none was written), whether an escape was decoded.
struct run {
    size_t i, n;
    uint64_t previous;
    int escapes;
};

/// The byte at `src[r->i]`, which stopped a block, taken alone; 0 when it is the caller's.
static inline int take_byte(const uint8_t *src, size_t count, uint8_t *dst, int lowercase, int json, struct run *r) {
    uint8_t b = src[r->i];
    if (json && b == '\\') {
        if (r->i + 1 >= count) return 0;
        uint8_t c = src[r->i + 1];
        switch (c) {
        case 'n': b = '\n'; break;
        case 't': b = '\t'; break;
        case 'r': b = '\r'; break;
        case 'f': b = '\f'; break;
        case 'b': b = '\b'; break;
        case '"': case '\\': case '/': b = c; break;
        default: return 0;  // \u and invalid escapes
        }
        r->escapes = 1;
        r->i += 2;
    } else if (json && (b == '"' || b < 0x20 || b >= 0x80)) {
        return 0;  // the end, or what only the caller may judge
    } else {
        r->i += 1;
    }
    if (is_ascii_space(b)) {
        if (!r->previous) {
            dst[r->n++] = 0x20;
            r->previous = 1;
        }
    } else {
        dst[r->n++] = lowercase && (uint8_t)(b - 'A') < 26 ? b | 0x20 : b;
        r->previous = 0;
    }
    return 1;
}

/// After a block whose bytes were flagged `spaces` and `odd` (anything but a single space, or a
/// space after a space) was stored whole: advances past its plain bytes and says whether the
/// block was plain throughout.
static inline int advance(struct run *r, uint64_t spaces, uint64_t odd, unsigned block) {
    // A plain block (most of them) is a branch, not a count of its plain bytes: then where
    // the next block starts does not wait on this one's compares, and the CPU runs loads of
    // blocks ahead instead of one block's chain of load, compare and count at a time.
    if (__builtin_expect(odd == 0, 1)) {
        r->i += block;
        r->n += block;
        r->previous = spaces >> (block - 1) & 1;
        return 1;
    }
    unsigned plain = (unsigned)__builtin_ctzll(odd);
    r->i += plain;
    r->n += plain;
    if (plain > 0) r->previous = spaces >> (plain - 1) & 1;
    return plain == block;
}

/// A kernel's stripe hash while it runs, kept in registers: the lanes, the stripes absorbed and
/// the first byte not absorbed.
struct absorbing {
    lanes8 lanes;
    uint64_t stripes;
    const uint8_t *next;
};

static inline __attribute__((always_inline)) void absorbing_begin(struct absorbing *a, const struct lathe_stripe_hash *hash, const uint8_t *dst) {
    load_lanes(&a->lanes, hash->lanes);
    a->stripes = hash->stripes;
    a->next = dst - hash->pending;
}

static inline __attribute__((always_inline)) void absorbing_end(const struct absorbing *a, struct lathe_stripe_hash *hash, const uint8_t *written) {
    __builtin_memcpy(hash->lanes, &a->lanes, sizeof a->lanes);
    hash->stripes = a->stripes;
    hash->pending = (size_t)(written - a->next);
}

/// How far (in bytes) absorbing stays behind writing: a stripe loaded across blocks still in
/// the store buffer waits for them to reach the cache (store forwarding fails), which cost a
/// third of the kernel's time at a distance of one block.
enum { absorb_distance = 64 * 4 };

/// Absorbs a stripe of the output when more than `absorb_distance` bytes are written past it: a
/// block writes at most 64 bytes, so one stripe a block keeps up, and the last byte written is
/// never absorbed.
static inline __attribute__((always_inline)) void absorb_written(struct absorbing *a, const uint8_t *written) {
    if (written - a->next > absorb_distance) {
        stripe_absorb(&a->lanes, a->next, a->stripes++);
        a->next += 64;
    }
}

__attribute__((target("avx512bw")))
static void collapse64(const uint8_t *src, size_t count, uint8_t *dst, size_t room, int lowercase, int json, struct run *run,
                       struct lathe_stripe_hash *hash) {
    // A local copy the compiler keeps in registers: through the pointer, every block would
    // wait on a store and a load of the counts.
    struct run local = *run, *r = &local;
    struct absorbing absorbed;
    if (hash) absorbing_begin(&absorbed, hash, dst);
    const __m512i space = _mm512_set1_epi8(0x20), below = _mm512_set1_epi8(0x21);
    const __m512i quote = _mm512_set1_epi8('"'), backslash = _mm512_set1_epi8('\\');
    const __m512i a = _mm512_set1_epi8('A'), letters = _mm512_set1_epi8(26);
    while (r->i + 64 <= count && r->n + 64 <= room) {
        if (hash) absorb_written(&absorbed, dst + r->n);
        // Texts are read once, a few KiB each: the hardware prefetcher, which starts afresh
        // at each 4 KiB page, leaves this loop waiting on memory without a hint.
        __builtin_prefetch(src + r->i + 512);
        __m512i v = _mm512_loadu_si512(src + r->i);
        uint64_t spaces = _mm512_cmpeq_epi8_mask(v, space);
        // A signed compare: bytes of 0x80 and above are negative, so they stop the run too.
        uint64_t stops = _mm512_cmplt_epi8_mask(v, below);
        if (json) stops |= _mm512_cmpeq_epi8_mask(v, quote) | _mm512_cmpeq_epi8_mask(v, backslash);
        uint64_t odd = (stops & ~spaces) | (spaces & (spaces << 1 | r->previous));
        if (lowercase) v = _mm512_mask_add_epi8(v, _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, a), letters), v, space);
        _mm512_storeu_si512(dst + r->n, v);
        if (advance(r, spaces, odd, 64)) continue;
        if (!take_byte(src, count, dst, lowercase, json, r)) break;
    }
    if (hash) absorbing_end(&absorbed, hash, dst + r->n);
    *run = local;
}

static void collapse16(const uint8_t *src, size_t count, uint8_t *dst, size_t room, int lowercase, int json, struct run *run,
                       struct lathe_stripe_hash *hash) {
    // A local copy the compiler keeps in registers: through the pointer, every block would
    // wait on a store and a load of the counts.
    struct run local = *run, *r = &local;
    struct absorbing absorbed;
    if (hash) absorbing_begin(&absorbed, hash, dst);
    const __m128i space = _mm_set1_epi8(0x20), below = _mm_set1_epi8(0x21);
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i beforeA = _mm_set1_epi8('A' - 1), afterZ = _mm_set1_epi8('Z' + 1);
    while (r->i + 64 <= count && r->n + 64 <= room) {
        if (hash) absorb_written(&absorbed, dst + r->n);
        __builtin_prefetch(src + r->i + 512);
        __m128i v = _mm_loadu_si128((const __m128i *)(src + r->i));
        uint64_t spaces = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, space));
        __m128i stopping = _mm_cmplt_epi8(v, below);
        if (json) stopping = _mm_or_si128(stopping, _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
        uint64_t stops = (unsigned)_mm_movemask_epi8(stopping);
        uint64_t odd = (stops & ~spaces) | (spaces & (spaces << 1 | r->previous));
        if (lowercase) v = _mm_or_si128(v, _mm_and_si128(_mm_and_si128(_mm_cmpgt_epi8(v, beforeA), _mm_cmplt_epi8(v, afterZ)), space));
        _mm_storeu_si128((__m128i *)(dst + r->n), v);
        if (advance(r, spaces, odd, 16)) continue;
        if (!take_byte(src, count, dst, lowercase, json, r)) break;
    }
    if (hash) absorbing_end(&absorbed, hash, dst + r->n);
    *run = local;
}

static int narrow;

void lathe_collapse_use_narrow_blocks(int yes) { __atomic_store_n(&narrow, yes, __ATOMIC_RELAXED); }

size_t lathe_collapse_words(const uint8_t *src, size_t count, uint8_t *dst, size_t room, int lowercase, int json,
                            int *space, size_t *written, int *escapes, struct lathe_stripe_hash *hash) {
    struct run r = {0, 0, *space ? 1 : 0, 0};
    if (__builtin_cpu_supports("avx512bw") && !__atomic_load_n(&narrow, __ATOMIC_RELAXED)) {
        collapse64(src, count, dst, room, lowercase, json, &r, hash);
    } else {
        collapse16(src, count, dst, room, lowercase, json, &r, hash);
    }
    *space = (int)r.previous;
    *written = r.n;
    if (r.escapes) *escapes = 1;
    return r.i;
}

#else

void lathe_collapse_use_narrow_blocks(int yes) { (void)yes; }

size_t lathe_collapse_words(const uint8_t *src, size_t count, uint8_t *dst, size_t room, int lowercase, int json,
                            int *space, size_t *written, int *escapes, struct lathe_stripe_hash *hash) {
    (void)src; (void)count; (void)dst; (void)room; (void)lowercase; (void)json; (void)space; (void)escapes; (void)hash;
    *written = 0;
    return 0;
}

#endif
