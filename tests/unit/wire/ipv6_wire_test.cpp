// IPv6 and ICMPv6 views: bytes -> parse -> encode -> same bytes, every truncation fails cleanly,
// and the extension-header walk follows RFC 8200 §4.
#include "v6_harness.hpp"

namespace tapstack::testing {
namespace {
using wire::ipv6_walk;

frame packet(std::uint8_t next_header, const std::vector<std::uint8_t>& payload,
             ip::address_v6 dst = v6("2001:db8::2")) {
    frame f(40 + payload.size());
    wire::ipv6_header h;
    h.source = v6("2001:db8::1");
    h.destination = dst;
    h.next_header = next_header;
    h.hop_limit = 64;
    h.traffic_class = 0xb8;
    h.flow_label = 0x12345;
    h.encode(f, payload.size());
    for (std::size_t i = 0; i < payload.size(); ++i) f[40 + i] = std::byte{payload[i]};
    return f;
}

TEST(Ipv6View, RoundTripsEveryField) {
    const auto f = packet(17, {1, 2, 3, 4});
    auto v = wire::ipv6_view::parse(f);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->traffic_class(), 0xb8);
    EXPECT_EQ(v->flow_label(), 0x12345u);
    EXPECT_EQ(v->payload_length(), 4);
    EXPECT_EQ(v->next_header(), 17);
    EXPECT_EQ(v->hop_limit(), 64);
    EXPECT_EQ(v->source(), v6("2001:db8::1"));
    EXPECT_EQ(v->destination(), v6("2001:db8::2"));
    EXPECT_EQ(v->payload().size(), 4u);
    wire::ipv6_header h{v->source(),    v->destination(),   v->next_header(),
                        v->hop_limit(), v->traffic_class(), v->flow_label()};
    frame again(40);
    h.encode(again, 4);
    EXPECT_TRUE(std::equal(again.begin(), again.end(), f.begin()));
}

TEST(Ipv6View, EveryTruncationFails) {
    const auto f = packet(17, {1, 2, 3, 4, 5, 6, 7, 8});
    for (std::size_t n = 0; n < f.size(); ++n) EXPECT_FALSE(wire::ipv6_view::parse(bytes{f}.first(n))) << n;
    EXPECT_TRUE(wire::ipv6_view::parse(f));
}

TEST(Ipv6View, RejectsOtherVersionsAndExcludesPadding) {
    auto f = packet(17, {1, 2});
    f.resize(f.size() + 10);  // link padding
    auto v = wire::ipv6_view::parse(f);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->packet().size(), 42u);
    f[0] = std::byte{0x45};
    EXPECT_EQ(wire::ipv6_view::parse(f).error(), wire::parse_error::bad_version);
}

ipv6_walk walk(const frame& f, std::uint8_t max = 8) {
    auto v = wire::ipv6_view::parse(f);
    EXPECT_TRUE(v);
    return wire::walk_extension_headers(*v, max);
}

TEST(Ipv6ExtensionWalk, SkipsHopByHopAndDestinationOptionsToTheUpperLayer) {
    // HBH (PadN 4) -> destination options (Pad1 x6) -> UDP
    const auto w = walk(packet(0, {60, 0, 1, 4, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0xaa}));
    EXPECT_EQ(w.result, ipv6_walk::outcome::upper_layer);
    EXPECT_EQ(w.protocol, 17);
    EXPECT_EQ(w.offset, 56u);
    EXPECT_EQ(w.next_header_pointer, 48u);
    EXPECT_EQ(w.headers, 2);
}

TEST(Ipv6ExtensionWalk, HopByHopAfterAnotherHeaderIsAnUnrecognizedNextHeader) {
    const auto w = walk(packet(60, {0, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0}));
    EXPECT_EQ(w.result, ipv6_walk::outcome::problem);
    EXPECT_EQ(w.code, wire::ipv6_problem::unrecognized_next_header);
    EXPECT_EQ(w.pointer, 40u);
}

