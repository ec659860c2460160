// Every timer (RFC 9293 §3.8): RTO with backoff and give-up, SYN retries, persist, keepalive, the
// per-connection user timeout (R2, MUST-21) and R1's negative advice to IP (MUST-20). Delayed ACK
// and TIME-WAIT are in established_data_test / close_test.
#include <gtest/gtest.h>

#include "harness.hpp"
#include "tcp_factory.hpp"
#include "v6_harness.hpp"

namespace tapstack::testing {
namespace {

using tcp::seq_number;
using tcp::state;
using namespace std::chrono_literals;

std::vector<instant> send_times(const tcp_endpoint& e, std::size_t from, bool want_payload) {
    std::vector<instant> t;
    for (std::size_t i = from; i < e.sent.size(); ++i)
        if (!want_payload || !e.sent[i].seg.payload.empty()) t.push_back(e.sent[i].at);
    return t;
}

TEST(TcpRto, RetransmitsWithExponentialBackoffThenTimesOut) {
    tcp::config cfg;
    cfg.max_retries = 4;
    tcp_pair p{cfg, cfg};
    ASSERT_TRUE(establish(p));
    p.deliver_a_to_b = false;  // everything a sends from now on is lost
    const auto mark = p.a().sent.size();
    p.a().queue_send("lost data");
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closed); }, 600s));
    EXPECT_EQ(p.a().conn.last_error(), tcp::error::timed_out);
    EXPECT_TRUE(p.a().saw_event(tcp::connection_observer::closed));
    const auto t = send_times(p.a(), mark, true);
    ASSERT_EQ(t.size(), 5u);  // the original and max_retries retransmissions
    for (std::size_t i = 2; i < t.size(); ++i) EXPECT_EQ((t[i] - t[i - 1]).count(), 2 * (t[i - 1] - t[i - 2]).count());
    // RFC 6298 §2.4 floor (our min_rto 200 ms) after a ~10 ms RTT sample.
    EXPECT_EQ(t[1] - t[0], cfg.min_rto);
    EXPECT_EQ(p.a().stats.timeouts, 4u);
    EXPECT_EQ(p.a().stats.retrans_segs, 4u);
    EXPECT_EQ(p.a().stats.connections_timed_out, 1u);
}

TEST(TcpRto, BackoffIsCappedAtMaxRto) {
    tcp::config cfg;
    cfg.max_rto = 1s;
    cfg.max_retries = 8;
    tcp_pair p{cfg, cfg};
    ASSERT_TRUE(establish(p));
    p.deliver_a_to_b = false;
    const auto mark = p.a().sent.size();
    p.a().queue_send("x");
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closed); }, 600s));
    const auto t = send_times(p.a(), mark, true);
    ASSERT_EQ(t.size(), 9u);
    EXPECT_EQ(t[8] - t[7], 1s);
    EXPECT_EQ(t[7] - t[6], 1s);
}

TEST(TcpRto, RecoversAfterLossWithoutTimeoutWhenLinkReturns) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.deliver_a_to_b = false;
    p.a().queue_send("abc");
    p.advance(300ms);  // one RTO (200 ms) fired
    EXPECT_EQ(p.a().stats.timeouts, 1u);
    p.deliver_a_to_b = true;
    ASSERT_TRUE(p.run_until([&] { return p.b().received_string() == "abc"; }));
    ASSERT_TRUE(p.run_until([&] { return p.a().conn.bytes_unacknowledged() == 0; }));
    EXPECT_FALSE(p.a().conn.deadline().has_value() && is(p.a(), state::closed));
    EXPECT_TRUE(is(p.a(), state::established));
}

