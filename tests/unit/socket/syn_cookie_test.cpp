// SYN cookies (RFC 4987 §3.6): a listener whose SYN backlog is full answers a SYN statelessly,
// and the third-step ACK alone rebuilds the connection. Nothing is evicted, nobody gets a RST
// for a handshake that would have worked.
#include <gtest/gtest.h>
#include <vector>
#include "harness.hpp"

using namespace tapstack;
using namespace tapstack::testing;
using namespace std::chrono_literals;
using tcp::seq_number;

namespace {

wire::tcp_segment from_peer(std::uint16_t sport, std::uint16_t dport, seq_number seq) {
    wire::tcp_segment s;
    s.source_port = sport;
    s.destination_port = dport;
    s.seq = seq;
    s.window = 65535;
    return s;
}

wire::tcp_segment syn_from(std::uint16_t sport, seq_number iss, std::uint16_t mss = 1460) {
    auto syn = from_peer(sport, 80, iss);
    syn.flags.syn = true;
    syn.options.mss = mss;
    syn.options.window_scale = 7;
    syn.options.sack_permitted = true;
    syn.options.timestamps = wire::tcp_timestamps{1000, 0};
    return syn;
}

wire::tcp_segment ack_from(std::uint16_t sport, seq_number seq, seq_number ack) {
    auto a = from_peer(sport, 80, seq);
    a.flags.ack = true;
    a.ack = ack;
    return a;
}

stack_config small_backlog() {
    auto cfg = harness::default_config();
    cfg.max_syn_backlog = 2;
    return cfg;
}

/// Fills the backlog of 2 with SYNs from ports 1000 and 1001 that never complete.
void fill_backlog(harness& h) {
    h.inject(h.tcp(syn_from(1000, seq_number{1})));
    h.inject(h.tcp(syn_from(1001, seq_number{2})));
    h.clear();
}

/// Every TCP segment emitted so far, in order.
std::vector<wire::tcp_segment> tcp_out(harness& h) {
    std::vector<wire::tcp_segment> out;
    while (h.pending()) {
        auto f = h.next();
        if (f.tcp) out.push_back(*f.tcp);
    }
    return out;
}

}  // namespace

TEST(SynCookies, FullBacklogAnswersWithACookieThatTheAckRedeems) {
    harness h{small_backlog()};
    h.learn_peer();
    auto l = listen_on(h, 80, 64);
    fill_backlog(h);
    h.inject(h.tcp(syn_from(2000, seq_number{5000}, 1400)));
    auto out = tcp_out(h);
    ASSERT_EQ(out.size(), 1u);
    const auto& synack = out[0];
    EXPECT_TRUE(synack.flags.syn && synack.flags.ack);
    EXPECT_EQ(synack.ack, seq_number{5001});
    EXPECT_TRUE(synack.options.mss.has_value());
    // What the cookie cannot carry is not offered.
    EXPECT_FALSE(synack.options.window_scale.has_value());
    EXPECT_FALSE(synack.options.sack_permitted);
    EXPECT_FALSE(synack.options.timestamps.has_value());
    EXPECT_EQ(h.stack.stats().tcp.syn_cookies_sent, 1u);
    EXPECT_EQ(h.stack.stats().tcp.syn_backlog_evictions, 0u);
    EXPECT_EQ(h.stack.stats().tcp.syn_backlog_drops, 0u);

    h.inject(h.tcp(ack_from(2000, seq_number{5001}, synack.seq + 1)));
    EXPECT_TRUE(tcp_out(h).empty()) << "no RST for the cookie's ACK";
    EXPECT_EQ(h.stack.stats().tcp.syn_cookies_validated, 1u);
    auto c = h.stack.tcp_accept(l, h.now);
    ASSERT_TRUE(c);
    auto info = h.stack.tcp_info(*c).value();
    EXPECT_EQ(info.state, tcp::state::established);
    EXPECT_EQ(info.remote.port, 2000);

    // The MSS came back from the cookie: 1380, the largest table entry not above 1400.
    std::vector<std::byte> data(4000, std::byte{0x61});
    ASSERT_EQ(h.stack.tcp_send(*c, data, h.now).value(), 4000u);
    auto sent = tcp_out(h);
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(sent[0].seq, synack.seq + 1);
    EXPECT_EQ(sent[0].payload.size(), 1380u);
    EXPECT_FALSE(sent[0].options.timestamps.has_value());
}

