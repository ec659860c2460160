#include <gtest/gtest.h>

#include <vector>

#include <tapstack/wire/arp.hpp>
#include <tapstack/wire/ethernet.hpp>

#include "wire_fixtures.hpp"

using namespace tapstack;
using namespace tapstack::wire;

namespace {
const link::mac_address peer_mac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const link::mac_address our_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
}  // namespace

TEST(EthernetView, ParsesRealArpFrameHeader) {
    const auto frame = test_wire::from_hex(test_wire::arp_request_hex);
    auto eth = ethernet_view::parse(frame);
    ASSERT_TRUE(eth);
    EXPECT_TRUE(eth->destination().is_broadcast());
    EXPECT_EQ(eth->source(), peer_mac);
    EXPECT_EQ(eth->type(), static_cast<std::uint16_t>(ether_type::arp));
    EXPECT_EQ(eth->payload().size(), 28u);
    EXPECT_EQ(eth->payload().data(), frame.data() + 14);
}

TEST(EthernetView, EveryTruncationFails) {
    const auto frame = test_wire::from_hex(test_wire::tcp_syn_hex);
    for (std::size_t n = 0; n < ethernet_header_size; ++n) {
        auto r = ethernet_view::parse(bytes{frame}.first(n));
        ASSERT_FALSE(r) << n;
        EXPECT_EQ(r.error(), parse_error::truncated);
    }
    auto exact = ethernet_view::parse(bytes{frame}.first(ethernet_header_size));
    ASSERT_TRUE(exact);
    EXPECT_TRUE(exact->payload().empty());
}

TEST(EthernetHeader, RoundTrip) {
    ethernet_header h{our_mac, peer_mac, static_cast<std::uint16_t>(ether_type::ipv4)};
    std::vector<std::byte> buf(ethernet_header_size + 3, std::byte{0xee});
    h.encode(buf);
    EXPECT_EQ(buf, test_wire::from_hex("020000000001 525400123456 0800 eeeeee"));
    auto v = ethernet_view::parse(buf);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->destination(), our_mac);
    EXPECT_EQ(v->source(), peer_mac);
    EXPECT_EQ(v->type(), 0x0800);
    EXPECT_EQ(v->payload().size(), 3u);
}

TEST(ArpView, ParsesRealLinuxRequest) {
    const auto frame = test_wire::from_hex(test_wire::arp_request_hex);
    auto arp = arp_view::parse(ethernet_view::parse(frame)->payload());
    ASSERT_TRUE(arp);
    EXPECT_EQ(arp->operation(), static_cast<std::uint16_t>(arp_operation::request));
    EXPECT_EQ(arp->sender_mac(), peer_mac);
    EXPECT_EQ(arp->sender_ip(), ip::address_v4(10, 0, 0, 1));
    EXPECT_EQ(arp->target_mac(), link::mac_address{});
    EXPECT_EQ(arp->target_ip(), ip::address_v4(10, 0, 0, 2));
}

TEST(ArpView, IgnoresEthernetPadding) {
    auto frame = test_wire::from_hex(test_wire::arp_request_hex);
    frame.resize(60, std::byte{0});  // the 60-byte minimum frame a switch would deliver
    auto arp = arp_view::parse(ethernet_view::parse(frame)->payload());
    ASSERT_TRUE(arp);
    EXPECT_EQ(arp->target_ip(), ip::address_v4(10, 0, 0, 2));
}

TEST(ArpView, EveryTruncationFails) {
    const auto frame = test_wire::from_hex(test_wire::arp_request_hex);
    const bytes payload = bytes{frame}.subspan(ethernet_header_size);
    for (std::size_t n = 0; n < payload.size(); ++n) {
        auto r = arp_view::parse(payload.first(n));
        ASSERT_FALSE(r) << n;
        EXPECT_EQ(r.error(), parse_error::truncated) << n;
    }
}

TEST(ArpView, RejectsOtherHardwareAndProtocols) {
    const auto frame = test_wire::from_hex(test_wire::arp_request_hex);
    const std::vector<std::byte> good(frame.begin() + 14, frame.end());
    for (std::size_t at : {1u, 2u, 3u, 4u, 5u}) {  // htype low byte, ptype, hlen, plen
        auto bad = good;
        bad[at] = std::byte(static_cast<unsigned char>(static_cast<unsigned>(bad[at]) ^ 0x01u));
        auto r = arp_view::parse(bad);
        ASSERT_FALSE(r) << at;
        EXPECT_EQ(r.error(), parse_error::unsupported) << at;
    }
}

TEST(ArpPacket, EncodesTheRealRequestByteForByte) {
    const auto frame = test_wire::from_hex(test_wire::arp_request_hex);
    arp_packet p;
    p.operation = arp_operation::request;
    p.sender_mac = peer_mac;
    p.sender_ip = ip::address_v4(10, 0, 0, 1);
    p.target_ip = ip::address_v4(10, 0, 0, 2);
    std::vector<std::byte> buf(arp_packet_size);
    p.encode(buf);
    EXPECT_EQ(buf, std::vector<std::byte>(frame.begin() + 14, frame.end()));
}

TEST(ArpPacket, ReplyRoundTrip) {
    arp_packet p{arp_operation::reply, our_mac, ip::address_v4(10, 0, 0, 2), peer_mac, ip::address_v4(10, 0, 0, 1)};
    std::vector<std::byte> buf(arp_packet_size);
    p.encode(buf);
    auto v = arp_view::parse(buf);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->operation(), 2);
    EXPECT_EQ(v->sender_mac(), our_mac);
    EXPECT_EQ(v->sender_ip(), ip::address_v4(10, 0, 0, 2));
    EXPECT_EQ(v->target_mac(), peer_mac);
    EXPECT_EQ(v->target_ip(), ip::address_v4(10, 0, 0, 1));
}
