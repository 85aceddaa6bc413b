#include "stripe_hash.h"

void lathe_stripe_hash_start(struct lathe_stripe_hash *hash) {
    __builtin_memcpy(hash->lanes, stripe_start, sizeof hash->lanes);
    hash->stripes = 0;
    hash->pending = 0;
}

size_t lathe_stripe_hash_absorb(struct lathe_stripe_hash *hash, const uint8_t *bytes, size_t count) {
    lanes8 lanes;
    load_lanes(&lanes, hash->lanes);
    size_t i = 0;
    for (; i + 64 <= count; i += 64) stripe_absorb(&lanes, bytes + i, hash->stripes++);
    __builtin_memcpy(hash->lanes, &lanes, sizeof lanes);
    return i;
}

/// The high and low halves of the 128-bit product, xored.
static inline uint64_t mum(uint64_t a, uint64_t b) {
    unsigned __int128 product = (unsigned __int128)a * b;
    return (uint64_t)(product >> 64) ^ (uint64_t)product;
}

/// MurmurHash3's fmix64, as `Hash64.finalize`: every input bit reaches every output bit.
static inline uint64_t finalize(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccd;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53;
    h ^= h >> 33;
    return h;
}

void lathe_stripe_hash_finish(const struct lathe_stripe_hash *hash, const uint8_t *tail, size_t count, uint64_t key[2]) {
    struct lathe_stripe_hash end = *hash;
    size_t i = lathe_stripe_hash_absorb(&end, tail, count);
    uint64_t length = end.stripes * 64 + (count - i);
    if (i < count) {
        // The last stripe, zero-padded: the length, folded in below, tells it from one with zeros.
        uint8_t last[64] = {0};
        __builtin_memcpy(last, tail + i, count - i);
        lathe_stripe_hash_absorb(&end, last, 64);
    }
    // Each half of the key folds every lane pair under its own keys.
    uint64_t high = length * 0x9e3779b97f4a7c15, low = ~length * 0x9e3779b97f4a7c15;
    for (int j = 0; j < 8; j += 2) {
        high += mum(end.lanes[j] ^ stripe_finish[j], end.lanes[j + 1] ^ stripe_finish[j + 1]);
        low += mum(end.lanes[j] ^ stripe_finish[8 + j], end.lanes[j + 1] ^ stripe_finish[9 + j]);
    }
    key[0] = finalize(high);
    key[1] = finalize(low);
}
