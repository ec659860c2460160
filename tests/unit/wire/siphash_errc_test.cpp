#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>

#include <tapstack/base/random.hpp>
#include <tapstack/errc.hpp>
#include <tapstack/wire/ethernet.hpp>  // parse_result<T>

using namespace tapstack;

namespace {
// Key 00 01 .. 0f, read as two little-endian words (the paper's Appendix A convention).
constexpr std::uint64_t paper_key[2] = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
}  // namespace

TEST(SipHash, PaperAppendixVector) {
    // SipHash paper, Appendix A: key 00..0f, message 00..0e (15 bytes) -> a129ca6149be45e5.
    std::array<unsigned char, 15> msg{};
    for (unsigned i = 0; i < msg.size(); ++i) msg[i] = static_cast<unsigned char>(i);
    EXPECT_EQ(siphash24(paper_key, msg.data(), msg.size()), 0xa129ca6149be45e5ULL);
}

TEST(SipHash, ReferenceVectorsForShortMessages) {
    // The first entries of vectors.h in the reference implementation (same key, message 00..len-1),
    // as little-endian 64-bit values. Covers the empty message and each tail length 1..7 and 8.
    const std::uint64_t expected[] = {
        0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL,
        0x85676696d7fb7e2dULL, 0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL,
        0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL, 0x93f5f5799a932462ULL,
    };
    std::array<unsigned char, 16> msg{};
    for (unsigned i = 0; i < msg.size(); ++i) msg[i] = static_cast<unsigned char>(i);
    for (std::size_t len = 0; len < std::size(expected); ++len)
        EXPECT_EQ(siphash24(paper_key, msg.data(), len), expected[len]) << len;
}

TEST(SipHash, KeyMatters) {
    const std::uint64_t other[2] = {1, 2};
    const char msg[] = "tapstack";
    EXPECT_NE(siphash24(paper_key, msg, 8), siphash24(other, msg, 8));
}

TEST(Errc, HumanMessages) {
    EXPECT_EQ(to_string(errc::connection_refused), "connection refused");
    EXPECT_EQ(to_string(errc::timed_out), "connection timed out");
    EXPECT_EQ(to_string(errc::address_in_use), "address already in use");
    std::set<std::string_view> all;
    for (unsigned e = 0; e <= static_cast<unsigned>(errc::shut_down); ++e) {
        const auto s = to_string(static_cast<errc>(e));
        EXPECT_FALSE(s.empty());
        EXPECT_NE(s, "unknown error") << e;
        all.insert(s);
    }
    EXPECT_EQ(all.size(), static_cast<std::size_t>(errc::shut_down) + 1);  // all distinct
}

TEST(ParseError, NamesAndThrowingAccess) {
    EXPECT_EQ(wire::to_string(wire::parse_error::bad_checksum), "bad checksum");
    EXPECT_EQ(wire::to_string(wire::parse_error::truncated), "truncated");
    std::set<std::string_view> all;
    for (unsigned e = 0; e <= static_cast<unsigned>(wire::parse_error::unsupported); ++e)
        all.insert(wire::to_string(static_cast<wire::parse_error>(e)));
    EXPECT_EQ(all.size(), static_cast<std::size_t>(wire::parse_error::unsupported) + 1);
    wire::parse_result<int> r{wire::parse_error::bad_option};
    EXPECT_THROW((void)r.value(), std::runtime_error);
}
