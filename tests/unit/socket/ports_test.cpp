#include <gtest/gtest.h>
#include <set>
#include "harness.hpp"

using namespace tapstack;
using namespace tapstack::testing;

TEST(Ports, BindToZeroPicksFromTheDynamicRange) {
    harness h;
    std::set<ip::port_number> seen;
    for (int i = 0; i < 200; ++i) {
        auto s = h.stack.udp_open().value();
        ASSERT_EQ(h.stack.udp_bind(s, {ip::address_v4::any(), 0}), errc::success);
        auto p = h.stack.udp_local_endpoint(s).value().port;
        EXPECT_GE(p, 49152);
        EXPECT_LE(p, 65535);
        EXPECT_TRUE(seen.insert(p).second) << "port " << p << " handed out twice";
    }
}

TEST(Ports, ConfiguredRangeIsRespectedAndExhaustionIsAnError) {
    auto cfg = harness::default_config();
    cfg.ephemeral_low = 50000;
    cfg.ephemeral_high = 50009;
    harness h{cfg};
    for (int i = 0; i < 10; ++i) {
        auto s = h.stack.udp_open().value();
        ASSERT_EQ(h.stack.udp_bind(s, {ip::address_v4::any(), 0}), errc::success);
        auto p = h.stack.udp_local_endpoint(s).value().port;
        EXPECT_GE(p, 50000);
        EXPECT_LE(p, 50009);
    }
    auto s = h.stack.udp_open().value();
    EXPECT_EQ(h.stack.udp_bind(s, {ip::address_v4::any(), 0}), errc::address_not_available);
}

TEST(Ports, InvalidRangeIsRejectedAtConstruction) {
    auto cfg = harness::default_config();
    cfg.ephemeral_low = 60000;
    cfg.ephemeral_high = 50000;
    EXPECT_TRUE(cfg.validate().has_value());
    recording_sink sink;
    EXPECT_THROW((tapstack::stack{cfg, sink}), std::invalid_argument);
}

TEST(Ports, ConflictOnSamePortAndWildcardOverlap) {
    harness h;
    const ip::address ours = h.us();
    auto a = h.stack.udp_open().value();
    auto b = h.stack.udp_open().value();
    auto c = h.stack.udp_open().value();
    ASSERT_EQ(h.stack.udp_bind(a, {ours, 5000}), errc::success);
    EXPECT_EQ(h.stack.udp_bind(b, {ours, 5000}), errc::address_in_use);
    EXPECT_EQ(h.stack.udp_bind(c, {ip::address_v4::any(), 5000}), errc::address_in_use) << "wildcard overlaps specific";
    auto t1 = h.stack.tcp_open().value();
    auto t2 = h.stack.tcp_open().value();
    EXPECT_EQ(h.stack.tcp_bind(t1, {ip::address_v4::any(), 5000}), errc::success) << "TCP and UDP ports are separate";
    EXPECT_EQ(h.stack.tcp_bind(t2, {ours, 5000}), errc::address_in_use) << "specific overlaps wildcard";
}

TEST(Ports, BindToForeignAddressIsRefused) {
    harness h;
    auto s = h.stack.udp_open().value();
    EXPECT_EQ(h.stack.udp_bind(s, {ip::address{ip::address_v4{10, 0, 0, 9}}, 5000}), errc::address_not_available);
}

TEST(Ports, PrivilegedPortsNeedAPrivilegedStack) {
    auto cfg = harness::default_config();
    cfg.privileged = false;
    harness h{cfg};
    auto u = h.stack.udp_open().value();
    EXPECT_EQ(h.stack.udp_bind(u, {ip::address_v4::any(), 80}), errc::access_denied);
    auto t = h.stack.tcp_open().value();
    EXPECT_EQ(h.stack.tcp_bind(t, {ip::address_v4::any(), 1023}), errc::access_denied);
    EXPECT_EQ(h.stack.tcp_bind(t, {ip::address_v4::any(), 1024}), errc::success);
    harness privileged;
    auto p = privileged.stack.tcp_open().value();
    EXPECT_EQ(privileged.stack.tcp_bind(p, {ip::address_v4::any(), 80}), errc::success);
}

TEST(Ports, OnlyOneListenerEvenWithReuseAddress) {
    harness h;
    auto a = h.stack.tcp_open().value();
    auto b = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_set_reuse_address(a, true), errc::success);
    ASSERT_EQ(h.stack.tcp_set_reuse_address(b, true), errc::success);
    ASSERT_EQ(h.stack.tcp_bind(a, {ip::address_v4::any(), 8080}), errc::success);
    ASSERT_EQ(h.stack.tcp_listen(a, 16), errc::success);
    EXPECT_EQ(h.stack.tcp_bind(b, {ip::address_v4::any(), 8080}), errc::address_in_use);
}

TEST(Ports, ClosingAListenerFreesItsPort) {
    harness h;
    auto a = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_bind(a, {ip::address_v4::any(), 8080}), errc::success);
    ASSERT_EQ(h.stack.tcp_listen(a, 16), errc::success);
    h.stack.tcp_close(a, h.now);
    auto b = h.stack.tcp_open().value();
    EXPECT_EQ(h.stack.tcp_bind(b, {ip::address_v4::any(), 8080}), errc::success);
}

TEST(Ports, TcpSegmentWithPortZeroIsDropped) {
    harness h;
    h.learn_peer();
    wire::tcp_segment seg;
    seg.source_port = 0;
    seg.destination_port = 80;
    seg.seq = tcp::seq_number{1000};
    seg.flags.syn = true;
    seg.window = 65535;
    h.inject(h.tcp(seg));
    seg.source_port = 4000;
    seg.destination_port = 0;
    h.inject(h.tcp(seg));
    EXPECT_EQ(h.pending(), 0u) << "no RST for port 0";
    EXPECT_EQ(h.stack.stats().tcp.port_zero_drops, 2u);
}

TEST(Ports, SegmentForNoSocketGetsReset) {
    harness h;
    h.learn_peer();
    wire::tcp_segment syn;
    syn.source_port = 4000;
    syn.destination_port = 81;
    syn.seq = tcp::seq_number{1000};
    syn.flags.syn = true;
    syn.window = 65535;
    h.inject(h.tcp(syn));
    auto c = h.next();
    ASSERT_TRUE(c.tcp);
    EXPECT_TRUE(c.tcp->flags.rst);
    EXPECT_TRUE(c.tcp->flags.ack);
    EXPECT_EQ(c.tcp->seq, tcp::seq_number{0});
    EXPECT_EQ(c.tcp->ack, tcp::seq_number{1001});  // RFC 9293 §3.10.7.1: SEG.SEQ+SEG.LEN
    wire::tcp_segment ack;
    ack.source_port = 4000;
    ack.destination_port = 81;
    ack.seq = tcp::seq_number{1000};
    ack.ack = tcp::seq_number{777};
    ack.flags.ack = true;
    h.inject(h.tcp(ack));
    auto r = h.next();
    ASSERT_TRUE(r.tcp);
    EXPECT_TRUE(r.tcp->flags.rst);
    EXPECT_FALSE(r.tcp->flags.ack);
    EXPECT_EQ(r.tcp->seq, tcp::seq_number{777});  // <SEQ=SEG.ACK><CTL=RST>
    wire::tcp_segment rst = ack;
    rst.flags.rst = true;
    h.inject(h.tcp(rst));
    EXPECT_EQ(h.pending(), 0u) << "never a RST in reply to a RST";
}