TEST(SynCookies, DataOnTheThirdStepAckIsDelivered) {
    harness h{small_backlog()};
    h.learn_peer();
    auto l = listen_on(h, 80, 64);
    fill_backlog(h);
    h.inject(h.tcp(syn_from(2001, seq_number{900})));
    auto synack = tcp_out(h).at(0);
    const std::vector<std::byte> hello{std::byte{'h'}, std::byte{'i'}};
    auto ack = ack_from(2001, seq_number{901}, synack.seq + 1);
    ack.flags.psh = true;
    ack.payload = hello;
    h.inject(h.tcp(ack));
    auto c = h.stack.tcp_accept(l, h.now);
    ASSERT_TRUE(c);
    std::array<std::byte, 8> buf{};
    EXPECT_EQ(h.stack.tcp_receive(*c, buf, h.now).value(), 2u);
    EXPECT_EQ(buf[0], std::byte{'h'});
}

TEST(SynCookies, AnAckThatMatchesNoCookieGetsARst) {
    harness h{small_backlog()};
    h.learn_peer();
    listen_on(h, 80, 64);
    fill_backlog(h);
    h.inject(h.tcp(syn_from(2002, seq_number{70})));
    auto synack = tcp_out(h).at(0);
    // Wrong ISN echoed back, or the right one from another port: both fail.
    h.inject(h.tcp(ack_from(2002, seq_number{71}, synack.seq + 2)));
    h.inject(h.tcp(ack_from(2003, seq_number{71}, synack.seq + 1)));
    auto out = tcp_out(h);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(out[0].flags.rst);
    EXPECT_TRUE(out[1].flags.rst);
    EXPECT_EQ(h.stack.stats().tcp.syn_cookies_failed, 2u);
    EXPECT_EQ(h.stack.stats().tcp.syn_cookies_validated, 0u);
}

TEST(SynCookies, ACookieExpires) {
    harness h{small_backlog()};
    h.learn_peer();
    listen_on(h, 80, 64);
    fill_backlog(h);
    h.inject(h.tcp(syn_from(2004, seq_number{70})));
    auto synack = tcp_out(h).at(0);
    h.advance(200s);
    h.learn_peer();  // the ARP entry expired meanwhile
    h.clear();
    h.inject(h.tcp(ack_from(2004, seq_number{71}, synack.seq + 1)));
    auto out = tcp_out(h);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].flags.rst);
    EXPECT_EQ(h.stack.stats().tcp.syn_cookies_validated, 0u);
}

TEST(SynCookies, AckToAListenerWithoutCookiesOutstandingIsNotCounted) {
    harness h;
    h.learn_peer();
    listen_on(h, 80, 64);
    h.inject(h.tcp(ack_from(2005, seq_number{71}, seq_number{1234})));
    auto out = tcp_out(h);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].flags.rst);
    EXPECT_EQ(h.stack.stats().tcp.syn_cookies_failed, 0u);
}

TEST(SynCookies, AFloodLeavesEveryRealClientAWayIn) {
    // 2,000 SYNs that never complete, with a real client's SYN in the middle: it gets a cookie,
    // nothing is evicted, and its ACK makes the connection.
    auto cfg = harness::default_config();
    cfg.max_syn_backlog = 16;
    harness h{cfg};
    h.learn_peer();
    auto l = listen_on(h, 80, 64);
    for (std::uint16_t i = 0; i < 1000; ++i)
        h.inject(h.tcp(syn_from(static_cast<std::uint16_t>(3000 + i), seq_number{i})));
    h.clear();
    h.inject(h.tcp(syn_from(60000, seq_number{424242})));
    auto synack = tcp_out(h).at(0);
    for (std::uint16_t i = 0; i < 1000; ++i)
        h.inject(h.tcp(syn_from(static_cast<std::uint16_t>(5000 + i), seq_number{i})));
    h.clear();
    h.inject(h.tcp(ack_from(60000, seq_number{424243}, synack.seq + 1)));
    for (const auto& s : tcp_out(h)) EXPECT_FALSE(s.flags.rst);
    auto c = h.stack.tcp_accept(l, h.now);
    ASSERT_TRUE(c);
    EXPECT_EQ(h.stack.tcp_info(*c).value().remote.port, 60000);
    EXPECT_EQ(h.stack.stats().tcp.syn_backlog_evictions, 0u);
    EXPECT_EQ(h.stack.stats().tcp.syn_cookies_sent, 2001u - 16u);
}

TEST(SynCookies, OffFallsBackToRandomDrop) {
    auto cfg = small_backlog();
    cfg.syn_cookies = false;
    harness h{cfg};
    h.learn_peer();
    listen_on(h, 80, 64);
    fill_backlog(h);
    h.inject(h.tcp(syn_from(2006, seq_number{70})));
    EXPECT_EQ(h.stack.stats().tcp.syn_cookies_sent, 0u);
    EXPECT_EQ(h.stack.stats().tcp.syn_backlog_evictions, 1u);
}
