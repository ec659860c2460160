// Every implementation of the checksum (scalar, SSE2, AVX2: whichever this machine runs) against
// a byte-at-a-time reference, at every start alignment, and through checksum_accumulator in
// pieces of odd sizes. The carry edge cases are all-0xff buffers (every word 0xffff, the largest
// lane sums) and all-0x00 ones (the sum that must stay 0, not become 0xffff).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <tapstack/wire/checksum.hpp>

using namespace tapstack;
using namespace tapstack::wire;
using detail::checksum_impl;

namespace {

constexpr checksum_impl all_impls[] = {checksum_impl::scalar, checksum_impl::avx2};

const char* name(checksum_impl i) {
    switch (i) {
    case checksum_impl::scalar: return "scalar";
    case checksum_impl::avx2: return "avx2";
    }
    return "?";
}

std::vector<checksum_impl> available_impls() {
    std::vector<checksum_impl> v;
    for (const auto i : all_impls)
        if (detail::checksum_impl_available(i)) v.push_back(i);
    return v;
}

// RFC 1071 §1 as written: byte i is the high half of word i/2 when i is even, the low half when
// odd; a 32-bit sum folded with end-around carry after every byte.
std::uint16_t reference_sum(bytes data) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < data.size(); ++i) {
        const auto b = static_cast<std::uint32_t>(data[i]);
        sum += (i % 2 == 0) ? b << 8 : b;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(sum);
}

enum class fill { random, ones, zeros };

// A piece of `len` bytes at `offset` into its storage, with 64 bytes of slack after it. The bytes
// around a piece of 0xff or 0x00 differ from it, so a read outside the piece changes the sum.
struct buffer {
    std::vector<std::byte> storage;
    bytes piece;
};

buffer make_buffer(std::mt19937& rng, fill f, std::size_t offset, std::size_t len) {
    buffer b;
    b.storage.resize(offset + len + 64);
    for (std::size_t i = 0; i < b.storage.size(); ++i) {
        const bool inside = i >= offset && i < offset + len;
        switch (f) {
        case fill::random: b.storage[i] = std::byte(static_cast<unsigned char>(rng())); break;
        case fill::ones: b.storage[i] = inside ? std::byte{0xff} : std::byte{0x5a}; break;
        case fill::zeros: b.storage[i] = inside ? std::byte{0x00} : std::byte{0xa5}; break;
        }
    }
    b.piece = bytes{b.storage}.subspan(offset, len);
    return b;
}

// Restores the implementation checksum_accumulator uses when a test ends.
class impl_scope {
public:
    explicit impl_scope(checksum_impl i) : previous_{detail::select_checksum_impl(i)} {}
    ~impl_scope() { detail::select_checksum_impl(previous_); }
    impl_scope(const impl_scope&) = delete;
    impl_scope& operator=(const impl_scope&) = delete;

private:
    checksum_impl previous_;
};

}  // namespace

TEST(ChecksumSimd, ReferenceMatchesRfc1071Example) {
    // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2; so must the reference the rest trusts.
    const std::vector<std::byte> data{std::byte{0x00}, std::byte{0x01}, std::byte{0xf2}, std::byte{0x03},
                                      std::byte{0xf4}, std::byte{0xf5}, std::byte{0xf6}, std::byte{0xf7}};
    EXPECT_EQ(reference_sum(data), 0xddf2);
    for (const auto i : available_impls()) EXPECT_EQ(detail::folded_sum(i, data), 0xddf2) << name(i);
}

TEST(ChecksumSimd, FastestAvailableImplementationIsSelected) {
    EXPECT_TRUE(detail::checksum_impl_available(checksum_impl::scalar));
#if defined(__x86_64__)
    EXPECT_EQ(detail::checksum_impl_available(checksum_impl::avx2), static_cast<bool>(__builtin_cpu_supports("avx2")));
#endif
    EXPECT_EQ(detail::checksum_impl_selected(), available_impls().back());
    {
        impl_scope s{checksum_impl::scalar};
        EXPECT_EQ(detail::checksum_impl_selected(), checksum_impl::scalar);
    }
    EXPECT_EQ(detail::checksum_impl_selected(), available_impls().back());
}

