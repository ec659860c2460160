// Every timer: RTO with backoff and give-up, SYN retries, persist, keepalive (delayed ACK and
// TIME-WAIT are in tcp_data_test / tcp_state_test).
#include <gtest/gtest.h>

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
    establish(p);
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
    establish(p);
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
    establish(p);
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
    establish(p);
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
        establish(p);
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
        establish(p);
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
    establish(p);
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
    establish(p);
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
    establish(p);
    p.advance(3h);
    EXPECT_EQ(p.a().stats.keepalive_probes, 0u);
    EXPECT_FALSE(p.a().conn.deadline().has_value());
}

}  // namespace
}  // namespace tapstack::testing
