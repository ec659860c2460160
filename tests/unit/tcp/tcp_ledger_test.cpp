// RFC 9293 ledger gaps closed by issue #3: MUST-11 (an RST in SYN-RECEIVED after a passive or an
// active open), MUST-21 (a per-connection R2, the user timeout) and MUST-20 (negative advice to
// IP after R1 retransmissions: the next hop's ARP entry is revalidated).
#include <gtest/gtest.h>

#include "v6_harness.hpp"
#include "harness.hpp"
#include "tcp_pair.hpp"

namespace tapstack::testing {
namespace {

using tcp::seq_number;
using tcp::state;
using namespace std::chrono_literals;

bool is(tcp_endpoint& e, state s) { return e.conn.current_state() == s; }

void establish(tcp_pair& p) {
    p.connect();
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::established) && is(p.b(), state::established); }));
}

std::vector<instant> payload_send_times(const tcp_endpoint& e, std::size_t from) {
    std::vector<instant> t;
    for (std::size_t i = from; i < e.sent.size(); ++i)
        if (!e.sent[i].seg.payload.empty()) t.push_back(e.sent[i].at);
    return t;
}

wire::tcp_segment peer_segment(std::uint16_t sport, std::uint16_t dport, seq_number seq) {
    wire::tcp_segment s;
    s.source_port = sport;
    s.destination_port = dport;
    s.seq = seq;
    s.window = 65535;
    return s;
}

// ------------------------------------------------------------------------------ MUST-11

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

// ------------------------------------------------------------------------------ MUST-21

TEST(TcpUserTimeout, ReplacesMaxRetriesAndFiresOnTime) {
    tcp::config cfg;  // max_retries = 12: hundreds of seconds
    tcp_pair p{cfg, cfg};
    establish(p);
    p.a().conn.set_user_timeout(3s);
    EXPECT_EQ(p.a().conn.user_timeout(), 3s);
    p.deliver_a_to_b = false;
    const auto mark = p.a().sent.size();
    p.a().queue_send("lost data");
    p.pump();
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closed); }, 600s));
    EXPECT_EQ(p.a().conn.last_error(), tcp::error::timed_out);
    const auto t = payload_send_times(p.a(), mark);
    ASSERT_GE(t.size(), 2u);
    // RTOs of 0.2, 0.4, 0.8, 1.6 s: sends at 0, 0.2, 0.6, 1.4; the next would be at 3.0 s, where
    // the user timeout ends the connection instead (the timer is clamped to it).
    EXPECT_EQ(t.size(), 4u);
    EXPECT_EQ(p.now() - t[0], 3s);
    EXPECT_EQ(p.a().stats.user_timeouts, 1u);
    EXPECT_EQ(p.a().stats.connections_timed_out, 1u);
}

TEST(TcpUserTimeout, ProgressRestartsTheClock) {
    tcp_pair p;
    establish(p);
    p.a().conn.set_user_timeout(2s);
    p.deliver_a_to_b = false;
    p.a().queue_send("first");
    p.pump();
    const instant sent = p.now();
    p.advance(1500ms);  // sends at 0, 0.2, 0.6, 1.4 s; without progress it would end at 2 s
    ASSERT_TRUE(is(p.a(), state::established));
    // The peer acknowledges one byte: progress, so the 2 s count again from here.
    const auto una = p.a().conn.info().snd_una;
    p.inject_to_a(make_segment(false, p.a().conn.rcv_nxt(), una + 1, flags_of("A"), 65535));
    ASSERT_EQ(p.a().conn.info().snd_una, una + 1);
    const instant acked = p.now();
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closed); }, 600s));
    EXPECT_EQ(p.a().conn.last_error(), tcp::error::timed_out);
    EXPECT_EQ(p.now() - acked, 2s);
    EXPECT_GT(p.now() - sent, 2s);
}

TEST(TcpUserTimeout, ZeroRestoresTheRetryCount) {
    tcp::config cfg;
    cfg.max_retries = 4;
    tcp_pair p{cfg, cfg};
    establish(p);
    p.a().conn.set_user_timeout(1s);
    p.a().conn.set_user_timeout(0s);
    p.deliver_a_to_b = false;
    const auto mark = p.a().sent.size();
    p.a().queue_send("x");
    p.pump();
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closed); }, 600s));
    EXPECT_EQ(payload_send_times(p.a(), mark).size(), 5u);  // the original and max_retries
    EXPECT_EQ(p.a().stats.user_timeouts, 0u);
}

