#include <gtest/gtest.h>

#include <random>
#include <vector>

#include <tapstack/wire/checksum.hpp>

#include "wire_fixtures.hpp"

using namespace tapstack;
using namespace tapstack::wire;

namespace {

// The textbook algorithm, 16 bits at a time, as the reference the fast one must agree with.
std::uint16_t naive_checksum(bytes data) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < data.size(); i += 2) {
        std::uint32_t word = static_cast<std::uint32_t>(data[i]) << 8;
        if (i + 1 < data.size()) word |= static_cast<std::uint32_t>(data[i + 1]);
        sum += word;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

std::vector<std::byte> random_bytes(std::mt19937& rng, std::size_t n) {
    std::vector<std::byte> v(n);
    for (auto& b : v) b = std::byte(static_cast<unsigned char>(rng()));
    return v;
}

}  // namespace

TEST(Checksum, Rfc1071Example) {
    // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2, so the checksum is 220d.
    const auto data = test_wire::from_hex("0001f203f4f5f6f7");
    checksum_accumulator acc;
    acc.add(data);
    EXPECT_EQ(acc.folded(), 0xddf2);
    EXPECT_EQ(acc.finish(), 0x220d);
    EXPECT_EQ(internet_checksum(data), 0x220d);
}

TEST(Checksum, EmptyAndZeroBuffers) {
    EXPECT_EQ(internet_checksum({}), 0xffff);
    const std::vector<std::byte> zeros(37);
    EXPECT_EQ(internet_checksum(zeros), 0xffff);
}

TEST(Checksum, OddLengthPadsWithZeroLowByte) {
    // RFC 1071 §4.1: a trailing byte is the high byte of a word whose low byte is zero.
    EXPECT_EQ(internet_checksum(test_wire::from_hex("ab")), static_cast<std::uint16_t>(~0xab00));
    EXPECT_EQ(internet_checksum(test_wire::from_hex("0001f203f4")),
              static_cast<std::uint16_t>(~(0x0001 + 0xf203 + 0xf400 - 0xffff)));
    const auto data = test_wire::from_hex("0001f203f4f5f6f7ab");
    EXPECT_EQ(internet_checksum(data), naive_checksum(data));
}

TEST(Checksum, EndAroundCarryOnAllOnesWords) {
    const auto ffs = test_wire::from_hex("ffffffffffffffffffffffffffffffffff");  // 17 bytes
    for (std::size_t n = 0; n <= ffs.size(); ++n) {
        const bytes b{ffs.data(), n};
        EXPECT_EQ(internet_checksum(b), naive_checksum(b)) << n;
    }
}

TEST(Checksum, BufferIncludingItsChecksumVerifiesToZero) {
    auto data = test_wire::from_hex("4500003c8e214000400600000a0000010a000002");
    const std::uint16_t c = internet_checksum(data);
    EXPECT_EQ(c, 0x9898);  // the header of the SYN fixture, checksum as scapy computed it
    data[10] = std::byte(c >> 8);
    data[11] = std::byte(c & 0xff);
    EXPECT_EQ(internet_checksum(data), 0);
    checksum_accumulator acc;
    acc.add(data);
    EXPECT_EQ(acc.folded(), 0xffff);
}

TEST(Checksum, SplitAtEveryPositionEqualsOneShot) {
    std::mt19937 rng{1071};
    for (std::size_t len : {0u, 1u, 2u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 33u, 64u, 65u}) {
        const auto data = random_bytes(rng, len);
        const std::uint16_t whole = internet_checksum(data);
        for (std::size_t cut = 0; cut <= len; ++cut) {
            checksum_accumulator acc;
            acc.add(bytes{data}.first(cut));
            acc.add(bytes{data}.subspan(cut));
            EXPECT_EQ(acc.finish(), whole) << "len " << len << " cut " << cut;
        }
    }
}

TEST(Checksum, ThreeOddPiecesEqualOneShot) {
    std::mt19937 rng{3};
    const auto data = random_bytes(rng, 41);
    const std::uint16_t whole = internet_checksum(data);
    for (std::size_t a = 0; a <= data.size(); ++a)
        for (std::size_t b = a; b <= data.size(); ++b) {
            checksum_accumulator acc;
            acc.add(bytes{data}.first(a));
            acc.add(bytes{data}.subspan(a, b - a));
            acc.add(bytes{data}.subspan(b));
            ASSERT_EQ(acc.finish(), whole) << a << "," << b;
        }
}

