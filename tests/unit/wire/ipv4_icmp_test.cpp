#include <gtest/gtest.h>

#include <vector>

#include <tapstack/wire/checksum.hpp>
#include <tapstack/wire/icmp.hpp>
#include <tapstack/wire/ipv4.hpp>

#include "wire_fixtures.hpp"

using namespace tapstack;
using namespace tapstack::wire;

namespace {
std::vector<std::byte> ip_packet_of(std::string_view frame_hex) {
    const auto frame = test_wire::from_hex(frame_hex);
    return {frame.begin() + static_cast<std::ptrdiff_t>(ethernet_header_size), frame.end()};
}
void set_be16(std::vector<std::byte>& b, std::size_t at, std::uint16_t v) { store_be16(b, at, v); }
// Rewrites the header checksum so that a test reaches the check it means to exercise.
void fix_ip_checksum(std::vector<std::byte>& b) {
    const std::size_t ihl = (static_cast<std::size_t>(b[0]) & 0x0f) * 4;
    set_be16(b, 10, 0);
    set_be16(b, 10, internet_checksum(bytes{b}.first(std::min(ihl, b.size()))));
}
}  // namespace

TEST(Ipv4View, ParsesRealIcmpEchoPacket) {
    const auto pkt = ip_packet_of(test_wire::icmp_echo_request_hex);
    auto v = ipv4_view::parse(pkt);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->header_length(), 20);
    EXPECT_EQ(v->total_length(), 84);
    EXPECT_EQ(v->identification(), 0xb2c4);
    EXPECT_TRUE(v->dont_fragment());
    EXPECT_FALSE(v->more_fragments());
    EXPECT_EQ(v->fragment_offset(), 0);
    EXPECT_FALSE(v->is_fragment());
    EXPECT_EQ(v->ttl(), 64);
    EXPECT_EQ(v->protocol(), static_cast<std::uint8_t>(ip_protocol::icmp));
    EXPECT_EQ(v->source(), ip::address_v4(10, 0, 0, 1));
    EXPECT_EQ(v->destination(), ip::address_v4(10, 0, 0, 2));
    EXPECT_TRUE(v->options().empty());
    EXPECT_EQ(v->payload().size(), 64u);
    EXPECT_EQ(v->packet().size(), 84u);
    EXPECT_EQ(v->header().size(), 20u);
}

TEST(Ipv4View, ExcludesLinkPaddingFromPayload) {
    auto pkt = ip_packet_of(test_wire::udp_datagram_hex);  // 44 bytes: a real frame pads to 46
    pkt.resize(46, std::byte{0});
    auto v = ipv4_view::parse(pkt);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->payload().size(), 24u);
    EXPECT_EQ(v->packet().size(), 44u);
}

TEST(Ipv4View, EveryTruncationFails) {
    for (auto hex : {test_wire::icmp_echo_request_hex, test_wire::udp_datagram_hex, test_wire::tcp_syn_hex}) {
        const auto pkt = ip_packet_of(hex);
        for (std::size_t n = 0; n < pkt.size(); ++n) {
            auto r = ipv4_view::parse(bytes{pkt}.first(n));
            ASSERT_FALSE(r) << n;
            if (n < ipv4_min_header_size)
                EXPECT_EQ(r.error(), parse_error::truncated) << n;
            else
                EXPECT_EQ(r.error(), parse_error::bad_total_length) << n;
        }
        EXPECT_TRUE(ipv4_view::parse(pkt));
    }
}

TEST(Ipv4View, RejectsBadChecksum) {
    auto pkt = ip_packet_of(test_wire::tcp_syn_hex);
    for (std::size_t at = 0; at < ipv4_min_header_size; ++at) {
        if (at == 0) continue;  // version/IHL changes are caught earlier
        auto bad = pkt;
        bad[at] ^= std::byte{0x10};
        auto r = ipv4_view::parse(bad);
        ASSERT_FALSE(r) << at;
        EXPECT_EQ(r.error(), parse_error::bad_checksum) << at;
    }
}

