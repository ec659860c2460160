// ICMPv6 through the stack on a virtual clock (RFC 4443): echo to a multicast group, parameter
// problems, no error about an error, rate limiting. (NDP is in tests/unit/link/ndp_test.cpp.)
#include "v6_harness.hpp"

namespace tapstack::testing {
namespace {
using namespace std::chrono_literals;

TEST(Icmpv6, EchoRequestToTheAllNodesGroupIsAnsweredFromOurAddress) {
    harness6 h;
    h.learn_peer();
    h.inject(h.ping(9, 4, {}, wire::all_nodes_multicast()));
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.icmp->type(), 129);
    EXPECT_EQ(c.ip->source(), h.us());
}

TEST(Icmpv6, UnknownNextHeaderGetsParameterProblemPointingAtIt) {
    harness6 h;
    h.learn_peer();
    const std::array<std::byte, 8> junk{};
    h.inject(h.ipv6(253, junk));
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.icmp->type(), 4);
    EXPECT_EQ(c.icmp->code(), 1);
    EXPECT_EQ(c.icmp->rest_of_header(), 6u);  // the Next Header field of the IPv6 header
    EXPECT_EQ(c.icmp->body().size(), 48u);  // the whole offending packet
    EXPECT_EQ(h.stack.stats().ip6.in_unknown_protos, 1u);
}

TEST(Icmpv6, UnrecognizedOptionWithAction10IsAnsweredEvenForMulticast) {
    harness6 h;
    h.learn_peer();
    const std::array<std::byte, 16> dest_opts{std::byte{59}, std::byte{0},    std::byte{1},
                                              std::byte{0},  std::byte{0x9e}, std::byte{2}};
    h.inject(h.ipv6(60, bytes{dest_opts}.first(8)));
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.icmp->type(), 4);
    EXPECT_EQ(c.icmp->code(), 2);
    EXPECT_EQ(c.icmp->rest_of_header(), 44u);
    h.inject(h.ipv6(60, bytes{dest_opts}.first(8), wire::all_nodes_multicast()));
    EXPECT_EQ(h.next().icmp->code(), 2);
}

TEST(Icmpv6, NoErrorAboutAnError) {
    harness6 h;
    h.learn_peer();
    const std::array<std::byte, 48> quoted{};
    h.inject(h.icmp6(1, 4, 0, quoted));
    EXPECT_EQ(h.pending(), 0u);
    EXPECT_EQ(h.stack.stats().icmp6.in_dest_unreachs, 1u);
}

TEST(Icmpv6, ErrorsAreRateLimited) {
    auto cfg = harness6::default_config();
    cfg.icmp_error_rate = 2;
    harness6 h{cfg};
    h.learn_peer();
    const std::array<std::byte, 8> junk{};
    for (int i = 0; i < 5; ++i) h.inject(h.ipv6(253, junk));
    EXPECT_EQ(h.pending(), 2u);
    EXPECT_EQ(h.stack.stats().icmp6.out_rate_limited, 3u);
}

}  // namespace
}  // namespace tapstack::testing