TEST(Checksum, AddU16AndU32MatchBytesAtEitherParity) {
    const auto bytes_form = test_wire::from_hex("11223344");
    for (bool odd : {false, true}) {
        checksum_accumulator via_bytes, via_u16, via_u32;
        const auto lead = test_wire::from_hex("7f");
        if (odd) {
            via_bytes.add(lead);
            via_u16.add(lead);
            via_u32.add(lead);
        }
        via_bytes.add(bytes_form);
        via_u16.add_u16(0x1122);
        via_u16.add_u16(0x3344);
        via_u32.add_u32(0x11223344);
        EXPECT_EQ(via_u16.finish(), via_bytes.finish()) << odd;
        EXPECT_EQ(via_u32.finish(), via_bytes.finish()) << odd;
    }
}

TEST(Checksum, RandomizedAgainstNaiveReference) {
    std::mt19937 rng{20240611};
    for (int round = 0; round < 2000; ++round) {
        const auto data = random_bytes(rng, rng() % 1600);
        // An unaligned start exercises the memcpy loads.
        const std::size_t skip = data.empty() ? 0 : rng() % std::min<std::size_t>(data.size(), 8);
        const bytes b = bytes{data}.subspan(skip);
        ASSERT_EQ(internet_checksum(b), naive_checksum(b)) << "round " << round << " size " << b.size();
    }
}

TEST(Checksum, SuperFrameOfAllOnesAndNearlyAllOnesMatchesNaiveReference) {
    // The largest sums the parallel accumulators ever hold: a 64 KiB TSO super-segment of 0xff
    // bytes (every word 0xffff), and of 0xff/0xfe (every addition carries).
    for (const std::byte low : {std::byte{0xff}, std::byte{0xfe}}) {
        std::vector<std::byte> data(65535);
        for (std::size_t i = 0; i < data.size(); ++i) data[i] = (i & 1) ? low : std::byte{0xff};
        for (const std::size_t skip : {0u, 1u, 3u}) {
            const bytes b = bytes{data}.subspan(skip);
            EXPECT_EQ(internet_checksum(b), naive_checksum(b)) << "skip " << skip;
        }
    }
}

TEST(Checksum, RandomizedPiecesAgainstNaiveReference) {
    std::mt19937 rng{99};
    for (int round = 0; round < 500; ++round) {
        const auto data = random_bytes(rng, rng() % 300);
        checksum_accumulator acc;
        std::size_t at = 0;
        while (at < data.size()) {
            const std::size_t n = std::min<std::size_t>(data.size() - at, rng() % 23);
            acc.add(bytes{data}.subspan(at, n));
            at += n;
        }
        ASSERT_EQ(acc.finish(), naive_checksum(data)) << round;
    }
}

TEST(Checksum, Ipv4PseudoHeaderIsTwelveBytes) {
    checksum_accumulator acc;
    add_pseudo_header(acc, test_wire::peer_ip, test_wire::our_ip, 6, 40);
    // 0a000001 0a000002 00 06 0028
    EXPECT_EQ(acc.finish(), internet_checksum(test_wire::from_hex("0a0000010a0000020006 0028")));
}

TEST(Checksum, Ipv6PseudoHeaderFollowsRfc8200) {
    const auto src = ip::address::from_string("2001:db8::1").value();
    const auto dst = ip::address::from_string("fe80::2").value();
    checksum_accumulator acc;
    add_pseudo_header(acc, src, dst, 17, 0x12345);
    // RFC 8200 §8.1: src(16) dst(16) upper-layer length(32) zero(24) next header(8).
    const auto expected =
        test_wire::from_hex("20010db8000000000000000000000001 fe800000000000000000000000000002 00012345 00000011");
    EXPECT_EQ(acc.finish(), internet_checksum(expected));
}

TEST(Checksum, MixedFamiliesUseTheV6FormWithMappedAddress) {
    const auto v6 = ip::address::from_string("::1").value();
    checksum_accumulator acc;
    add_pseudo_header(acc, test_wire::peer_ip, v6, 6, 20);
    const auto expected =
        test_wire::from_hex("00000000000000000000ffff0a000001 00000000000000000000000000000001 00000014 00000006");
    EXPECT_EQ(acc.finish(), internet_checksum(expected));
}
