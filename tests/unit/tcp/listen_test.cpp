// LISTEN (RFC 9293 §3.10.7.2) through the stack's socket layer against a scripted peer: the
// handshake and accept, what a listener ignores or answers with RST, its backlogs, the segments
// it must never see (impossible sources, broadcast and multicast: MUST-57, MUST-63), and a new
// listener beside an established connection (MUST-41).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "harness.hpp"

using namespace tapstack;
using namespace tapstack::testing;
using namespace std::chrono_literals;
using tcp::seq_number;

namespace {

/// Sends `text` from the peer's `sport` to local port `dport` at `seq`, acknowledging `ack`; returns
/// what the stack's socket `s` then reads.
std::string peer_sends(harness& h, socket_handle s, std::uint16_t sport, std::uint16_t dport, seq_number seq,
                       seq_number ack, std::string_view text) {
    auto d = peer_segment(sport, dport, seq);
    d.flags.ack = d.flags.psh = true;
    d.ack = ack;
    d.payload = as_bytes_of(text);
    h.inject(h.tcp(d));
    std::array<std::byte, 256> buf{};
    auto n = h.stack.tcp_receive(s, buf, h.now);
    if (!n) return "<error>";
    return {reinterpret_cast<const char*>(buf.data()), *n};
}

/// The stack's next frame is a SYN,ACK: the listener answered.
::testing::AssertionResult answered_with_syn_ack(harness& h) {
    if (h.pending() == 0) return ::testing::AssertionFailure() << "nothing sent";
    auto c = h.next();
    if (!c.tcp || !c.tcp->flags.syn || !c.tcp->flags.ack) return ::testing::AssertionFailure() << "not a SYN,ACK";
    return ::testing::AssertionSuccess();
}

}  // namespace

TEST(TcpListen, HandshakeCompletesAndAcceptDeliversTheConnection) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 80);
    EXPECT_EQ(h.stack.tcp_accept(l, h.now).error(), errc::would_block);
    handshake(h, 40000, 80, seq_number{1000});
    auto c = h.stack.tcp_accept(l, h.now);
    ASSERT_TRUE(c);
    auto info = h.stack.tcp_info(*c).value();
    EXPECT_EQ(info.state, tcp::state::established);
    EXPECT_EQ(info.remote.port, 40000);
    EXPECT_EQ(info.local.port, 80);
    EXPECT_EQ(h.stack.stats().tcp.passive_opens, 1u);
}

TEST(TcpListen, AckWithoutSynIsAnsweredWithRst) {
    harness h;
    h.learn_peer();
    listen_on(h, 80);
    auto ack = peer_segment(40000, 80, seq_number{1000});
    ack.flags.ack = true;
    ack.ack = seq_number{5555};
    h.inject(h.tcp(ack));
    auto rst = h.next();
    ASSERT_TRUE(rst.tcp);
    EXPECT_TRUE(rst.tcp->flags.rst);
    EXPECT_EQ(rst.tcp->seq, seq_number{5555});  // RFC 9293 §3.10.7.2: <SEQ=SEG.ACK><CTL=RST>
}

TEST(TcpListen, RstAndBareSegmentsAreIgnored) {
    harness h;
    h.learn_peer();
    listen_on(h, 80);
    auto rst = peer_segment(40000, 80, seq_number{1000});
    rst.flags.rst = true;
    h.inject(h.tcp(rst));
    auto bare = peer_segment(40000, 80, seq_number{1000});
    h.inject(h.tcp(bare));
    EXPECT_EQ(h.pending(), 0u);
    // Controls: the listener does hear this peer. The bare segment with ACK set gets an RST,
    // and with SYN set a SYN,ACK; so the silence above came from the flags alone.
    auto ack = bare;
    ack.flags.ack = true;
    ack.ack = seq_number{5555};
    h.inject(h.tcp(ack));
    auto rst_answer = h.next();
    ASSERT_TRUE(rst_answer.tcp);
    EXPECT_TRUE(rst_answer.tcp->flags.rst);
    auto syn = bare;
    syn.flags.syn = true;
    h.inject(h.tcp(syn));
    EXPECT_TRUE(answered_with_syn_ack(h));
}

