// RFC 5961 §7: the challenge ACK limit is one budget for the whole stack, as Linux keeps it: N
// connections together send no more than tcp.challenge_ack_limit per second.
#include <gtest/gtest.h>
#include "harness.hpp"

using namespace tapstack;
using namespace tapstack::testing;
using namespace std::chrono_literals;
using tcp::seq_number;

namespace {

wire::tcp_segment from_peer(std::uint16_t sport, seq_number seq) {
    wire::tcp_segment s;
    s.source_port = sport;
    s.destination_port = 80;
    s.seq = seq;
    s.window = 65535;
    return s;
}

/// The peer opens a connection from `sport` with ISN `iss` (no options).
void open_from(harness& h, std::uint16_t sport, seq_number iss) {
    auto syn = from_peer(sport, iss);
    syn.flags.syn = true;
    h.inject(h.tcp(syn));
    auto synack = h.next();
    ASSERT_TRUE(synack.tcp && synack.tcp->flags.syn);
    auto ack = from_peer(sport, iss + 1);
    ack.flags.ack = true;
    ack.ack = synack.tcp->seq + 1;
    h.inject(h.tcp(ack));
}

/// An RST inside the window but not at RCV.NXT: answered with a challenge ACK (RFC 5961 §3.2).
void blind_reset(harness& h, std::uint16_t sport, seq_number iss) {
    auto rst = from_peer(sport, iss + 1 + 100);
    rst.flags.rst = true;
    h.inject(h.tcp(rst));
}

std::size_t acks_out(harness& h) {
    std::size_t n = 0;
    while (h.pending()) {
        auto f = h.next();
        n += f.tcp && f.tcp->flags.ack && !f.tcp->flags.rst;
    }
    return n;
}

}  // namespace

TEST(ChallengeAckLimit, IsOneBudgetForAllConnections) {
    auto cfg = harness::default_config();
    cfg.tcp.challenge_ack_limit = 5;
    harness h{cfg};
    h.learn_peer();
    auto l = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_bind(l, {ip::address_v4::any(), 80}), errc::success);
    ASSERT_EQ(h.stack.tcp_listen(l, 64), errc::success);
    constexpr std::uint16_t n = 10;
    for (std::uint16_t i = 0; i < n; ++i) open_from(h, static_cast<std::uint16_t>(40000 + i), seq_number{1000u * i});
    h.clear();
    // Two blind resets on each of 10 connections: 20 challenges due, 5 may leave this second.
    for (int round = 0; round < 2; ++round)
        for (std::uint16_t i = 0; i < n; ++i)
            blind_reset(h, static_cast<std::uint16_t>(40000 + i), seq_number{1000u * i});
    EXPECT_EQ(acks_out(h), 5u);
    EXPECT_EQ(h.stack.stats().tcp.challenge_acks, 5u);
    EXPECT_EQ(h.stack.stats().tcp.challenge_acks_suppressed, 15u);
    // A second later the budget is back, for any connection.
    h.advance(1s);
    h.clear();
    for (std::uint16_t i = 0; i < n; ++i) blind_reset(h, static_cast<std::uint16_t>(40000 + i), seq_number{1000u * i});
    EXPECT_EQ(acks_out(h), 5u);
    std::size_t established = 0;
    h.stack.for_each_tcp([&](const tcp_socket_info& i) { established += i.state == tcp::state::established; });
    EXPECT_EQ(established, n) << "no blind reset took a connection down";
}