TEST(Ipv4View, RejectsBadVersion) {
    auto pkt = ip_packet_of(test_wire::tcp_syn_hex);
    pkt[0] = std::byte{0x65};
    fix_ip_checksum(pkt);
    EXPECT_EQ(ipv4_view::parse(pkt).error(), parse_error::bad_version);
}

TEST(Ipv4View, RejectsBadIhl) {
    auto pkt = ip_packet_of(test_wire::tcp_syn_hex);
    for (unsigned ihl = 0; ihl < 5; ++ihl) {
        pkt[0] = std::byte(static_cast<unsigned char>(0x40 | ihl));
        EXPECT_EQ(ipv4_view::parse(pkt).error(), parse_error::bad_header_length) << ihl;
    }
    // IHL 15 = 60 bytes of header, beyond a 40-byte packet.
    auto small = ip_packet_of(test_wire::udp_datagram_hex);
    small.resize(40);
    set_be16(small, 2, 40);
    small[0] = std::byte{0x4f};
    EXPECT_EQ(ipv4_view::parse(small).error(), parse_error::bad_header_length);
}

TEST(Ipv4View, RejectsBadTotalLength) {
    auto pkt = ip_packet_of(test_wire::tcp_syn_hex);
    for (std::uint16_t total :
         {std::uint16_t{0}, std::uint16_t{19}, std::uint16_t{61}}) {  // below the header, and beyond the 60-byte buffer
        auto bad = pkt;
        set_be16(bad, 2, total);
        fix_ip_checksum(bad);
        EXPECT_EQ(ipv4_view::parse(bad).error(), parse_error::bad_total_length) << total;
    }
    auto header_only = pkt;
    set_be16(header_only, 2, 20);
    fix_ip_checksum(header_only);
    auto v = ipv4_view::parse(header_only);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->payload().empty());
}

TEST(Ipv4View, OptionsAreBoundedByIhl) {
    // A header with 4 bytes of options (NOP NOP NOP EOL) and 2 bytes of payload.
    auto pkt = test_wire::from_hex("4600 001a 0001 2000 4011 0000 0a000001 0a000002 01010100 abcd");
    fix_ip_checksum(pkt);
    auto v = ipv4_view::parse(pkt);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->header_length(), 24);
    EXPECT_EQ(v->options().size(), 4u);
    EXPECT_EQ(v->payload().size(), 2u);
    EXPECT_EQ(v->payload()[0], std::byte{0xab});
    EXPECT_TRUE(v->more_fragments());
    EXPECT_TRUE(v->is_fragment());
    EXPECT_FALSE(v->dont_fragment());
}

TEST(Ipv4View, FragmentOffset) {
    auto pkt = ip_packet_of(test_wire::udp_datagram_hex);
    set_be16(pkt, 6, 0x00b9);  // offset 185 * 8
    fix_ip_checksum(pkt);
    auto v = ipv4_view::parse(pkt);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->fragment_offset(), 0xb9);
    EXPECT_TRUE(v->is_fragment());
}

TEST(Ipv4Header, EncodesTheRealHeaderByteForByte) {
    const auto pkt = ip_packet_of(test_wire::tcp_syn_hex);
    ipv4_header h;
    h.source = ip::address_v4(10, 0, 0, 1);
    h.destination = ip::address_v4(10, 0, 0, 2);
    h.protocol = static_cast<std::uint8_t>(ip_protocol::tcp);
    h.identification = 0x8e21;
    std::vector<std::byte> buf(ipv4_min_header_size);
    h.encode(buf, 40);
    EXPECT_EQ(buf, std::vector<std::byte>(pkt.begin(), pkt.begin() + 20));  // checksum 0x9898 included
}