TEST(TcpListen, ManyClientsOnOnePortAreToldApartByTheirTuple) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 7, 128);
    for (std::uint16_t i = 0; i < 100; ++i)
        handshake(h, static_cast<std::uint16_t>(30000 + i), 7, seq_number{1000u * i});
    std::set<std::uint16_t> remotes;
    while (auto c = h.stack.tcp_accept(l, h.now)) remotes.insert(h.stack.tcp_info(*c).value().remote.port);
    EXPECT_EQ(remotes.size(), 100u);
}

TEST(TcpListen, SynBacklogIsBoundedAndCounted) {
    auto cfg = harness::default_config();
    cfg.max_syn_backlog = 4;
    cfg.syn_backlog_random_drop = false;  // refusal; random drop: tests/unit/hardening/
    harness h{cfg};
    h.learn_peer();
    listen_on(h, 80, 64);
    for (std::uint16_t i = 0; i < 10; ++i) {
        auto syn = peer_segment(static_cast<std::uint16_t>(20000 + i), 80, seq_number{7});
        syn.flags.syn = true;
        h.inject(h.tcp(syn));
    }
    EXPECT_EQ(h.stack.stats().tcp.syn_backlog_drops, 6u);
    std::size_t synacks = 0;
    while (h.pending()) synacks += h.next().tcp.has_value();
    EXPECT_EQ(synacks, 4u);
    // Half-open connections time out and free their places.
    h.advance(5min);
    EXPECT_LE(h.stack.stats().tcp.syn_backlog_drops, 6u);
    auto syn = peer_segment(29999, 80, seq_number{7});
    syn.flags.syn = true;
    h.clear();
    h.inject(h.tcp(syn));
    EXPECT_EQ(h.stack.stats().tcp.syn_backlog_drops, 6u);
    EXPECT_EQ(h.pending(), 1u);
}

TEST(TcpListen, AcceptQueueIsBounded) {
    harness h;
    h.learn_peer();
    listen_on(h, 80, 2);
    for (std::uint16_t i = 0; i < 2; ++i) handshake(h, static_cast<std::uint16_t>(20000 + i), 80, seq_number{7});
    auto syn = peer_segment(20009, 80, seq_number{7});
    syn.flags.syn = true;
    h.inject(h.tcp(syn));
    EXPECT_EQ(h.stack.stats().tcp.accept_queue_drops, 1u);
}

TEST(TcpListen, ClosingTheListenerResetsUnacceptedConnections) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 80);
    handshake(h, 40000, 80, seq_number{1000});
    h.clear();
    h.stack.tcp_close(l, h.now);
    auto rst = h.next();
    ASSERT_TRUE(rst.tcp);
    EXPECT_TRUE(rst.tcp->flags.rst);
    // The 4-tuple is gone: a segment for it now gets a fresh RST from "no socket".
    auto data = peer_segment(40000, 80, seq_number{1001});
    data.flags.ack = true;
    data.ack = rst.tcp->seq;
    h.inject(h.tcp(data));
    auto again = h.next();
    ASSERT_TRUE(again.tcp);
    EXPECT_TRUE(again.tcp->flags.rst);
}

TEST(TcpListen, SynFromImpossibleSourceIsDropped) {
    harness h;
    h.learn_peer();
    listen_on(h, 80);
    for (auto src : {ip::address_v4{0, 0, 0, 0}, ip::address_v4{127, 0, 0, 1}}) {
        h.peer.ip = src;
        auto syn = peer_segment(40000, 80, seq_number{1});
        syn.flags.syn = true;
        h.inject(h.tcp(syn));
    }
    EXPECT_EQ(h.pending(), 0u) << "RFC 9293 MUST-63: no SYN-ACK to 0.0.0.0 or 127/8";
    // Control: the same SYN from the peer's real address is answered.
    h.peer = peer_host{};
    auto syn = peer_segment(40000, 80, seq_number{1});
    syn.flags.syn = true;
    h.inject(h.tcp(syn));
    EXPECT_TRUE(answered_with_syn_ack(h));
}