TEST(ChecksumSimd, EveryLengthUpTo300AtEveryOffsetMatchesReference) {
    std::mt19937 rng{1071};
    for (const fill f : {fill::random, fill::ones, fill::zeros})
        for (std::size_t offset = 0; offset < 64; ++offset)
            for (std::size_t len = 0; len <= 300; ++len) {
                const buffer b = make_buffer(rng, f, offset, len);
                const std::uint16_t want = reference_sum(b.piece);
                for (const auto i : available_impls())
                    ASSERT_EQ(detail::folded_sum(i, b.piece), want)
                        << name(i) << " fill " << static_cast<int>(f) << " offset " << offset << " len " << len;
            }
}

TEST(ChecksumSimd, RandomLengthsUpTo70000AtEveryOffsetMatchReference) {
    std::mt19937 rng{70000};
    for (const fill f : {fill::random, fill::ones, fill::zeros})
        for (std::size_t offset = 0; offset < 64; ++offset) {
            const std::size_t len = rng() % 70001;
            const buffer b = make_buffer(rng, f, offset, len);
            const std::uint16_t want = reference_sum(b.piece);
            for (const auto i : available_impls())
                ASSERT_EQ(detail::folded_sum(i, b.piece), want)
                    << name(i) << " fill " << static_cast<int>(f) << " offset " << offset << " len " << len;
        }
}

TEST(ChecksumSimd, AllOnesUpTo70000BytesFoldToFfff) {
    // Every word is 0xffff, one's-complement -0: any non-empty sum of them is 0xffff, and an
    // implementation that drops a carry out of a lane or a fold comes out below it. An odd
    // length ends in the word ff00 (RFC 1071 §4.1), and 0xffff * k + 0xff00 folds to 0xff00.
    std::vector<std::byte> ones(70000 + 64, std::byte{0xff});
    for (const std::size_t len : {2u, 64u, 1468u, 65535u, 65536u, 70000u})
        for (const std::size_t offset : {0u, 1u, 31u, 63u})
            for (const auto i : available_impls())
                EXPECT_EQ(detail::folded_sum(i, bytes{ones}.subspan(offset, len)), len % 2 == 0 ? 0xffff : 0xff00)
                    << name(i) << " " << offset << " " << len;
}

TEST(ChecksumSimd, OddPiecesThroughAccumulatorMatchReferenceForEveryImplementation) {
    std::mt19937 rng{20261125};
    for (const auto i : available_impls()) {
        impl_scope scope{i};
        for (int round = 0; round < 300; ++round) {
            const fill f = round % 10 == 0 ? fill::ones : round % 10 == 1 ? fill::zeros : fill::random;
            const std::size_t len = round < 150 ? rng() % 400 : rng() % 70001;
            const buffer b = make_buffer(rng, f, rng() % 64, len);
            checksum_accumulator acc;
            std::string cuts;
            for (std::size_t at = 0; at < len;) {
                // Mostly odd sizes, some large enough for the vector loops, some tiny.
                std::size_t n = rng() % 4 == 0 ? rng() % 8 : rng() % (len / 2 + 2);
                if (rng() % 4 != 0) n |= 1u;
                n = std::min(n, len - at);
                acc.add(b.piece.subspan(at, n));
                cuts += std::to_string(n) + " ";
                at += n;
            }
            const std::uint16_t want = reference_sum(b.piece);
            ASSERT_EQ(acc.folded(), want) << name(i) << " round " << round << " pieces " << cuts;
            ASSERT_EQ(acc.finish(), static_cast<std::uint16_t>(~want)) << name(i);
            ASSERT_EQ(internet_checksum(b.piece), static_cast<std::uint16_t>(~want)) << name(i);
        }
    }
}
