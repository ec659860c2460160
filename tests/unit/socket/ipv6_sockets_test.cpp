// UDP and TCP over IPv6, and the dual-stack rules: an IPv6 wildcard takes IPv4 unless v6_only.
#include "v6_harness.hpp"

namespace tapstack::testing {
namespace {
using namespace std::chrono_literals;

frame ipv4_udp(const harness6& h, std::uint16_t sport, std::uint16_t dport, bytes payload) {
    frame d(8 + payload.size());
    copy_bytes(d, 8, payload);
    const ip::address_v4 peer4{10, 0, 0, 1};
    wire::udp_header{sport, dport}.encode(d, payload.size(), ip::address{peer4},
                                          ip::address{h.stack.config().ipv4.addr});
    frame f(14 + 20 + d.size());
    wire::ethernet_header{h.stack.config().mac, h.peer_mac, 0x0800}.encode(f);
    wire::ipv4_header ih;
    ih.source = peer4;
    ih.destination = h.stack.config().ipv4.addr;
    ih.protocol = 17;
    ih.encode(mutable_bytes{f}.subspan(14), d.size());
    copy_bytes(f, 34, d);
    return f;
}

const std::array<std::byte, 4> ping_bytes{std::byte{'p'}, std::byte{'i'}, std::byte{'n'}, std::byte{'g'}};

TEST(Ipv6Udp, DatagramToABoundSocketAndBack) {
    harness6 h;
    h.learn_peer();
    auto s = h.stack.udp_open().value();
    ASSERT_EQ(h.stack.udp_bind(s, {h.us(), 7}), errc::success);
    h.inject(h.udp6(40000, 7, ping_bytes));
    std::array<std::byte, 16> buf{};
    auto got = h.stack.udp_receive_from(s, buf);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->size, 4u);
    EXPECT_EQ(got->from, (ip::endpoint{h.peer, 40000}));
    ASSERT_TRUE(h.stack.udp_send_to(s, bytes{buf}.first(4), got->from, h.now));
    auto c = h.next();
    ASSERT_TRUE(c.udp);
    EXPECT_EQ(c.udp->source_port(), 7);
    EXPECT_EQ(c.udp->destination_port(), 40000);
    EXPECT_EQ(c.ip->source(), h.us());
    EXPECT_NE(c.udp->checksum(), 0);
}

TEST(Ipv6Udp, ZeroChecksumIsInvalidOverIpv6) {
    harness6 h;
    auto s = h.stack.udp_open().value();
    ASSERT_EQ(h.stack.udp_bind(s, {ip::address_v6::any(), 7}), errc::success);
    auto f = h.udp6(40000, 7, ping_bytes);
    f[54 + 6] = std::byte{0};
    f[54 + 7] = std::byte{0};
    h.inject(f);
    EXPECT_EQ(h.stack.udp_bytes_readable(s), 0u);
    EXPECT_EQ(h.stack.stats().udp.in_errors, 1u);
}

TEST(Ipv6Udp, ClosedPortIsAnsweredWithPortUnreachable) {
    harness6 h;
    h.learn_peer();
    h.inject(h.udp6(40000, 9999, ping_bytes));
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.icmp->type(), 1);
    EXPECT_EQ(c.icmp->code(), 4);
    EXPECT_EQ(c.icmp->body().size(), 40u + 8 + 4);
}

TEST(Ipv6Udp, V6WildcardTakesIpv4UnlessV6Only) {
    harness6 h;
    auto dual = h.stack.udp_open().value();
    ASSERT_EQ(h.stack.udp_bind(dual, {ip::address_v6::any(), 7}), errc::success);
    h.inject(ipv4_udp(h, 40000, 7, ping_bytes));
    EXPECT_EQ(h.stack.udp_bytes_readable(dual), 4u);
    std::array<std::byte, 16> buf{};
    auto got = h.stack.udp_receive_from(dual, buf);
    ASSERT_TRUE(got);
    EXPECT_TRUE(got->from.address.is_v4());
    h.stack.udp_close(dual);

    auto only = h.stack.udp_open().value();
    ASSERT_EQ(h.stack.udp_set_v6_only(only, true), errc::success);
    ASSERT_EQ(h.stack.udp_bind(only, {ip::address_v6::any(), 7}), errc::success);
    EXPECT_EQ(h.stack.udp_set_v6_only(only, false), errc::invalid_argument);  // after bind
    h.inject(ipv4_udp(h, 40000, 7, ping_bytes));
    EXPECT_EQ(h.stack.udp_bytes_readable(only), 0u);
    h.inject(h.udp6(40000, 7, ping_bytes));
    EXPECT_EQ(h.stack.udp_bytes_readable(only), 4u);
}

TEST(Ipv6Udp, V4WildcardNeverTakesIpv6) {
    harness6 h;
    auto s = h.stack.udp_open().value();
    ASSERT_EQ(h.stack.udp_bind(s, {ip::address_v4::any(), 7}), errc::success);
    h.inject(h.udp6(40000, 7, ping_bytes));
    EXPECT_EQ(h.stack.udp_bytes_readable(s), 0u);
    EXPECT_EQ(h.stack.stats().udp.no_ports, 1u);
}