TEST(TcpListen, TcpToBroadcastIsDropped) {
    harness h;
    h.learn_peer();
    listen_on(h, 80);
    auto syn = peer_segment(40000, 80, seq_number{1});
    syn.flags.syn = true;
    frame t(syn.encoded_size());
    wire::encode_tcp(syn, t, h.them(), ip::address{ip::address_v4::broadcast()});
    h.inject(h.ipv4(6, t, ip::address_v4::broadcast()));
    EXPECT_EQ(h.pending(), 0u) << "RFC 9293 MUST-57";
    EXPECT_EQ(h.stack.stats().ip.in_addr_errors, 1u);
    // Control: the same SYN to our unicast address is answered.
    wire::encode_tcp(syn, t, h.them(), h.us());
    h.inject(h.ipv4(6, t));
    EXPECT_TRUE(answered_with_syn_ack(h));
}

// RFC 9293 MUST-57 for the other group addresses: the subnet's directed broadcast and an IPv4
// multicast group. Neither reaches the TCP layer (IPv6 groups: Ipv6Tcp.TcpToAMulticastGroupIsDropped).
TEST(TcpListen, TcpToDirectedBroadcastOrMulticastIsDropped) {
    harness h;
    h.learn_peer();
    listen_on(h, 80);
    auto syn = peer_segment(40000, 80, seq_number{1});
    syn.flags.syn = true;
    frame t(syn.encoded_size());
    const auto segs_before = h.stack.stats().tcp.in_segs;
    for (auto to : {ip::address_v4{10, 0, 0, 255}, ip::address_v4{224, 0, 0, 1}}) {
        wire::encode_tcp(syn, t, h.them(), ip::address{to});
        h.inject(h.ipv4(6, t, to));
    }
    EXPECT_EQ(h.pending(), 0u);
    EXPECT_EQ(h.stack.stats().ip.in_addr_errors, 2u);
    EXPECT_EQ(h.stack.stats().tcp.in_segs, segs_before);
}

// RFC 9293 MUST-41 (§3.10.1 OPEN): a new passive open on a port leaves the connections already on
// that port alone. The first listener goes, a second one takes the port and accepts another
// client, and the first connection keeps carrying data both ways throughout.
TEST(TcpListen, NewListenerLeavesAnEstablishedConnectionOnItsPortAlone) {
    harness h;
    h.learn_peer();
    auto first = listen_on(h, 8080, 16, true);
    const auto isn1 = handshake(h, 40000, 8080, seq_number{1000});
    auto c1 = h.stack.tcp_accept(first, h.now).value();
    EXPECT_EQ(peer_sends(h, c1, 40000, 8080, seq_number{1001}, isn1 + 1, "before"), "before");
    h.stack.tcp_close(first, h.now);
    h.advance(1s);
    h.clear();

    auto second = listen_on(h, 8080, 16, true);
    EXPECT_EQ(h.stack.tcp_info(c1).value().state, tcp::state::established);
    const auto isn2 = handshake(h, 40001, 8080, seq_number{7000});
    auto c2 = h.stack.tcp_accept(second, h.now);
    ASSERT_TRUE(c2);
    EXPECT_EQ(peer_sends(h, *c2, 40001, 8080, seq_number{7001}, isn2 + 1, "second"), "second");

    // The first connection is untouched: it reads on, and what it sends goes to its own peer.
    EXPECT_EQ(h.stack.tcp_info(c1).value().state, tcp::state::established);
    EXPECT_EQ(peer_sends(h, c1, 40000, 8080, seq_number{1007}, isn1 + 1, "after"), "after");
    h.clear();
    const std::string reply = "still here";
    ASSERT_EQ(h.stack.tcp_send(c1, as_bytes_of(reply), h.now).value(), reply.size());
    bool replied = false;
    while (h.pending()) {
        auto f = h.next();
        if (!f.tcp || f.tcp->payload.empty()) continue;
        EXPECT_EQ(f.tcp->destination_port, 40000);
        EXPECT_EQ(f.tcp->seq, isn1 + 1);
        EXPECT_EQ(f.tcp->ack, seq_number{1012});  // "before" and "after" acknowledged
        EXPECT_FALSE(f.tcp->flags.rst);
        replied = true;
    }
    EXPECT_TRUE(replied);
    EXPECT_EQ(h.stack.stats().tcp.estab_resets, 0u);
}
