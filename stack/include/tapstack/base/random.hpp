#pragma once
// Seeded randomness for the core (ISN keys, port offsets, fault injection): every run replays.
#include <cstddef>
#include <cstdint>

namespace tapstack {

/// xoshiro256** seeded through splitmix64: fast, small, and good enough for non-cryptographic
/// choices. Secrets (RFC 6528 / RFC 6056 keys) are drawn from it once, from a seed the edge
/// takes from the OS in production and fixes in tests.
class random_source {
public:
    explicit random_source(std::uint64_t seed) noexcept {
        for (auto& s : state_) s = splitmix(seed);
    }
    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }
    /// Uniform in [0, bound) (bound > 0), by Lemire's multiply-shift; the tiny bias is irrelevant here.
    std::uint32_t below(std::uint32_t bound) noexcept {
        return static_cast<std::uint32_t>(((next() >> 32) * bound) >> 32);
    }
    /// True with probability p (0..1).
    bool chance(double p) noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix(std::uint64_t& x) noexcept {
        std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint64_t state_[4]{};
};

/// SipHash-2-4 keyed hash: the keyed function behind RFC 6528 ISNs and RFC 6056 port offsets.
std::uint64_t siphash24(const std::uint64_t key[2], const void* data, std::size_t len) noexcept;

}  // namespace tapstack