TEST(TcpUserTimeout, SocketCallSetsItOnTheConnection) {
    harness h;
    h.learn_peer();
    auto s = h.stack.tcp_open().value();
    EXPECT_EQ(h.stack.tcp_set_user_timeout(s, 5s, h.now), errc::not_connected);
    EXPECT_EQ(h.stack.tcp_set_user_timeout(socket_handle{}, 5s, h.now), errc::bad_descriptor);
    ASSERT_EQ(h.stack.tcp_connect(s, {h.them(), 5555}, h.now), errc::success);
    auto syn = h.next();
    ASSERT_TRUE(syn.tcp);
    auto synack = peer_segment(5555, syn.tcp->source_port, seq_number{9000});
    synack.flags.syn = synack.flags.ack = true;
    synack.ack = syn.tcp->seq + 1;
    h.inject(h.tcp(synack));
    ASSERT_EQ(h.stack.tcp_info(s).value().state, tcp::state::established);
    EXPECT_EQ(h.stack.tcp_set_user_timeout(s, -1s, h.now), errc::invalid_argument);
    ASSERT_EQ(h.stack.tcp_set_user_timeout(s, 5s, h.now), errc::success);
    const std::string msg = "never acknowledged";
    ASSERT_EQ(h.stack.tcp_send(s, as_bytes_of(msg), h.now).value(), msg.size());
    h.advance(4900ms);
    EXPECT_EQ(h.stack.tcp_error(s), errc::success);
    h.advance(100ms);
    EXPECT_EQ(h.stack.tcp_error(s), errc::timed_out);  // 5 s, not the ~6 minutes of max_retries
    EXPECT_EQ(h.stack.stats().tcp.user_timeouts, 1u);
}

// ------------------------------------------------------------------------------ MUST-20

TEST(TcpNegativeAdvice, RetransmitTroubleAfterR1Retransmissions) {
    tcp_pair p;
    establish(p);
    p.deliver_a_to_b = false;
    p.a().queue_send("lost");
    p.pump();
    const auto advised = [&] { return p.a().saw_event(tcp::connection_observer::retransmit_trouble); };
    ASSERT_TRUE(p.run_until([&] { return p.a().stats.timeouts == 2; }));
    EXPECT_FALSE(advised());
    ASSERT_TRUE(p.run_until([&] { return p.a().stats.timeouts == 3; }));
    EXPECT_TRUE(advised());  // RFC 1122 4.2.3.5: R1 = 3 retransmissions
    EXPECT_EQ(p.a().stats.negative_advice, 1u);
    ASSERT_TRUE(p.run_until([&] { return p.a().stats.timeouts == 5; }));
    EXPECT_EQ(p.a().stats.negative_advice, 1u);  // once per stalled segment
    EXPECT_TRUE(is(p.a(), state::established));
}

/// An established connection from the stack to the peer (port 5555), the handshake's frames
/// cleared; returns the socket and the first data sequence number.
std::pair<socket_handle, seq_number> connect_to_peer(harness& h) {
    h.learn_peer();
    auto s = h.stack.tcp_open().value();
    EXPECT_EQ(h.stack.tcp_connect(s, {h.them(), 5555}, h.now), errc::success);
    auto syn = h.next();
    EXPECT_TRUE(syn.tcp);
    if (!syn.tcp) return {s, {}};
    auto synack = peer_segment(5555, syn.tcp->source_port, seq_number{9000});
    synack.flags.syn = synack.flags.ack = true;
    synack.ack = syn.tcp->seq + 1;
    h.inject(h.tcp(synack));
    EXPECT_EQ(h.stack.tcp_info(s).value().state, tcp::state::established);
    h.clear();
    return {s, syn.tcp->seq + 1};
}

/// Moves the clock in small steps until `pred` holds (at most `limit`).
template <class Pred>
bool advance_until(harness& h, Pred pred, duration limit = 60s) {
    const instant until = h.now + limit;
    while (!pred()) {
        if (h.now >= until) return false;
        h.advance(10ms);
    }
    return true;
}

TEST(TcpNegativeAdvice, ArpRequestLeavesAfterTheThirdRetransmission) {
    harness h;
    auto [s, first] = connect_to_peer(h);
    const std::string msg = "hello?";
    ASSERT_EQ(h.stack.tcp_send(s, as_bytes_of(msg), h.now).value(), msg.size());
    ASSERT_TRUE(advance_until(h, [&] { return h.stack.stats().tcp.timeouts == 3; }));
    std::vector<captured> frames;
    while (h.pending()) frames.push_back(h.next());
    // The original and three retransmissions, then the unicast ARP request to the cached MAC.
    ASSERT_EQ(frames.size(), 5u);
    for (std::size_t i = 0; i < 4; ++i) {
        ASSERT_TRUE(frames[i].tcp) << i;
        EXPECT_EQ(frames[i].tcp->payload.size(), msg.size()) << i;
        EXPECT_EQ(frames[i].tcp->seq, first) << i;
        EXPECT_EQ(frames[i].eth_dst, h.peer.mac) << i;
    }
    ASSERT_TRUE(frames[4].arp);
    EXPECT_EQ(frames[4].arp->operation(), static_cast<std::uint16_t>(wire::arp_operation::request));
    EXPECT_EQ(frames[4].arp->target_ip(), h.peer.ip);
    EXPECT_EQ(frames[4].eth_dst, h.peer.mac);  // RFC 1122 2.3.2.1 unicast poll
    EXPECT_EQ(h.stack.stats().arp.revalidations, 1u);
    EXPECT_EQ(h.stack.stats().tcp.negative_advice, 1u);
}

