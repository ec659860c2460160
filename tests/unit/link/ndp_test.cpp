// Neighbor Discovery through the stack on a virtual clock (RFC 4861, RFC 4862): NS/NA, the
// cache states, DAD, router advertisements. (ICMPv6 echo and errors are in ../ip/icmpv6_test.cpp.)
#include "v6_harness.hpp"

namespace tapstack::testing {
namespace {
using namespace std::chrono_literals;

std::vector<std::uint8_t> as_vec(bytes b) {
    std::vector<std::uint8_t> v;
    for (auto x : b) v.push_back(static_cast<std::uint8_t>(x));
    return v;
}

TEST(Ipv6Ndp, SolicitationForOurAddressIsAnsweredWithSolicitedOverrideAdvertisement) {
    harness6 h;
    h.inject(h.ns(h.us()));
    ASSERT_EQ(h.pending(), 1u);
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.eth_dst, h.peer_mac);  // straight to the source link-layer address
    EXPECT_EQ(c.ip->hop_limit(), 255);
    EXPECT_EQ(c.ip->destination(), h.peer);
    auto na = wire::neighbor_advertisement::parse(*c.icmp);
    ASSERT_TRUE(na);
    EXPECT_TRUE(na->solicited);
    EXPECT_TRUE(na->override_flag);
    EXPECT_EQ(na->target, h.us());
    EXPECT_EQ(na->target_link_layer, h.stack.config().mac);
}

TEST(Ipv6Ndp, SolicitationsWithHopLimitBelow255OrForOthersAreIgnored) {
    harness6 h;
    auto f = h.ns(h.us());
    f[14 + 7] = std::byte{254};  // hop limit: the NS is also no longer checksummed wrong (not covered)
    h.inject(f);
    EXPECT_EQ(h.pending(), 0u);
    h.inject(h.ns(v6("2001:db8::77")));
    EXPECT_EQ(h.pending(), 0u);
    EXPECT_GE(h.stack.stats().icmp6.in_errors, 1u);
    // Control: the same solicitation with hop limit 255, for our address, is answered.
    h.inject(h.ns(h.us()));
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.icmp->type(), 136);
}

TEST(Ipv6Ndp, LinkLocalAddressFromTheMacAnswersToo) {
    harness6 h;
    EXPECT_EQ(h.us_ll(), v6("fe80::ff:fe00:2"));
    h.inject(h.ns(h.us_ll(), h.peer_ll));
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.ip->source(), h.us_ll());
    EXPECT_EQ(c.ip->destination(), h.peer_ll);
}

TEST(Ipv6Ndp, MulticastForOtherGroupsIsNotForUs) {
    harness6 h;
    auto f = h.ping(1, 1, {}, v6("ff02::1:ff00:77"));
    h.inject(f);
    EXPECT_EQ(h.pending(), 0u);
    EXPECT_GE(h.stack.stats().link.in_not_for_us, 1u);
}

TEST(Ipv6Ndp, ResolutionGoesIncompleteToReachableAndReleasesTheQueuedPacket) {
    harness6 h;
    const std::array<std::byte, 3> data{std::byte{1}, std::byte{2}, std::byte{3}};
    h.inject(h.ping(7, 1, data));
    // INCOMPLETE: a multicast solicitation to the peer's solicited-node group.
    auto ns = h.next();
    ASSERT_TRUE(ns.icmp);
    EXPECT_EQ(ns.icmp->type(), 135);
    EXPECT_EQ(ns.ip->destination(), wire::solicited_node_multicast(h.peer));
    EXPECT_EQ(ns.eth_dst, wire::multicast_mac(wire::solicited_node_multicast(h.peer)));
    EXPECT_EQ(ns.ip->source(), h.us());
    EXPECT_EQ(h.pending(), 0u);
    h.inject(h.na(h.peer, true, true));
    auto reply = h.next();
    ASSERT_TRUE(reply.icmp);
    EXPECT_EQ(reply.icmp->type(), 129);
    EXPECT_EQ(reply.eth_dst, h.peer_mac);
    EXPECT_EQ(reply.icmp->identifier(), 7);
    EXPECT_EQ(as_vec(reply.icmp->body()), (std::vector<std::uint8_t>{1, 2, 3}));
    // REACHABLE: the next packet goes at once, no solicitation.
    h.inject(h.ping(7, 2, data));
    EXPECT_EQ(h.next().icmp->type(), 129);
    EXPECT_EQ(h.pending(), 0u);
}

