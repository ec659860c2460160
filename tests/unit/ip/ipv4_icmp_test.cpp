#include <gtest/gtest.h>
#include "harness.hpp"

using namespace tapstack;
using namespace tapstack::testing;

TEST(Icmp, EchoRequestGetsIdenticalReply) {
    harness h;
    h.learn_peer();
    const std::string data = "abcdefghijklmnopqrstuvwxyz0123456789";
    h.inject(h.ping(0x4242, 7, as_bytes_of(data)));
    ASSERT_EQ(h.pending(), 1u);
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.icmp->type(), 0);
    EXPECT_EQ(c.icmp->identifier(), 0x4242);
    EXPECT_EQ(c.icmp->sequence(), 7);
    auto body = c.icmp->body();
    ASSERT_EQ(body.size(), data.size());
    EXPECT_TRUE(std::equal(body.begin(), body.end(), as_bytes_of(data).begin()));
    EXPECT_EQ(c.ip->destination(), h.peer.ip);
    EXPECT_EQ(c.ip->ttl(), 64);
    EXPECT_EQ(h.stack.stats().icmp.out_echo_reps, 1u);
}

TEST(Icmp, EchoWithBadChecksumIsDropped) {
    harness h;
    h.learn_peer();
    const std::string data = "x";
    auto f = h.ping(1, 1, as_bytes_of(data));
    f[34 + 2] ^= std::byte{0xff};
    h.inject(f);
    EXPECT_EQ(h.pending(), 0u);
    EXPECT_EQ(h.stack.stats().icmp.in_errors, 1u);
}

TEST(Icmp, BroadcastEchoIsNotAnswered) {
    harness h;
    h.learn_peer();
    frame icmp(8);
    wire::icmp_header{8, 0, 0x00010001}.encode(icmp, 0);
    h.inject(h.ipv4(1, icmp, ip::address_v4::broadcast()));
    EXPECT_EQ(h.pending(), 0u);
    // Control: the same echo request to our address is answered.
    h.inject(h.ipv4(1, icmp));
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.icmp->type(), 0);
}

TEST(Ipv4, BadHeaderChecksumIsCountedAndDropped) {
    harness h;
    h.learn_peer();
    const std::string data = "x";
    auto f = h.ping(1, 1, as_bytes_of(data));
    f[14 + 10] ^= std::byte{0x01};
    h.inject(f);
    EXPECT_EQ(h.pending(), 0u);
    EXPECT_EQ(h.stack.stats().ip.in_hdr_errors, 1u);
}

TEST(Ipv4, EveryTruncationIsDroppedWithoutReply) {
    harness h;
    h.learn_peer();
    const std::string data = "0123456789";
    auto f = h.ping(1, 1, as_bytes_of(data));
    for (std::size_t n = 0; n < f.size(); ++n) h.inject(bytes{f.data(), n});
    EXPECT_EQ(h.pending(), 0u);
    const auto& st = h.stack.stats();
    EXPECT_EQ(st.link.in_truncated + st.ip.in_hdr_errors, f.size());
}

TEST(Ipv4, PacketForAnotherHostIsDropped) {
    harness h;
    const std::string data = "x";
    frame icmp(9);
    wire::icmp_header{8, 0, 0x00010001}.encode(icmp, 1);
    h.inject(h.ipv4(1, icmp, ip::address_v4{10, 0, 0, 77}));
    EXPECT_EQ(h.pending(), 0u);
    EXPECT_EQ(h.stack.stats().ip.in_addr_errors, 1u);
}

TEST(Ipv4, FrameForAnotherMacIsDropped) {
    harness h;
    const std::string data = "x";
    auto f = h.ping(1, 1, as_bytes_of(data));
    f[5] = std::byte{0x55};
    h.inject(f);
    EXPECT_EQ(h.pending(), 0u);
    EXPECT_EQ(h.stack.stats().link.in_not_for_us, 1u);
}