TEST(Ipv6Udp, BindingAnAddressThatIsNotOursFails) {
    harness6 h;
    auto s = h.stack.udp_open().value();
    EXPECT_EQ(h.stack.udp_bind(s, {v6("2001:db8::77"), 7}), errc::address_not_available);
    EXPECT_EQ(h.stack.udp_bind(s, {h.us_ll(), 7}), errc::success);
}

TEST(Ipv6Udp, TooLargeDatagramIsRefused) {
    harness6 h;
    auto s = h.stack.udp_open().value();
    std::vector<std::byte> big(1500 - 40 - 8 + 1);
    EXPECT_EQ(h.stack.udp_send_to(s, big, {h.peer, 9}, h.now).error(), errc::message_size);
    big.pop_back();
    EXPECT_TRUE(h.stack.udp_send_to(s, big, {h.peer, 9}, h.now));
}

wire::tcp_segment syn_to(std::uint16_t port) {
    wire::tcp_segment seg;
    seg.source_port = 50000;
    seg.destination_port = port;
    seg.seq = tcp::seq_number{1000};
    seg.flags.syn = true;
    seg.window = 65535;
    seg.options.mss = 1440;
    return seg;
}

// RFC 9293 MUST-57: a SYN to a group we belong to (all-nodes) is dropped before TCP; the same SYN
// to our unicast address is answered.
TEST(Ipv6Tcp, TcpToAMulticastGroupIsDropped) {
    harness6 h;
    h.learn_peer();
    auto l = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_bind(l, {ip::address_v6::any(), 80}), errc::success);
    ASSERT_EQ(h.stack.tcp_listen(l, 8), errc::success);
    const auto syn = syn_to(80);
    frame t(syn.encoded_size());
    wire::encode_tcp(syn, t, ip::address{h.peer}, ip::address{wire::all_nodes_multicast()});
    h.inject(h.ipv6(6, t, wire::all_nodes_multicast()));
    EXPECT_EQ(h.pending(), 0u);
    EXPECT_EQ(h.stack.stats().ip6.in_addr_errors, 1u);
    h.inject(h.tcp6(syn));
    auto synack = h.next();
    ASSERT_TRUE(synack.tcp);
    EXPECT_TRUE(synack.tcp->flags.syn && synack.tcp->flags.ack);
}

TEST(Ipv6Tcp, HandshakeOverIpv6AdvertisesMtuMinus60) {
    harness6 h;
    h.learn_peer();
    auto l = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_bind(l, {ip::address_v6::any(), 80}), errc::success);
    ASSERT_EQ(h.stack.tcp_listen(l, 8), errc::success);
    h.inject(h.tcp6(syn_to(80)));
    auto synack = h.next();
    ASSERT_TRUE(synack.tcp);
    EXPECT_TRUE(synack.tcp->flags.syn && synack.tcp->flags.ack);
    EXPECT_EQ(synack.tcp->options.mss, 1440);  // RFC 8200 §8.3
    EXPECT_EQ(synack.ip->source(), h.us());
    wire::tcp_segment ack;
    ack.source_port = 50000;
    ack.destination_port = 80;
    ack.seq = tcp::seq_number{1001};
    ack.ack = synack.tcp->seq + 1;
    ack.flags.ack = true;
    ack.window = 65535;
    h.inject(h.tcp6(ack));
    auto c = h.stack.tcp_accept(l, h.now);
    ASSERT_TRUE(c);
    auto info = h.stack.tcp_info(*c).value();
    EXPECT_EQ(info.remote, (ip::endpoint{h.peer, 50000}));
    EXPECT_EQ(info.local, (ip::endpoint{h.us(), 80}));
}

TEST(Ipv6Tcp, SynToAClosedPortIsReset) {
    harness6 h;
    h.learn_peer();
    h.inject(h.tcp6(syn_to(81)));
    auto rst = h.next();
    ASSERT_TRUE(rst.tcp);
    EXPECT_TRUE(rst.tcp->flags.rst);
    EXPECT_EQ(rst.ip->destination(), h.peer);
}

TEST(Ipv6Tcp, DualStackListenerAcceptsIpv4AndV6OnlyDoesNot) {
    harness h4{harness6::default_config()};
    h4.stack.poll(h4.now);
    h4.learn_peer();
    auto l = h4.stack.tcp_open().value();
    ASSERT_EQ(h4.stack.tcp_bind(l, {ip::address_v6::any(), 80}), errc::success);
    ASSERT_EQ(h4.stack.tcp_listen(l, 8), errc::success);
    auto seg = syn_to(80);
    seg.options.mss = 1460;
    h4.inject(h4.tcp(seg));
    auto synack = h4.next();
    ASSERT_TRUE(synack.tcp);
    EXPECT_TRUE(synack.tcp->flags.syn);
    EXPECT_EQ(synack.tcp->options.mss, 1460);  // an IPv4 connection keeps the IPv4 MSS
    h4.stack.tcp_close(l, h4.now);
    h4.clear();

    auto only = h4.stack.tcp_open().value();
    ASSERT_EQ(h4.stack.tcp_set_v6_only(only, true), errc::success);
    ASSERT_EQ(h4.stack.tcp_bind(only, {ip::address_v6::any(), 81}), errc::success);
    ASSERT_EQ(h4.stack.tcp_listen(only, 8), errc::success);
    seg.destination_port = 81;
    h4.inject(h4.tcp(seg));
    auto rst = h4.next();
    ASSERT_TRUE(rst.tcp);
    EXPECT_TRUE(rst.tcp->flags.rst);
}