TEST(TcpNegativeAdvice, AReplyKeepsTheEntry) {
    harness h;
    auto [s, first] = connect_to_peer(h);
    ASSERT_EQ(h.stack.tcp_send(s, as_bytes_of(std::string_view{"x"}), h.now).value(), 1u);
    ASSERT_TRUE(advance_until(h, [&] { return h.stack.stats().arp.revalidations == 1; }));
    h.clear();
    h.inject(h.arp_reply());  // the peer answers: the entry is fresh again
    // Without the reply the entry would expire 3 s after the advice and the retransmissions
    // after that would wait for a broadcast resolution; with it they keep going out.
    h.advance(10s);
    std::size_t retransmissions = 0;
    while (h.pending()) {
        auto g = h.next();
        EXPECT_FALSE(g.arp) << "no new resolution after a reply";
        if (g.tcp) {
            ++retransmissions;
            EXPECT_EQ(g.eth_dst, h.peer.mac);
            EXPECT_EQ(g.tcp->seq, first);
        }
    }
    EXPECT_GE(retransmissions, 2u);
    EXPECT_EQ(h.stack.stats().arp.revalidations, 1u);
}

TEST(TcpNegativeAdvice, UnansweredRevalidationExpiresTheEntry) {
    harness h;
    auto [s, first] = connect_to_peer(h);
    ASSERT_EQ(h.stack.tcp_send(s, as_bytes_of(std::string_view{"x"}), h.now).value(), 1u);
    ASSERT_TRUE(advance_until(h, [&] { return h.stack.stats().arp.revalidations == 1; }));
    const instant advised = h.now;
    h.clear();
    // The entry stays in use for arp_retry_interval * arp_max_retries (3 s), then the next
    // retransmission finds it expired and resolves the address by broadcast.
    bool cached_use = false, broadcast_request = false;
    while (h.now < advised + 10s && !broadcast_request) {
        h.advance(10ms);
        while (h.pending()) {
            auto g = h.next();
            if (g.tcp && h.now < advised + 3s) cached_use = true;
            if (g.arp && g.eth_dst == link::mac_address::broadcast()) {
                broadcast_request = true;
                EXPECT_GE(h.now, advised + 3s);
            }
        }
    }
    EXPECT_TRUE(cached_use);
    EXPECT_TRUE(broadcast_request);
    (void)first;
}

TEST(TcpNegativeAdvice, Ipv6NeighborGoesToProbeAfterTheThirdRetransmission) {
    harness6 h;
    h.learn_peer();
    auto c = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_connect(c, {h.peer, 7}, h.now), errc::success);
    auto syn = h.next();
    ASSERT_TRUE(syn.tcp);
    wire::tcp_segment synack;
    synack.source_port = 7;
    synack.destination_port = syn.tcp->source_port;
    synack.seq = tcp::seq_number{5000};
    synack.ack = syn.tcp->seq + 1;
    synack.flags.syn = synack.flags.ack = true;
    synack.window = 65535;
    h.inject(h.tcp6(synack));
    ASSERT_EQ(h.stack.tcp_info(c).value().state, tcp::state::established);
    h.clear();
    ASSERT_EQ(h.stack.tcp_send(c, as_bytes_of(std::string_view{"v6?"}), h.now).value(), 3u);
    const instant until = h.now + 60s;
    while (h.stack.stats().tcp.timeouts < 3 && h.now < until) h.advance(10ms);
    std::vector<captured6> frames;
    while (h.pending()) frames.push_back(h.next());
    // Four copies of the segment, then a unicast neighbor solicitation for the peer (PROBE, not
    // the DELAY_FIRST_PROBE_TIME of 5 s the entry was waiting out).
    ASSERT_EQ(frames.size(), 5u);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_TRUE(frames[i].tcp) << i;
    ASSERT_TRUE(frames[4].icmp);
    EXPECT_EQ(frames[4].icmp->type(), 135);
    EXPECT_EQ(frames[4].ip->destination(), h.peer);
    EXPECT_EQ(frames[4].eth_dst, h.peer_mac);
    EXPECT_EQ(h.stack.stats().icmp6.nd_revalidations, 1u);
}

}  // namespace
}  // namespace tapstack::testing