TEST(Ipv6Ndp, IncompleteGivesUpAfterThreeMulticastSolicitations) {
    harness6 h;
    h.inject(h.ping(7, 1, {}));
    EXPECT_EQ(h.pending(), 1u);
    h.advance(1s);
    h.advance(1s);
    EXPECT_EQ(h.pending(), 3u);
    h.advance(1s);
    EXPECT_EQ(h.pending(), 3u);
    EXPECT_EQ(h.stack.stats().icmp6.nd_resolution_failures, 1u);
    EXPECT_EQ(h.stack.stats().icmp6.nd_pending_drops, 1u);
    h.clear();
    h.inject(h.na(h.peer, true, true));  // too late: no entry, silently dropped
    EXPECT_EQ(h.pending(), 0u);
}

TEST(Ipv6Ndp, ReachableTurnsStaleThenDelayThenProbeThenIsDeleted) {
    auto cfg = harness6::default_config();
    cfg.nd_reachable_time = 30s;
    harness6 h{cfg};
    h.inject(h.ping(7, 1, {}));
    h.clear();
    h.inject(h.na(h.peer, true, true));  // REACHABLE
    h.clear();
    h.advance(31s);  // STALE: nothing sent
    EXPECT_EQ(h.pending(), 0u);
    h.inject(h.ping(7, 2, {}));  // sent at once from STALE, entry -> DELAY
    EXPECT_EQ(h.next().icmp->type(), 129);
    h.advance(4s);
    EXPECT_EQ(h.pending(), 0u);
    h.advance(1s);  // DELAY_FIRST_PROBE_TIME: PROBE, a unicast NS
    auto probe = h.next();
    ASSERT_TRUE(probe.icmp);
    EXPECT_EQ(probe.icmp->type(), 135);
    EXPECT_EQ(probe.ip->destination(), h.peer);
    EXPECT_EQ(probe.eth_dst, h.peer_mac);
    h.advance(1s);
    h.advance(1s);
    EXPECT_EQ(h.pending(), 2u);  // MAX_UNICAST_SOLICIT = 3 in all
    h.clear();
    h.advance(1s);  // deleted: the next packet starts over from INCOMPLETE
    h.inject(h.ping(7, 3, {}));
    auto ns = h.next();
    ASSERT_TRUE(ns.icmp);
    EXPECT_EQ(ns.ip->destination(), wire::solicited_node_multicast(h.peer));
}

TEST(Ipv6Ndp, ProbeAnsweredGoesBackToReachable) {
    harness6 h;
    h.learn_peer();  // STALE from the solicitation
    h.inject(h.ping(7, 1, {}));
    EXPECT_EQ(h.next().icmp->type(), 129);  // DELAY
    h.advance(5s);
    EXPECT_EQ(h.next().icmp->type(), 135);  // PROBE
    h.inject(h.na(h.peer, true, false));
    h.advance(10s);
    EXPECT_EQ(h.pending(), 0u);  // REACHABLE: no more probes
}

TEST(Ipv6Ndp, AdvertisementWithoutOverrideOnlyMakesAReachableEntryStale) {
    harness6 h;
    h.inject(h.ping(7, 1, {}));
    h.clear();
    h.inject(h.na(h.peer, true, true));
    h.clear();
    const link::mac_address other{{0x02, 0, 0, 0, 0, 0x55}};
    h.inject(h.na(h.peer, false, false, other));  // REACHABLE -> STALE, MAC kept
    h.inject(h.ping(7, 2, {}));
    EXPECT_EQ(h.next().eth_dst, h.peer_mac);
    h.inject(h.na(h.peer, false, true, other));  // override: the MAC changes
    h.inject(h.ping(7, 3, {}));
    EXPECT_EQ(h.next().eth_dst, other);
}

TEST(Ipv6Dad, TentativeAddressesAreProbedThenPreferredThenARouterIsSolicited) {
    auto cfg = harness6::default_config();
    cfg.dad_transmits = 1;
    cfg.ipv6_send_router_solicitation = true;
    harness6 h{cfg};
    EXPECT_EQ(h.stack.ipv6_address_state(h.us()), stack::address_state::tentative);
    ASSERT_EQ(h.pending(), 2u);
    for (int i = 0; i < 2; ++i) {
        auto c = h.next();
        ASSERT_TRUE(c.icmp);
        EXPECT_EQ(c.icmp->type(), 135);
        EXPECT_TRUE(c.ip->source().is_unspecified());  // RFC 4862 §5.4.2
        auto ns = wire::neighbor_solicitation::parse(*c.icmp);
        ASSERT_TRUE(ns);
        EXPECT_FALSE(ns->source_link_layer);
        EXPECT_EQ(c.ip->destination(), wire::solicited_node_multicast(ns->target));
    }
    // Tentative: a ping to it is dropped.
    h.inject(h.ping(1, 1, {}));
    EXPECT_EQ(h.pending(), 0u);
    h.advance(1s);
    EXPECT_EQ(h.stack.ipv6_address_state(h.us()), stack::address_state::preferred);
    EXPECT_EQ(h.stack.ipv6_address_state(h.us_ll()), stack::address_state::preferred);
    auto rs = h.next();
    ASSERT_TRUE(rs.icmp);
    EXPECT_EQ(rs.icmp->type(), 133);
    EXPECT_EQ(rs.ip->destination(), wire::all_routers_multicast());
}

