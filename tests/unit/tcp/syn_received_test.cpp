// SYN-RECEIVED (RFC 9293 §3.10.7.4): a retransmitted SYN gets its SYN,ACK again, and an RST
// there reports "refused" after an active open (MUST-11) but only drops a passive open's child.
#include <gtest/gtest.h>

#include "harness.hpp"
#include "tcp_factory.hpp"

namespace tapstack::testing {
namespace {

using tcp::seq_number;
using tcp::state;
using namespace std::chrono_literals;

TEST(TcpOpen, SynReceivedRetransmittedSynGetsSynAckAgain) {
    tcp_pair p;
    p.deliver_b_to_a = false;
    p.connect(seq_number{1000}, seq_number{5000});
    p.advance(10ms);
    ASSERT_TRUE(is(p.b(), state::syn_received));
    const auto mark = p.b().sent.size();
    p.inject_to_b(p.a().sent[0].seg);
    auto out = p.b().sent_since(mark);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].seg.flags.syn && out[0].seg.flags.ack);
}

TEST(TcpSynReceivedRst, AfterActiveOpenReportsRefused) {
    tcp_pair p;
    p.deliver_a_to_b = p.deliver_b_to_a = false;  // the SYNs cross; we script what a sees
    p.open_simultaneous(seq_number{1000}, seq_number{5000});
    // The peer's SYN reaches a in SYN-SENT: a goes SYN-RECEIVED (RFC 9293 §3.5 figure 7).
    p.inject_to_a(make_segment(false, seq_number{5000}, std::nullopt, flags_of("S"), 65535));
    ASSERT_TRUE(is(p.a(), state::syn_received));
    EXPECT_FALSE(p.a().conn.passive_open());
    p.inject_to_a(make_segment(false, seq_number{5001}, std::nullopt, flags_of("R"), 0));
    EXPECT_TRUE(is(p.a(), state::closed));
    // RFC 9293 §3.10.7.4: "If this connection was initiated with an active OPEN ..., then the
    // connection was refused; signal the user 'connection refused'."
    EXPECT_EQ(p.a().conn.last_error(), tcp::error::connection_refused);
    EXPECT_TRUE(p.a().saw_event(tcp::connection_observer::closed));
    EXPECT_EQ(p.a().stats.attempt_fails, 1u);
}

TEST(TcpSynReceivedRst, AfterPassiveOpenDiscardsTheChild) {
    tcp_pair p;
    p.deliver_b_to_a = false;  // b's SYN,ACK never arrives: b stays in SYN-RECEIVED
    p.connect(seq_number{1000}, seq_number{5000});
    ASSERT_TRUE(p.run_until([&] { return is(p.b(), state::syn_received); }));
    EXPECT_TRUE(p.b().conn.passive_open());
    p.inject_to_b(make_segment(true, seq_number{1001}, std::nullopt, flags_of("R"), 0));
    EXPECT_TRUE(is(p.b(), state::closed));
    // Not "refused": that is for the side that asked to connect. The socket layer drops the
    // half-open child and its listener keeps listening (TcpSynReceivedRst.PassiveChildGoesListenerStays).
    EXPECT_EQ(p.b().conn.last_error(), tcp::error::connection_reset);
}

TEST(TcpSynReceivedRst, RstOutsideTheWindowIsIgnoredInSimultaneousOpen) {
    tcp_pair p;
    p.deliver_a_to_b = p.deliver_b_to_a = false;
    p.open_simultaneous(seq_number{1000}, seq_number{5000});
    p.inject_to_a(make_segment(false, seq_number{5000}, std::nullopt, flags_of("S"), 65535));
    ASSERT_TRUE(is(p.a(), state::syn_received));
    p.inject_to_a(make_segment(false, seq_number{5001 + 1'000'000}, std::nullopt, flags_of("R"), 0));
    EXPECT_TRUE(is(p.a(), state::syn_received));
    EXPECT_EQ(p.a().conn.last_error(), tcp::error::none);
}

TEST(TcpSynReceivedRst, SimultaneousOpenRstReachesTheSocketAsRefused) {
    harness h;
    h.learn_peer();
    auto s = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_connect(s, {h.them(), 5555}, h.now), errc::success);
    auto syn = h.next();
    ASSERT_TRUE(syn.tcp);
    const auto port = syn.tcp->source_port;
    auto peer_syn = peer_segment(5555, port, seq_number{9000});
    peer_syn.flags.syn = true;
    h.inject(h.tcp(peer_syn));
    auto synack = h.next();
    ASSERT_TRUE(synack.tcp);
    EXPECT_TRUE(synack.tcp->flags.syn && synack.tcp->flags.ack);
    EXPECT_EQ(h.stack.tcp_info(s).value().state, tcp::state::syn_received);
    auto rst = peer_segment(5555, port, seq_number{9001});
    rst.flags.rst = true;
    h.inject(h.tcp(rst));
    EXPECT_EQ(h.stack.tcp_error(s), errc::connection_refused);
    std::array<std::byte, 8> buf{};
    EXPECT_EQ(h.stack.tcp_receive(s, buf, h.now).error(), errc::connection_refused);
}

TEST(TcpSynReceivedRst, PassiveChildGoesListenerStays) {
    harness h;
    h.learn_peer();
    auto l = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_bind(l, {ip::address_v4::any(), 80}), errc::success);
    ASSERT_EQ(h.stack.tcp_listen(l, 4), errc::success);
    auto syn = peer_segment(40000, 80, seq_number{1000});
    syn.flags.syn = true;
    h.inject(h.tcp(syn));
    ASSERT_TRUE(h.next().tcp);  // SYN,ACK
    auto rst = peer_segment(40000, 80, seq_number{1001});
    rst.flags.rst = true;
    h.inject(h.tcp(rst));
    EXPECT_EQ(h.stack.tcp_accept(l, h.now).error(), errc::would_block);
    EXPECT_EQ(h.stack.tcp_info(l).value().state, tcp::state::listen);
    // The half-open child is gone: its ACK would now be answered by an RST (no connection).
    auto ack = peer_segment(40000, 80, seq_number{1001});
    ack.flags.ack = true;
    ack.ack = seq_number{12345};
    h.inject(h.tcp(ack));
    auto answer = h.next();
    ASSERT_TRUE(answer.tcp);
    EXPECT_TRUE(answer.tcp->flags.rst);
    // And the listener still takes a new connection on the same 4-tuple.
    h.inject(h.tcp(syn));
    auto synack = h.next();
    ASSERT_TRUE(synack.tcp);
    EXPECT_TRUE(synack.tcp->flags.syn && synack.tcp->flags.ack);
}

}  // namespace
}  // namespace tapstack::testing
