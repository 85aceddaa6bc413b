#ifndef LATHE_DEDUPE_KERNELS_H
#define LATHE_DEDUPE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// MinHash over 32-bit hash functions h_j(x) = a[j]*x + b[j] mod 2^32, where x is the high
/// 32 bits of each shingle hash: mins[j] = min over shingles of h_j(x), or UINT32_MAX when
/// there are none. `count` must be a multiple of 16 (pad a and b). Runs the widest vector
/// unit the CPU has (AVX-512, AVX2, else SSE2), chosen once when the library loads.
void lathe_minhash32(const uint64_t *shingles, size_t n, const uint32_t *a, const uint32_t *b,
                     size_t count, uint32_t *mins);

/// The running state of the stripe hash, the exact key of normalised text: a 128-bit hash of a
/// byte stream absorbed 64 bytes (one stripe, eight little-endian 64-bit words, one per lane) at
/// a time, in the manner of XXH3's accumulate step (a 32x32-bit product per lane plus the
/// neighbouring lane's word, a multiply scramble every 16 stripes), then a 128-bit finish that
/// folds in the length. The same bytes give the same key however they were fed.
struct lathe_stripe_hash {
    uint64_t lanes[8];
    /// Stripes absorbed so far.
    uint64_t stripes;
    /// For `lathe_collapse_words`: the bytes written just before its `dst` and not absorbed yet.
    size_t pending;
};

void lathe_stripe_hash_start(struct lathe_stripe_hash *hash);

/// Absorbs the whole stripes of `bytes[0..<count]`; returns the bytes absorbed (a multiple of 64).
size_t lathe_stripe_hash_absorb(struct lathe_stripe_hash *hash, const uint8_t *bytes, size_t count);

/// The key of everything absorbed followed by `tail[0..<count]`: `key[0]` is its high half,
/// `key[1]` its low half. `hash` is left as it was.
void lathe_stripe_hash_finish(const struct lathe_stripe_hash *hash, const uint8_t *tail, size_t count, uint64_t key[2]);

/// The bulk of whitespace collapsing: copies `src` to `dst` 64 bytes at a time while a block
/// holds only word bytes and single spaces, with `lowercase` lowering A-Z, and takes the other
/// bytes one at a time: a run of whitespace (for `json`, escaped as \n, \t, \r or \f) becomes
/// one space, and with `json` the escapes \" \\ \/ \b are decoded (`*escapes` is set to 1).
/// It stops before the first byte it leaves to the caller (with `json`: a quote, a \u or
/// invalid escape, a control byte, or a byte of 0x80 or above), or when fewer than 64 bytes are
/// left to read or room for fewer than 64 to write. `*space` says whether the last byte written
/// (before the first, on entry) was a space, or nothing was written yet: a space may not follow
/// one. Returns the bytes read; `*written` gets the bytes written (fewer, by escapes and
/// collapsed runs). Blocks are one AVX-512 register where the CPU has AVX-512BW, else an SSE2
/// one (with 64 bytes of room still asked for).
///
/// With a `hash`, the output is absorbed into it as it is written, from `hash->pending` bytes
/// before `dst` on: every whole stripe that is not the last byte written (which may be a
/// trailing space, to be taken back), while it is still in the cache; `hash->pending` gets the
/// bytes left unabsorbed before `dst + *written`.
size_t lathe_collapse_words(const uint8_t *src, size_t count, uint8_t *dst, size_t room, int lowercase, int json,
                            int *space, size_t *written, int *escapes, struct lathe_stripe_hash *hash);

/// With a nonzero argument, `lathe_collapse_words` uses its SSE2 blocks even where the CPU has
/// AVX-512BW, so tests can check both on one machine (they must give the same bytes).
void lathe_collapse_use_narrow_blocks(int yes);

#endif