TEST(TcpRto, SynRetriesGiveUpWithTimedOut) {
    tcp_pair p;
    p.deliver_a_to_b = false;
    p.connect();
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closed); }, 600s));
    EXPECT_EQ(p.a().conn.last_error(), tcp::error::timed_out);
    const auto t = send_times(p.a(), 0, false);
    ASSERT_EQ(t.size(), 1u + tcp::config{}.max_syn_retries);
    for (const auto& s : p.a().sent) EXPECT_TRUE(s.seg.flags.syn);
    EXPECT_EQ(t[1] - t[0], 1s);  // RFC 6298 §2.1 initial RTO
    EXPECT_EQ(t[2] - t[1], 2s);
    EXPECT_EQ(t[3] - t[2], 4s);
    // The last SYN waits one more backed-off RTO (64 s, capped at max_rto 60 s) before giving up.
    EXPECT_EQ(p.now() - t.back(), tcp::config{}.max_rto);
    EXPECT_GE(p.now() - t.front(), 180s) << "RFC 9293 MUST-23: at least 3 minutes of SYN attempts";
    EXPECT_EQ(p.a().stats.attempt_fails, 1u);
}

TEST(TcpRto, SynAckIsRetransmittedBySynReceived) {
    tcp_pair p;
    p.deliver_b_to_a = false;
    p.connect();
    p.advance(3500ms);
    int synacks = 0;
    for (const auto& s : p.b().sent) synacks += s.seg.flags.syn && s.seg.flags.ack;
    EXPECT_GE(synacks, 3);  // at 0, 1 s, 3 s (plus re-sends answering a's SYN retransmissions)
    EXPECT_TRUE(is(p.b(), state::syn_received));
}

TEST(TcpPersist, ZeroWindowProbesBackOffAndTransferResumes) {
    tcp::config small;
    small.receive_buffer_size = 4096;
    tcp_pair p{tcp::config{}, small};
    ASSERT_TRUE(establish(p));
    p.b().auto_read = false;
    std::vector<std::byte> data(20000, std::byte{0x5a});
    p.a().queue_send(data);
    ASSERT_TRUE(p.run_until([&] { return p.b().conn.bytes_readable() == 4096; }));
    const auto mark = p.a().sent.size();
    p.advance(10s);
    // Probes: zero-length segments below the window (SEG.SEQ = SND.UNA - 1), each answered.
    std::vector<instant> probes;
    for (std::size_t i = mark; i < p.a().sent.size(); ++i) {
        const auto& s = p.a().sent[i].seg;
        if (s.payload.empty() && s.seq + 1 == p.a().conn.info().snd_una) probes.push_back(p.a().sent[i].at);
    }
    ASSERT_GE(probes.size(), 3u);
    EXPECT_EQ(p.a().stats.zero_window_probes, probes.size());
    for (std::size_t i = 2; i < probes.size(); ++i)
        EXPECT_EQ((probes[i] - probes[i - 1]).count(), 2 * (probes[i - 1] - probes[i - 2]).count());
    EXPECT_TRUE(is(p.a(), state::established));  // a zero window is no reason to give up
    p.b().auto_read = true;
    p.pump();
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == data.size(); }, 120s));
}

// a sends into b's 4 KiB window, which b never reads: the window closes and a probes.
struct closed_window {
    tcp_pair p;
    explicit closed_window(const tcp::config& cfg) : p{cfg, with_small_receive_buffer(cfg)} {
        EXPECT_TRUE(establish(p));
        p.b().auto_read = false;
        p.a().queue_send(std::vector<std::byte>(20000, std::byte{1}));
        full = p.run_until([&] { return p.b().conn.bytes_readable() == 4096; });
    }
    static tcp::config with_small_receive_buffer(tcp::config c) {
        c.receive_buffer_size = 4096;
        return c;
    }
    bool full = false;
};

// RFC 9293 MUST-26: a zero window is no reason to close while the peer answers the probes;
// a peer that stops answering them is gone, and R2 applies as to retransmissions.
TEST(TcpPersist, AnsweredProbesKeepTheConnectionPastR2) {
    tcp::config cfg;
    cfg.max_retries = 2;
    closed_window w{cfg};
    auto& p = w.p;
    ASSERT_TRUE(w.full);
    p.advance(300s);
    EXPECT_GT(p.a().stats.zero_window_probes, 2u * cfg.max_retries);
    EXPECT_TRUE(is(p.a(), state::established));
}