TEST(Ipv4, FragmentsAreDroppedAndCounted) {
    harness h;
    h.learn_peer();
    const std::string data = "x";
    auto f = h.ping(1, 1, as_bytes_of(data));
    store_be16(f, 14 + 6, 0x2000);  // MF
    store_be16(f, 14 + 10, 0);
    store_be16(f, 14 + 10, wire::internet_checksum(bytes{f}.subspan(14, 20)));
    h.inject(f);
    EXPECT_EQ(h.pending(), 0u);
    EXPECT_EQ(h.stack.stats().ip.in_fragments_dropped, 1u);
}

TEST(Ipv4, UnknownProtocolGetsProtocolUnreachable) {
    harness h;
    h.learn_peer();
    const std::string payload = "GRE-ish payload";
    auto f = h.ipv4(47, as_bytes_of(payload));
    h.inject(f);
    ASSERT_EQ(h.pending(), 1u);
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.icmp->type(), 3);
    EXPECT_EQ(c.icmp->code(), 2);
    // RFC 792: the quote starts with the offending IP header.
    auto quote = c.icmp->body();
    ASSERT_GE(quote.size(), 28u);
    EXPECT_TRUE(std::equal(quote.begin(), quote.begin() + 28, f.begin() + 14));
    EXPECT_EQ(h.stack.stats().ip.in_unknown_protos, 1u);
}

TEST(Ipv4, OptionsAreSkipped) {
    harness h;
    h.learn_peer();
    // An echo request with a 4-byte NOP/EOL option field (IHL 6).
    const std::string data = "opt";
    frame icmp(8 + data.size());
    copy_bytes(icmp, 8, as_bytes_of(data));
    wire::icmp_header{8, 0, 0x00090002}.encode(icmp, data.size());
    frame f(14 + 24 + icmp.size());
    wire::ethernet_header{h.stack.config().mac, h.peer.mac, 0x0800}.encode(f);
    wire::ipv4_header ih;
    ih.source = h.peer.ip;
    ih.destination = h.stack.config().ipv4.addr;
    ih.protocol = 1;
    frame tmp(20);
    ih.encode(tmp, icmp.size() + 4);
    std::copy(tmp.begin(), tmp.end(), f.begin() + 14);
    f[14] = std::byte{0x46};
    f[14 + 20] = std::byte{1};  // NOP
    f[14 + 21] = std::byte{0};  // EOL
    store_be16(f, 14 + 10, 0);
    store_be16(f, 14 + 10, wire::internet_checksum(bytes{f}.subspan(14, 24)));
    std::copy(icmp.begin(), icmp.end(), f.begin() + 38);
    h.inject(f);
    ASSERT_EQ(h.pending(), 1u);
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.icmp->sequence(), 2);
}

TEST(Icmp, ErrorsAreRateLimited) {
    auto cfg = harness::default_config();
    cfg.icmp_error_rate = 5;
    harness h{cfg};
    h.learn_peer();
    const std::string p = "x";
    for (int i = 0; i < 20; ++i) h.inject(h.udp(4000, 9999, as_bytes_of(p)));
    EXPECT_EQ(h.pending(), 5u);
    EXPECT_EQ(h.stack.stats().icmp.out_rate_limited, 15u);
    EXPECT_EQ(h.stack.stats().udp.no_ports, 20u);
}

TEST(Stats, FormatListsNonZeroCountersLikeNetstat) {
    harness h;
    h.learn_peer();
    const std::string data = "x";
    h.inject(h.ping(1, 1, as_bytes_of(data)));
    const std::string text = format_stats(h.stack.stats());
    EXPECT_NE(text.find("Icmp:"), std::string::npos);
    EXPECT_NE(text.find("    1 echo replies sent"), std::string::npos) << text;
    EXPECT_EQ(text.find("segments retransmitted"), std::string::npos) << "zero rows are hidden by default";
    EXPECT_NE(format_stats(h.stack.stats(), true).find("0 segments retransmitted"), std::string::npos);
}
