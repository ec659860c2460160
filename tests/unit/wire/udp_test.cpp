#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include <tapstack/wire/checksum.hpp>
#include <tapstack/wire/udp.hpp>

#include "wire_fixtures.hpp"

using namespace tapstack;
using namespace tapstack::wire;
using test_wire::our_ip;
using test_wire::peer_ip;

namespace {
std::vector<std::byte> udp_of_fixture() {
    const auto frame = test_wire::from_hex(test_wire::udp_datagram_hex);
    return {frame.begin() + 34, frame.end()};
}
}  // namespace

TEST(UdpView, ParsesRealDatagram) {
    const auto d = udp_of_fixture();
    auto v = udp_view::parse(d, peer_ip, our_ip);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->source_port(), 45213);
    EXPECT_EQ(v->destination_port(), 7);
    EXPECT_EQ(v->length(), 24);
    EXPECT_EQ(v->checksum(), 0x3552);
    const std::string_view text{reinterpret_cast<const char*>(v->payload().data()), v->payload().size()};
    EXPECT_EQ(text, "hello, tapstack\n");
}

TEST(UdpView, ChecksumCoversThePseudoHeader) {
    const auto d = udp_of_fixture();
    // The same bytes between other addresses do not verify.
    auto r = udp_view::parse(d, peer_ip, ip::address{ip::address_v4(10, 0, 0, 3)});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), parse_error::bad_checksum);
}

TEST(UdpView, EveryTruncationFails) {
    const auto d = udp_of_fixture();
    for (std::size_t n = 0; n < d.size(); ++n) {
        auto r = udp_view::parse(bytes{d}.first(n), peer_ip, our_ip);
        ASSERT_FALSE(r) << n;
        EXPECT_EQ(r.error(), n < udp_header_size ? parse_error::truncated : parse_error::bad_total_length) << n;
    }
}

TEST(UdpView, RejectsBadChecksum) {
    const auto d = udp_of_fixture();
    for (std::size_t at = 0; at < d.size(); ++at) {
        if (at == 4 || at == 5) continue;  // the length field is checked first
        auto bad = d;
        bad[at] ^= std::byte{0x80};
        auto r = udp_view::parse(bad, peer_ip, our_ip);
        ASSERT_FALSE(r) << at;
        EXPECT_EQ(r.error(), parse_error::bad_checksum) << at;
    }
}

TEST(UdpView, RejectsBadLength) {
    for (unsigned len : {0u, 7u, 25u, 0xffffu}) {
        auto d = udp_of_fixture();
        store_be16(d, 4, static_cast<std::uint16_t>(len));
        auto r = udp_view::parse(d, peer_ip, our_ip);
        ASSERT_FALSE(r) << len;
        EXPECT_EQ(r.error(), parse_error::bad_total_length) << len;
    }
}

TEST(UdpView, ZeroChecksumMeansNoneOverIpv4Only) {
    auto d = udp_of_fixture();
    store_be16(d, 6, 0);
    d[10] = std::byte{'j'};  // any payload passes: nothing to verify
    auto v = udp_view::parse(d, peer_ip, our_ip);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->checksum(), 0);
    const auto v6a = ip::address::from_string("2001:db8::1").value();
    const auto v6b = ip::address::from_string("2001:db8::2").value();
    auto r = udp_view::parse(d, v6a, v6b);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), parse_error::bad_checksum);  // RFC 8200 §8.1
}

TEST(UdpView, TrailingBytesBeyondLengthAreNotPayload) {
    auto d = udp_of_fixture();
    d.push_back(std::byte{0xde});
    d.push_back(std::byte{0xad});
    auto v = udp_view::parse(d, peer_ip, our_ip);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->payload().size(), 16u);
}

TEST(UdpHeader, EncodesTheRealDatagramByteForByte) {
    const auto d = udp_of_fixture();
    auto buf = d;
    std::fill(buf.begin(), buf.begin() + 8, std::byte{0});
    udp_header{45213, 7}.encode(buf, 16, peer_ip, our_ip);
    EXPECT_EQ(buf, d);
}

TEST(UdpHeader, RoundTripOverIpv6WithOddPayload) {
    const auto a = ip::address::from_string("fe80::1").value();
    const auto b = ip::address::from_string("fe80::abcd:2").value();
    std::vector<std::byte> buf(8 + 13);
    for (std::size_t i = 8; i < buf.size(); ++i) buf[i] = std::byte(static_cast<unsigned char>(0xf0 + i));
    udp_header{5353, 5353}.encode(buf, 13, a, b);
    auto v = udp_view::parse(buf, a, b);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->source_port(), 5353);
    EXPECT_EQ(v->length(), 21);
    EXPECT_EQ(v->payload().size(), 13u);
    EXPECT_NE(v->checksum(), 0);
}

TEST(UdpHeader, ComputedZeroIsSentAsAllOnes) {
    // Find a payload word that makes the computed checksum 0, then check 0xffff goes out instead.
    std::vector<std::byte> buf(8 + 2);
    for (unsigned w = 0; w <= 0xffff; ++w) {
        store_be16(buf, 8, static_cast<std::uint16_t>(w));
        udp_header{1, 2}.encode(buf, 2, peer_ip, our_ip);
        if (load_be16(buf, 6) == 0xffff) {
            // Was it the RFC 768 substitution? The sum without it would have been 0.
            checksum_accumulator acc;
            add_pseudo_header(acc, peer_ip, our_ip, 17, 10);
            auto copy = buf;
            store_be16(copy, 6, 0);
            acc.add(copy);
            if (acc.finish() != 0) continue;
            EXPECT_TRUE(udp_view::parse(buf, peer_ip, our_ip));
            return;
        }
        ASSERT_NE(load_be16(buf, 6), 0) << w;
    }
    FAIL() << "no payload produced a zero checksum";
}