TEST(Ipv6Tcp, V4WildcardListenerDoesNotTakeIpv6) {
    harness6 h;
    h.learn_peer();
    auto l = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_bind(l, {ip::address_v4::any(), 80}), errc::success);
    ASSERT_EQ(h.stack.tcp_listen(l, 8), errc::success);
    h.inject(h.tcp6(syn_to(80)));
    auto rst = h.next();
    ASSERT_TRUE(rst.tcp);
    EXPECT_TRUE(rst.tcp->flags.rst);
}

TEST(Ipv6Tcp, ConnectUsesAnEphemeralPortAndTheRightSourceAddress) {
    harness6 h;
    h.learn_peer();
    auto c = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_connect(c, {h.peer, 7}, h.now), errc::success);
    auto syn = h.next();
    ASSERT_TRUE(syn.tcp);
    EXPECT_TRUE(syn.tcp->flags.syn);
    EXPECT_GE(syn.tcp->source_port, 49152);
    EXPECT_EQ(syn.ip->source(), h.us());
    EXPECT_EQ(syn.tcp->options.mss, 1440);
    auto ll = h.stack.tcp_open().value();
    h.inject(h.ns(h.us_ll(), h.peer_ll));
    h.clear();
    ASSERT_EQ(h.stack.tcp_connect(ll, {h.peer_ll, 7}, h.now), errc::success);
    EXPECT_EQ(h.next().ip->source(), h.us_ll());
    auto bad = h.stack.tcp_open().value();
    EXPECT_EQ(h.stack.tcp_connect(bad, {wire::all_nodes_multicast(), 7}, h.now), errc::invalid_argument);
}

TEST(Ipv6Tcp, PacketTooBigLowersTheMssOfLaterConnections) {
    harness6 h;
    h.learn_peer();
    std::array<std::byte, 48> quote{};
    h.inject(h.icmp6(2, 0, 1400, quote));
    EXPECT_EQ(h.stack.stats().icmp6.in_pkt_too_bigs, 1u);
    auto c = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_connect(c, {h.peer, 7}, h.now), errc::success);
    EXPECT_EQ(h.next().tcp->options.mss, 1340);
    h.inject(h.icmp6(2, 0, 1000, quote));  // below the IPv6 minimum MTU: not believed
    auto d = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_connect(d, {h.peer, 8}, h.now), errc::success);
    EXPECT_EQ(h.next().tcp->options.mss, 1340);
}

TEST(Ipv6Tcp, PacketTooBigLowersTheMssOfTheOpenConnection) {
    harness6 h;
    h.learn_peer();
    auto c = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_connect(c, {h.peer, 7}, h.now), errc::success);
    ASSERT_EQ(h.stack.tcp_set_no_delay(c, true), errc::success);
    auto syn = h.next();
    ASSERT_TRUE(syn.tcp);
    wire::tcp_segment synack;
    synack.source_port = 7;
    synack.destination_port = syn.tcp->source_port;
    synack.seq = tcp::seq_number{5000};
    synack.ack = syn.tcp->seq + 1;
    synack.flags.syn = synack.flags.ack = true;
    synack.window = 65535;
    synack.options.mss = 1440;
    h.inject(h.tcp6(synack));
    h.clear();
    // The router's report quotes our segment: IPv6 header (us -> peer), then our TCP ports.
    std::array<std::byte, 48> quote{};
    quote[0] = std::byte{0x60};
    quote[6] = std::byte{6};
    const auto ours = h.us().to_bytes();
    const auto theirs = h.peer.to_bytes();
    for (std::size_t i = 0; i < 16; ++i) {
        quote[8 + i] = std::byte{ours[i]};
        quote[24 + i] = std::byte{theirs[i]};
    }
    store_be16(quote, 40, syn.tcp->source_port);
    store_be16(quote, 42, 7);
    h.inject(h.icmp6(2, 0, 1300, quote));
    const std::string data(4000, 'p');
    ASSERT_TRUE(h.stack.tcp_send(c, as_bytes_of(data), h.now));
    std::size_t segments = 0;
    while (h.pending()) {
        auto f = h.next();
        if (!f.tcp || f.tcp->payload.empty()) continue;
        ++segments;
        EXPECT_LE(f.tcp->payload.size(), 1300u - 60u) << "RFC 8201: the path MTU applies at once";
    }
    EXPECT_GE(segments, 3u);
}

}  // namespace
}  // namespace tapstack::testing
