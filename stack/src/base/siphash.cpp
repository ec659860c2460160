// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012).
#include <tapstack/base/random.hpp>

namespace tapstack {
namespace {
inline std::uint64_t rotl(std::uint64_t x, int b) noexcept { return (x << b) | (x >> (64 - b)); }

// Little-endian load regardless of the host: the paper defines the message words that way.
inline std::uint64_t load_le64(const unsigned char* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{p[i]} << (8 * i);
    return v;
}

struct sip_state {
    std::uint64_t v0, v1, v2, v3;
    void round() noexcept {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    }
    void compress(std::uint64_t m) noexcept {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};
}  // namespace

std::uint64_t siphash24(const std::uint64_t key[2], const void* data, std::size_t len) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    sip_state s{key[0] ^ 0x736f6d6570736575ULL, key[1] ^ 0x646f72616e646f6dULL, key[0] ^ 0x6c7967656e657261ULL,
                key[1] ^ 0x7465646279746573ULL};
    const std::size_t full = len & ~std::size_t{7};
    for (std::size_t i = 0; i < full; i += 8) s.compress(load_le64(p + i, 8));
    // The last word holds the remaining bytes and, in its top byte, len mod 256.
    s.compress(load_le64(p + full, len - full) | (std::uint64_t{len & 0xff} << 56));
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace tapstack