TEST(Ipv6ExtensionWalk, UnknownOptionsFollowTheirActionBits) {
    // option type 0x1e (00: skip), 0x5e (01: discard), 0x9e (10: problem), 0xde (11: unless multicast)
    EXPECT_EQ(walk(packet(60, {17, 0, 0x1e, 4, 0, 0, 0, 0})).result, ipv6_walk::outcome::upper_layer);
    EXPECT_EQ(walk(packet(60, {17, 0, 0x5e, 4, 0, 0, 0, 0})).result, ipv6_walk::outcome::discard);
    const auto p = walk(packet(60, {17, 0, 1, 0, 0x9e, 2, 0, 0}));
    EXPECT_EQ(p.result, ipv6_walk::outcome::problem);
    EXPECT_EQ(p.code, wire::ipv6_problem::unrecognized_option);
    EXPECT_EQ(p.pointer, 44u);  // the option type byte
    EXPECT_EQ(walk(packet(60, {17, 0, 0xde, 4, 0, 0, 0, 0})).result, ipv6_walk::outcome::problem_unless_multicast);
}

TEST(Ipv6ExtensionWalk, OptionRunningPastItsHeaderIsTruncated) {
    EXPECT_EQ(walk(packet(60, {17, 0, 1, 9, 0, 0, 0, 0})).result, ipv6_walk::outcome::truncated);
    EXPECT_EQ(walk(packet(60, {17, 1, 1, 4, 0, 0, 0, 0})).result, ipv6_walk::outcome::truncated);  // 16 declared
    EXPECT_EQ(walk(packet(60, {17})).result, ipv6_walk::outcome::truncated);
}

TEST(Ipv6ExtensionWalk, RoutingHeaderWithSegmentsLeftIsAParameterProblem) {
    // RFC 8200 §4.4: pointer to the Routing Type field.
    const auto w = walk(packet(43, {17, 0, 0, 1, 0, 0, 0, 0}));
    EXPECT_EQ(w.result, ipv6_walk::outcome::problem);
    EXPECT_EQ(w.code, wire::ipv6_problem::erroneous_header_field);
    EXPECT_EQ(w.pointer, 42u);
    EXPECT_EQ(walk(packet(43, {17, 0, 0, 0, 0, 0, 0, 0})).result, ipv6_walk::outcome::upper_layer);
}

TEST(Ipv6ExtensionWalk, FragmentHeaderEndsTheWalk) {
    const auto w = walk(packet(44, {17, 0, 0x05, 0xa9, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3}));
    EXPECT_EQ(w.result, ipv6_walk::outcome::upper_layer);
    ASSERT_TRUE(w.fragment);
    EXPECT_EQ(w.fragment->offset, 0x5a8);
    EXPECT_TRUE(w.fragment->more_fragments);
    EXPECT_EQ(w.fragment->identification, 0xdeadbeefu);
    EXPECT_EQ(w.fragment->header_offset, 40u);
    EXPECT_EQ(w.offset, 48u);
    frame enc(8);
    w.fragment->encode(enc);
    EXPECT_EQ(enc[2], std::byte{0x05});
    EXPECT_EQ(enc[3], std::byte{0xa9});
    EXPECT_EQ(walk(packet(44, {17, 0, 0, 0})).result, ipv6_walk::outcome::truncated);
}

TEST(Ipv6ExtensionWalk, LongChainsAreCutAtTheBound) {
    std::vector<std::uint8_t> chain;
    for (int i = 0; i < 10; ++i) chain.insert(chain.end(), {60, 0, 1, 4, 0, 0, 0, 0});
    chain[9 * 8] = 17;
    EXPECT_EQ(walk(packet(60, chain), 8).result, ipv6_walk::outcome::discard);
    EXPECT_EQ(walk(packet(60, chain), 10).result, ipv6_walk::outcome::upper_layer);
    EXPECT_EQ(walk(packet(59, {})).result, ipv6_walk::outcome::no_next_header);
}