TEST(Ipv6Dad, AdvertisementForATentativeAddressIsADuplicate) {
    auto cfg = harness6::default_config();
    cfg.dad_transmits = 1;
    harness6 h{cfg};
    h.clear();
    h.inject(h.na(h.us(), false, true, std::nullopt, wire::all_nodes_multicast()));
    EXPECT_EQ(h.stack.ipv6_address_state(h.us()), stack::address_state::duplicate);
    EXPECT_EQ(h.stack.stats().icmp6.dad_conflicts, 1u);
    h.advance(2s);
    EXPECT_EQ(h.stack.ipv6_address_state(h.us()), stack::address_state::duplicate);
    EXPECT_EQ(h.stack.ipv6_address_state(h.us_ll()), stack::address_state::preferred);
    h.clear();
    h.inject(h.ping(1, 1, {}));  // never used
    EXPECT_EQ(h.pending(), 0u);
}

TEST(Ipv6Dad, AnotherNodeProbingTheSameTentativeAddressIsADuplicate) {
    auto cfg = harness6::default_config();
    cfg.dad_transmits = 1;
    harness6 h{cfg};
    h.inject(h.ns(h.us_ll(), ip::address_v6{}));
    EXPECT_EQ(h.stack.ipv6_address_state(h.us_ll()), stack::address_state::duplicate);
}

TEST(Ipv6Dad, ProbeForAPreferredAddressIsDefendedAtAllNodes) {
    harness6 h;
    h.inject(h.ns(h.us(), ip::address_v6{}));
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.ip->destination(), wire::all_nodes_multicast());
    auto na = wire::neighbor_advertisement::parse(*c.icmp);
    ASSERT_TRUE(na);
    EXPECT_FALSE(na->solicited);
}

TEST(Ipv6Router, AdvertisementInstallsADefaultRouteThatExpires) {
    harness6 h;
    // RA: hop limit 64, lifetime 30 s, source link-layer option.
    std::array<std::byte, 16> ra{};
    ra[0] = std::byte{64};
    ra[3] = std::byte{30};
    std::array<std::byte, 8 + 16> body{};
    std::copy(ra.begin() + 4, ra.end(), body.begin());  // reachable, retrans: 0
    body[8] = std::byte{1};
    body[9] = std::byte{1};
    for (int i = 0; i < 6; ++i)
        body[10 + static_cast<std::size_t>(i)] = std::byte{h.peer_mac.bytes[static_cast<std::size_t>(i)]};
    h.inject(h.icmp6(134, 0, (64u << 24) | 30u, bytes{body}.first(16), wire::all_nodes_multicast(), h.peer_ll, 255));
    ASSERT_TRUE(h.stack.ipv6_default_router());
    EXPECT_EQ(*h.stack.ipv6_default_router(), h.peer_ll);
    // Off-link destinations now go to the router's MAC (known from the option: no NS).
    auto s = h.stack.udp_open().value();
    const std::array<std::byte, 2> hi{std::byte{'h'}, std::byte{'i'}};
    ASSERT_TRUE(h.stack.udp_send_to(s, hi, {v6("2001:db9::5"), 9}, h.now));
    auto c = h.next();
    EXPECT_EQ(c.eth_dst, h.peer_mac);
    EXPECT_EQ(c.ip->destination(), v6("2001:db9::5"));
    h.advance(31s);
    EXPECT_FALSE(h.stack.ipv6_default_router());
    EXPECT_EQ(h.stack.udp_send_to(s, hi, {v6("2001:db9::5"), 9}, h.now).error(), errc::host_unreachable);
}

TEST(Ipv6Router, AdvertisementFromAGlobalSourceIsInvalid) {
    harness6 h;
    std::array<std::byte, 8> body{};
    h.inject(h.icmp6(134, 0, (64u << 24) | 30u, body, wire::all_nodes_multicast(), h.peer, 255));
    EXPECT_FALSE(h.stack.ipv6_default_router());
}

}  // namespace
}  // namespace tapstack::testing
