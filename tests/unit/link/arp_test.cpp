#include <gtest/gtest.h>
#include "harness.hpp"

using namespace tapstack;
using namespace tapstack::testing;
using namespace std::chrono_literals;

TEST(Arp, AnswersRequestForOurAddress) {
    harness h;
    h.inject(h.arp_request(ip::address_v4{10, 0, 0, 2}));
    ASSERT_EQ(h.pending(), 1u);
    auto c = h.next();
    ASSERT_TRUE(c.arp);
    EXPECT_EQ(c.arp->operation(), 2);
    EXPECT_EQ(c.arp->sender_ip(), (ip::address_v4{10, 0, 0, 2}));
    EXPECT_EQ(c.arp->sender_mac(), h.stack.config().mac);
    EXPECT_EQ(c.arp->target_ip(), h.peer.ip);
    EXPECT_EQ(c.arp->target_mac(), h.peer.mac);
    EXPECT_EQ(c.eth_dst, h.peer.mac);
    EXPECT_EQ(c.bytes_.size(), 60u);  // padded to the Ethernet minimum
    EXPECT_EQ(h.stack.stats().arp.out_replies, 1u);
}

TEST(Arp, IgnoresRequestForAnotherAddress) {
    harness h;
    h.inject(h.arp_request(ip::address_v4{10, 0, 0, 3}));
    EXPECT_EQ(h.pending(), 0u);
    EXPECT_EQ(h.stack.stats().arp.in_requests, 1u);
}

TEST(Arp, MalformedPacketIsCountedAndDropped) {
    harness h;
    auto f = h.arp_request(ip::address_v4{10, 0, 0, 2});
    store_be16(f, 14, 6);  // hardware type IEEE 802 instead of Ethernet
    h.inject(f);
    EXPECT_EQ(h.pending(), 0u);
    EXPECT_EQ(h.stack.stats().arp.in_errors, 1u);
    frame tiny(f.begin(), f.begin() + 20);
    h.inject(tiny);
    EXPECT_EQ(h.stack.stats().arp.in_errors, 2u);
}

TEST(Arp, LearnsFromRequestAndSendsWithoutAsking) {
    harness h;
    h.learn_peer();
    auto s = h.stack.udp_open().value();
    const std::string msg = "hi";
    ASSERT_TRUE(h.stack.udp_send_to(s, as_bytes_of(msg), {h.them(), 5000}, h.now));
    auto c = h.next();
    ASSERT_TRUE(c.udp);
    EXPECT_EQ(c.eth_dst, h.peer.mac);
}

TEST(Arp, QueuesPacketsUntilResolvedThenSendsThemInOrder) {
    harness h;
    auto s = h.stack.udp_open().value();
    const std::string a = "first", b = "second";
    ASSERT_TRUE(h.stack.udp_send_to(s, as_bytes_of(a), {h.them(), 5000}, h.now));
    ASSERT_TRUE(h.stack.udp_send_to(s, as_bytes_of(b), {h.them(), 5000}, h.now));
    ASSERT_EQ(h.pending(), 1u);  // one request, not one per packet
    auto req = h.next();
    ASSERT_TRUE(req.arp);
    EXPECT_EQ(req.arp->operation(), 1);
    EXPECT_EQ(req.arp->target_ip(), h.peer.ip);
    EXPECT_TRUE(req.eth_dst.is_broadcast());
    h.inject(h.arp_reply());
    ASSERT_EQ(h.pending(), 2u);
    auto first = h.next();
    auto second = h.next();
    ASSERT_TRUE(first.udp && second.udp);
    EXPECT_EQ(first.udp->payload().size(), a.size());
    EXPECT_EQ(second.udp->payload().size(), b.size());
    EXPECT_EQ(first.eth_dst, h.peer.mac);
}

TEST(Arp, RetriesThenGivesUpAndDropsWaitingPackets) {
    harness h;
    auto s = h.stack.udp_open().value();
    const std::string a = "lost";
    ASSERT_TRUE(h.stack.udp_send_to(s, as_bytes_of(a), {h.them(), 5000}, h.now));
    h.advance(10s);
    std::size_t requests = 0;
    while (h.pending()) requests += h.next().arp.has_value();
    EXPECT_EQ(requests, h.stack.config().arp_max_retries);
    EXPECT_EQ(h.stack.stats().arp.resolution_failures, 1u);
    EXPECT_EQ(h.stack.stats().arp.pending_drops, 1u);
    // A late reply now sends nothing: the packet was given up.
    h.inject(h.arp_reply());
    EXPECT_EQ(h.pending(), 0u);
}

TEST(Arp, PendingQueuePerAddressIsBounded) {
    auto cfg = harness::default_config();
    cfg.arp_max_pending_per_address = 2;
    harness h{cfg};
    auto s = h.stack.udp_open().value();
    const std::string a = "x";
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.stack.udp_send_to(s, as_bytes_of(a), {h.them(), 5000}, h.now));
    EXPECT_EQ(h.stack.stats().arp.pending_drops, 3u);
    h.clear();
    h.inject(h.arp_reply());
    EXPECT_EQ(h.pending(), 2u);
}

TEST(Arp, EntryExpiresAndIsResolvedAgain) {
    harness h;
    h.learn_peer();
    h.advance(h.stack.config().arp_entry_lifetime + 1s);
    auto s = h.stack.udp_open().value();
    const std::string a = "x";
    ASSERT_TRUE(h.stack.udp_send_to(s, as_bytes_of(a), {h.them(), 5000}, h.now));
    auto c = h.next();
    EXPECT_TRUE(c.arp) << "an expired entry must be asked for again";
}

TEST(Arp, GatewayIsResolvedForOffLinkDestinations) {
    auto cfg = harness::default_config();
    cfg.gateway = ip::address_v4{10, 0, 0, 1};
    harness h{cfg};
    h.learn_peer();
    auto s = h.stack.udp_open().value();
    const std::string a = "x";
    ASSERT_TRUE(h.stack.udp_send_to(s, as_bytes_of(a), {ip::address{ip::address_v4{192, 0, 2, 7}}, 53}, h.now));
    auto c = h.next();
    ASSERT_TRUE(c.udp);
    EXPECT_EQ(c.eth_dst, h.peer.mac);
    EXPECT_EQ(c.ip->destination(), (ip::address_v4{192, 0, 2, 7}));
}

TEST(Arp, NoRouteWithoutGateway) {
    harness h;
    auto s = h.stack.udp_open().value();
    const std::string a = "x";
    auto r = h.stack.udp_send_to(s, as_bytes_of(a), {ip::address{ip::address_v4{192, 0, 2, 7}}, 53}, h.now);
    EXPECT_FALSE(r);
    EXPECT_EQ(h.stack.stats().ip.out_no_routes, 1u);
    EXPECT_EQ(h.pending(), 0u);
}