TEST(Ipv4Header, RoundTrip) {
    ipv4_header h;
    h.source = ip::address_v4(192, 168, 7, 1);
    h.destination = ip::address_v4(192, 168, 7, 254);
    h.protocol = 17;
    h.ttl = 3;
    h.identification = 0xfffe;
    h.dont_fragment = false;
    h.dscp_ecn = 0xb8;
    std::vector<std::byte> buf(20 + 5, std::byte{0x5a});
    h.encode(buf, 5);
    auto v = ipv4_view::parse(buf);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->source(), h.source);
    EXPECT_EQ(v->destination(), h.destination);
    EXPECT_EQ(v->protocol(), 17);
    EXPECT_EQ(v->ttl(), 3);
    EXPECT_EQ(v->identification(), 0xfffe);
    EXPECT_FALSE(v->dont_fragment());
    EXPECT_EQ(v->dscp_ecn(), 0xb8);
    EXPECT_EQ(v->total_length(), 25);
    EXPECT_EQ(v->payload().size(), 5u);
}

TEST(IcmpView, ParsesRealEchoRequest) {
    const auto pkt = ip_packet_of(test_wire::icmp_echo_request_hex);
    auto icmp = icmp_view::parse(ipv4_view::parse(pkt)->payload());
    ASSERT_TRUE(icmp);
    EXPECT_EQ(icmp->type(), static_cast<std::uint8_t>(icmp_type::echo_request));
    EXPECT_EQ(icmp->code(), 0);
    EXPECT_EQ(icmp->identifier(), 0x1c2b);
    EXPECT_EQ(icmp->sequence(), 1);
    EXPECT_EQ(icmp->rest_of_header(), 0x1c2b0001u);
    ASSERT_EQ(icmp->body().size(), 56u);
    EXPECT_EQ(icmp->body()[16], std::byte{0x10});
    EXPECT_EQ(icmp->body()[55], std::byte{0x37});
}

TEST(IcmpView, EveryTruncationFails) {
    const auto pkt = ip_packet_of(test_wire::icmp_echo_request_hex);
    const bytes message = bytes{pkt}.subspan(20);
    for (std::size_t n = 0; n < message.size(); ++n) {
        auto r = icmp_view::parse(message.first(n));
        ASSERT_FALSE(r) << n;
        EXPECT_EQ(r.error(), n < icmp_header_size ? parse_error::truncated : parse_error::bad_checksum) << n;
    }
}

TEST(IcmpView, RejectsBadChecksum) {
    auto pkt = ip_packet_of(test_wire::icmp_echo_request_hex);
    std::vector<std::byte> message(pkt.begin() + 20, pkt.end());
    for (std::size_t at = 0; at < message.size(); ++at) {
        auto bad = message;
        bad[at] ^= std::byte{0x01};
        auto r = icmp_view::parse(bad);
        ASSERT_FALSE(r) << at;
        EXPECT_EQ(r.error(), parse_error::bad_checksum);
    }
}

TEST(IcmpHeader, EncodesTheRealEchoRequest) {
    const auto pkt = ip_packet_of(test_wire::icmp_echo_request_hex);
    std::vector<std::byte> message(pkt.begin() + 20, pkt.end());
    auto rebuilt = message;
    std::fill(rebuilt.begin(), rebuilt.begin() + 8, std::byte{0xcc});
    icmp_header h{static_cast<std::uint8_t>(icmp_type::echo_request), 0, 0x1c2b0001u};
    h.encode(rebuilt, 56);
    EXPECT_EQ(rebuilt, message);  // checksum 0x360a included
}

TEST(IcmpHeader, RoundTripUnreachableWithOddBody) {
    std::vector<std::byte> buf(8 + 29);
    for (std::size_t i = 8; i < buf.size(); ++i) buf[i] = std::byte(static_cast<unsigned char>(i * 7));
    icmp_header h{static_cast<std::uint8_t>(icmp_type::destination_unreachable),
                  static_cast<std::uint8_t>(icmp_unreachable_code::fragmentation_needed), 1400};
    h.encode(buf, 29);
    auto v = icmp_view::parse(buf);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->type(), 3);
    EXPECT_EQ(v->code(), 4);
    EXPECT_EQ(v->rest_of_header(), 1400u);
    EXPECT_EQ(v->body().size(), 29u);
}
