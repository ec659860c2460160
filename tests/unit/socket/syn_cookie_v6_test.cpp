// SYN cookies over IPv6: the cookie SYN-ACK carries the IPv6 MSS (RFC 8200 §8.3) and the
// third-step ACK makes the connection.
#include "v6_harness.hpp"

namespace tapstack::testing {
namespace {

wire::tcp_segment v6_syn(std::uint16_t sport, tcp::seq_number iss) {
    wire::tcp_segment s;
    s.source_port = sport;
    s.destination_port = 80;
    s.seq = iss;
    s.window = 65535;
    s.flags.syn = true;
    s.options.mss = 1440;
    return s;
}

TEST(SynCookiesV6, FullBacklogCookieOverIpv6) {
    auto cfg = harness6::default_config();
    cfg.max_syn_backlog = 1;
    harness6 h{cfg};
    h.learn_peer();
    auto l = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_bind(l, {ip::address_v6::any(), 80}), errc::success);
    ASSERT_EQ(h.stack.tcp_listen(l, 8), errc::success);
    h.inject(h.tcp6(v6_syn(50000, tcp::seq_number{1})));
    ASSERT_TRUE(h.next().tcp);  // the backlog's one SYN-ACK
    h.inject(h.tcp6(v6_syn(50001, tcp::seq_number{5000})));
    auto synack = h.next();
    ASSERT_TRUE(synack.tcp);
    EXPECT_TRUE(synack.tcp->flags.syn && synack.tcp->flags.ack);
    EXPECT_EQ(synack.tcp->options.mss, 1440);
    EXPECT_EQ(synack.ip->source(), h.us());
    EXPECT_EQ(h.stack.stats().tcp.syn_cookies_sent, 1u);
    wire::tcp_segment ack;
    ack.source_port = 50001;
    ack.destination_port = 80;
    ack.seq = tcp::seq_number{5001};
    ack.ack = synack.tcp->seq + 1;
    ack.flags.ack = true;
    ack.window = 65535;
    h.inject(h.tcp6(ack));
    EXPECT_EQ(h.pending(), 0u) << "no RST";
    auto c = h.stack.tcp_accept(l, h.now);
    ASSERT_TRUE(c);
    EXPECT_EQ(h.stack.tcp_info(*c).value().state, tcp::state::established);
    EXPECT_EQ(h.stack.stats().tcp.syn_cookies_validated, 1u);
}

}  // namespace
}  // namespace tapstack::testing
