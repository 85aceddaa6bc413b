#ifndef LATHE_STRIPE_HASH_H
#define LATHE_STRIPE_HASH_H

// The accumulate step of the stripe hash, shared by the collapse kernels (which absorb stripes
// of their output as they write it) and the plain entry points. It is written with vector
// types rather than intrinsics, so that each caller compiles it for its own instruction set
// (one AVX-512 register, or four SSE2 ones) and every one computes the same key.

#include "CDedupeKernels.h"

typedef uint64_t lanes8 __attribute__((vector_size(64)));

// The first 56 outputs of SplitMix64 seeded with 0x4c617468652d6b65 ("Lathe-ke"): lanes'
// starting values, stripe keys (stripe s is keyed by words s%16 ... s%16+7), scramble keys and
// finishing keys, in that order.
static const uint64_t stripe_constants[56] = {
    0x80d4e384b094e64f, 0xc0629c1d5a2fd01b, 0x17d5a25798acc63d, 0x0bf75cdd8f054c00,
    0x9f193521dfc967bb, 0x9ed764bf48f23fe5, 0xf6acf09a06c9624c, 0xac418548213949ee,
    0x92c0a1d60e71f26f, 0xd7c4e7c8de10641f, 0xc5a56e59b0f9ca41, 0x669ea96c8a330e16,
    0x57b5262fcc8eddda, 0x86f21e22f33e6fd8, 0xf9be43a6c679d911, 0xebf35322957949a5,
    0x376415ab49e0df14, 0x87860c93f83fd90a, 0xf961150c85c9f5d4, 0xf883f75c85cb8af5,
    0xe07670275438af2c, 0xbaedcb760f719086, 0x77be403657482a01, 0x78f4ff8137c366b7,
    0x29223c9123b5fc9a, 0xda4240c2a6637b1e, 0x13f8483e03170a25, 0xbc47b7c34bc7e78c,
    0x4878bc6bcd0c015c, 0x5274e30063d638d5, 0x9393d0ecffc5160b, 0xbdc7c6a00421d9b8,
    0xac0644afe2f2656b, 0x699dd706cae0c0f3, 0xde30ecd7977a4ad7, 0x7bf8991ddfd4dd4c,
    0x086f8d8812585de3, 0x5ed79e2a5dea79be, 0x44d1ae72531198d2, 0x105d6bae2ed85039,
    0xb36190dbe615df11, 0xf3cd708787d4e621, 0x23a80266cfa9d0dd, 0xa20bc70ca469b2d5,
    0xc9d423397ea22fb5, 0xc90bfd344d767c43, 0x9c104f6cb500a54a, 0x2cb5c42ef805a84f,
    0xdb2bbf402ea0160b, 0xd9a49c375f195cd1, 0xdb57a418ad2e9545, 0x7def12979ae12be5,
    0xf1f979124db457ca, 0x2921fbd81a913126, 0xf334afab2fee0060, 0x2376b7a1bedfef40,
};
static const uint64_t *const stripe_start = stripe_constants;
static const uint64_t *const stripe_keys = stripe_constants + 8;
static const uint64_t *const stripe_scramble = stripe_constants + 32;
static const uint64_t *const stripe_finish = stripe_constants + 40;

// Vectors pass through pointers, never by value: a 64-byte vector argument or result would have
// a different ABI in each instruction set's caller.
static inline __attribute__((always_inline)) void load_lanes(lanes8 *v, const void *p) { __builtin_memcpy(v, p, sizeof *v); }

/// Absorbs the 64 bytes at `p` as stripe number `s`. Each lane adds the product of the low and
/// high halves of its keyed word (the mixing) and its neighbour's word as it is (so no input
/// bit is lost to a zero product); every 16 stripes the lanes are scrambled by a multiply, so
/// the order of stripes matters beyond the keys of one round.
static inline __attribute__((always_inline)) void stripe_absorb(lanes8 *lanes, const uint8_t *p, uint64_t s) {
    lanes8 d, x;
    load_lanes(&d, p);
    load_lanes(&x, stripe_keys + (s & 15));
    x ^= d;
    *lanes += (x & 0xffffffff) * (x >> 32) + __builtin_shufflevector(d, d, 1, 0, 3, 2, 5, 4, 7, 6);
    if ((s & 15) == 15) {
        lanes8 a = *lanes, keys;
        load_lanes(&keys, stripe_scramble);
        a ^= a >> 47;
        a ^= keys;
        *lanes = a * 0x9e3779b1;
    }
}

#endif