TEST(Icmpv6View, ChecksumCoversThePseudoHeader) {
    const auto s = v6("2001:db8::1"), d = v6("2001:db8::2");
    frame m(8 + 4);
    m[8] = std::byte{1};
    wire::icmpv6_header{
        128,
        0,
        0x00010002,
    }
        .encode(m, 4, s, d);
    auto v = wire::icmpv6_view::parse(m, s, d);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->type(), 128);
    EXPECT_EQ(v->identifier(), 1);
    EXPECT_EQ(v->sequence(), 2);
    EXPECT_EQ(wire::icmpv6_view::parse(m, s, v6("2001:db8::3")).error(), wire::parse_error::bad_checksum);
    EXPECT_EQ(wire::icmpv6_view::parse(bytes{m}.first(7), s, d).error(), wire::parse_error::truncated);
}

TEST(NdpMessages, SolicitationAndAdvertisementRoundTrip) {
    const auto s = v6("fe80::1"), d = v6("ff02::1:ff00:2");
    wire::neighbor_solicitation ns{v6("2001:db8::2"), link::mac_address{{2, 0, 0, 0, 0, 0x99}}};
    frame m(ns.encoded_size());
    ns.encode(m, s, d);
    auto v = wire::icmpv6_view::parse(m, s, d);
    ASSERT_TRUE(v);
    auto back = wire::neighbor_solicitation::parse(*v);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->target, ns.target);
    EXPECT_EQ(back->source_link_layer, ns.source_link_layer);

    wire::neighbor_advertisement na;
    na.solicited = na.override_flag = true;
    na.target = v6("2001:db8::2");
    na.target_link_layer = link::mac_address{{2, 0, 0, 0, 0, 2}};
    frame a(na.encoded_size());
    na.encode(a, s, d);
    auto av = wire::icmpv6_view::parse(a, s, d);
    ASSERT_TRUE(av);
    auto nb = wire::neighbor_advertisement::parse(*av);
    ASSERT_TRUE(nb);
    EXPECT_TRUE(nb->solicited);
    EXPECT_TRUE(nb->override_flag);
    EXPECT_FALSE(nb->router);
    EXPECT_EQ(nb->target_link_layer, na.target_link_layer);
}

TEST(NdpMessages, ZeroLengthOptionAndShortMessagesAreRejected) {
    const auto s = v6("fe80::1"), d = v6("ff02::1:ff00:2");
    wire::neighbor_solicitation ns{v6("2001:db8::2"), link::mac_address{{2, 0, 0, 0, 0, 0x99}}};
    frame m(ns.encoded_size());
    ns.encode(m, s, d);
    m[25] = std::byte{0};  // option length 0
    wire::icmpv6_header{135, 0, 0}.encode(m, m.size() - 8, s, d);
    auto v = wire::icmpv6_view::parse(m, s, d);
    ASSERT_TRUE(v);
    EXPECT_EQ(wire::neighbor_solicitation::parse(*v).error(), wire::parse_error::bad_option);
    frame short_ns(20);
    wire::icmpv6_header{135, 0, 0}.encode(short_ns, 12, s, d);
    auto sv = wire::icmpv6_view::parse(short_ns, s, d);
    ASSERT_TRUE(sv);
    EXPECT_EQ(wire::neighbor_solicitation::parse(*sv).error(), wire::parse_error::truncated);
}

TEST(Ipv6Addresses, LinkLocalSolicitedNodeAndMulticastMac) {
    EXPECT_EQ(wire::link_local_from_mac(link::mac_address{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}}),
              v6("fe80::ff:fe00:2"));
    EXPECT_EQ(wire::solicited_node_multicast(v6("2001:db8::1234:5678")), v6("ff02::1:ff34:5678"));
    EXPECT_EQ(wire::multicast_mac(v6("ff02::1:ff34:5678")), (link::mac_address{{0x33, 0x33, 0xff, 0x34, 0x56, 0x78}}));
    auto p = ip::interface_address_v6::from_string("2001:db8::2/64");
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->contains(v6("2001:db8::ffff")));
    EXPECT_FALSE(p->contains(v6("2001:db9::1")));
    EXPECT_FALSE(ip::interface_address_v6::from_string("2001:db8::2/129"));
    EXPECT_EQ(ip::interface_address_v6::from_string("2001:db8::2")->prefix_length, 128);
}

}  // namespace
}  // namespace tapstack::testing