TEST(TcpPersist, UnansweredProbesTimeOutAfterR2) {
    tcp::config cfg;
    cfg.max_retries = 3;
    closed_window w{cfg};
    auto& p = w.p;
    ASSERT_TRUE(w.full);
    p.advance(1s);  // the first probe is answered: the peer is still there
    const auto answered = p.a().stats.zero_window_probes;
    ASSERT_GE(answered, 1u);
    p.deliver_b_to_a = false;  // then it vanishes, its last word a zero window
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closed); }, 600s));
    EXPECT_EQ(p.a().conn.last_error(), tcp::error::timed_out);
    EXPECT_EQ(p.a().stats.zero_window_probes - answered, cfg.max_retries);
}

// An orphan (the application closed) whose peer vanished gives up after max_orphan_retries,
// like Linux's tcp_orphan_retries; the same connection still open keeps trying.
TEST(TcpRto, OrphanGivesUpAfterOrphanRetries) {
    tcp::config cfg;
    cfg.max_retries = 10;
    cfg.max_orphan_retries = 3;
    cfg.max_rto = 2s;
    for (const bool orphan : {true, false}) {
        SCOPED_TRACE(orphan ? "closed by the application" : "still open");
        tcp_pair p{cfg, cfg};
        ASSERT_TRUE(establish(p));
        p.deliver_a_to_b = false;
        const auto mark = p.a().sent.size();
        ASSERT_EQ(p.a().conn.send(as_bytes_of(std::string_view{"lost data"}), p.now()), 9u);
        if (orphan) p.a().conn.close(p.now());
        ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closed); }, 600s));
        EXPECT_EQ(p.a().conn.last_error(), tcp::error::timed_out);
        const auto t = send_times(p.a(), mark, true);
        EXPECT_EQ(t.size(), 1u + (orphan ? cfg.max_orphan_retries : cfg.max_retries));
    }
}

TEST(TcpKeepalive, ProbesAnsweredKeepTheConnection) {
    tcp::config cfg;
    cfg.keepalive_idle = 10s;
    cfg.keepalive_interval = 2s;
    cfg.keepalive_probes = 3;
    tcp_pair p{cfg, cfg};
    ASSERT_TRUE(establish(p));
    p.a().conn.set_keep_alive(true, p.now());
    const auto mark = p.a().sent.size();
    p.advance(35s);
    EXPECT_TRUE(is(p.a(), state::established));
    EXPECT_EQ(p.a().stats.keepalive_probes, 3u);  // at 10, 20, 30 s: each answered, idle restarts
    auto out = p.a().sent_since(mark);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].seg.seq + 1, p.a().conn.info().snd_una);
    EXPECT_TRUE(out[0].seg.payload.empty());
}

TEST(TcpKeepalive, UnansweredProbesTimeOut) {
    tcp::config cfg;
    cfg.keepalive_idle = 10s;
    cfg.keepalive_interval = 2s;
    cfg.keepalive_probes = 3;
    tcp_pair p{cfg, cfg};
    ASSERT_TRUE(establish(p));
    p.a().conn.set_keep_alive(true, p.now());
    p.deliver_b_to_a = false;
    const instant start = p.now();
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closed); }, 60s));
    EXPECT_EQ(p.a().conn.last_error(), tcp::error::timed_out);
    EXPECT_EQ(p.a().stats.keepalive_probes, 3u);
    EXPECT_EQ(p.now() - start, 10s + 3 * 2s);
}

TEST(TcpKeepalive, OffByDefault) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.advance(3h);
    EXPECT_EQ(p.a().stats.keepalive_probes, 0u);
    EXPECT_FALSE(p.a().conn.deadline().has_value());
}

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
    const auto t = send_times(p.a(), mark, true);
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
    EXPECT_EQ(send_times(p.a(), mark, true).size(), 5u);  // the original and max_retries
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

// R1 (RFC 9293 MUST-20, RFC 1122 4.2.3.5): negative advice to the IP layer.

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
