// RFC 5961 blind-attack hardening, PAWS (RFC 7323 §5) and the acceptability test.
#include <gtest/gtest.h>

#include "tcp_factory.hpp"

namespace tapstack::testing {
namespace {

using tcp::seq_number;
using tcp::state;
using namespace std::chrono_literals;

struct attacked {
    tcp_pair p;
    explicit attacked(const tcp::config& cfg = {}) : p{cfg, cfg} {
        EXPECT_TRUE(establish(p));
        p.advance(1s);  // delayed ACKs settled
        mark = p.a().sent.size();
    }
    std::size_t mark = 0;
    seq_number rcv_nxt() { return p.a().conn.rcv_nxt(); }
    seq_number snd_nxt() { return p.a().conn.info().snd_nxt; }
    void inject(seq_number seq, std::optional<seq_number> ack, const char* flags, std::string_view data = {}) {
        p.inject_to_a(make_segment(false, seq, ack, flags_of(flags), 1000, as_bytes_of(data)));
    }
    std::vector<owned_segment> replies() { return p.a().sent_since(mark); }
};

TEST(TcpRfc5961, RstOutsideWindowIsIgnored) {
    attacked t;
    t.inject(t.rcv_nxt() + 10'000'000, std::nullopt, "R");
    EXPECT_TRUE(is(t.p.a(), state::established));
    EXPECT_TRUE(t.replies().empty());
    // Control: the same RST at RCV.NXT resets the connection.
    t.inject(t.rcv_nxt(), std::nullopt, "R");
    EXPECT_TRUE(is(t.p.a(), state::closed));
}

TEST(TcpRfc5961, RstInWindowButNotExactGetsChallengeAck) {
    attacked t;
    t.inject(t.rcv_nxt() + 100, std::nullopt, "R");
    EXPECT_TRUE(is(t.p.a(), state::established));
    auto r = t.replies();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_TRUE(r[0].seg.flags.ack);
    EXPECT_FALSE(r[0].seg.flags.rst);
    EXPECT_EQ(r[0].seg.ack, t.rcv_nxt());
    EXPECT_EQ(r[0].seg.seq, t.snd_nxt());
    EXPECT_EQ(t.p.a().stats.challenge_acks, 1u);
}

TEST(TcpRfc5961, ExactRstResets) {
    attacked t;
    t.inject(t.rcv_nxt(), std::nullopt, "R");
    EXPECT_TRUE(is(t.p.a(), state::closed));
    EXPECT_EQ(t.p.a().conn.last_error(), tcp::error::connection_reset);
    EXPECT_TRUE(t.p.a().saw_event(tcp::connection_observer::readable));
    EXPECT_TRUE(t.replies().empty());
    EXPECT_EQ(t.p.a().stats.in_rsts, 1u);
}

TEST(TcpRfc5961, SynInEstablishedGetsChallengeAck) {
    attacked t;
    t.inject(t.rcv_nxt() + 5, std::nullopt, "S");
    EXPECT_TRUE(is(t.p.a(), state::established));
    auto r = t.replies();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_TRUE(r[0].seg.flags.ack && !r[0].seg.flags.syn && !r[0].seg.flags.rst);
    EXPECT_EQ(r[0].seg.ack, t.rcv_nxt());
    // Even a SYN outside the window (it fails the first check and is ACKed there).
    t.inject(t.rcv_nxt() - 100000, std::nullopt, "S");
    EXPECT_TRUE(is(t.p.a(), state::established));
}

TEST(TcpRfc5961, ChallengeAcksAreRateLimited) {
    tcp::config cfg;
    cfg.challenge_ack_limit = 2;
    attacked t{cfg};
    for (int i = 0; i < 5; ++i) t.inject(t.rcv_nxt() + 100 + static_cast<std::uint32_t>(i), std::nullopt, "R");
    EXPECT_EQ(t.replies().size(), 2u);
    EXPECT_EQ(t.p.a().stats.challenge_acks, 2u);
    EXPECT_EQ(t.p.a().stats.challenge_acks_suppressed, 3u);
    t.p.advance(1s);
    t.mark = t.p.a().sent.size();
    t.inject(t.rcv_nxt() + 100, std::nullopt, "R");
    EXPECT_EQ(t.replies().size(), 1u);
}

TEST(TcpRfc5961, AckBeyondSndNxtIsChallengedAndDataDropped) {
    attacked t;
    t.inject(t.rcv_nxt(), t.snd_nxt() + 5000, "A", "evil");
    EXPECT_TRUE(t.p.a().received.empty());
    auto r = t.replies();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].seg.ack, t.rcv_nxt());
    EXPECT_EQ(t.p.a().stats.ack_unacceptable, 1u);
}

TEST(TcpRfc5961, AckTooFarBelowSndUnaIsChallenged) {
    attacked t;
    t.inject(t.rcv_nxt(), t.snd_nxt() - 10'000'000, "A", "evil");
    EXPECT_TRUE(t.p.a().received.empty());
    EXPECT_EQ(t.p.a().stats.ack_unacceptable, 1u);
    // Control: the same data acknowledging SND.NXT is taken.
    t.inject(t.rcv_nxt(), t.snd_nxt(), "A", "evil");
    EXPECT_EQ(t.p.a().received_string(), "evil");
}

TEST(TcpAcceptability, OutOfWindowDataIsAckedAndDropped) {
    attacked t;
    t.inject(t.rcv_nxt() + 10'000'000, t.snd_nxt(), "A", "far away");
    EXPECT_TRUE(t.p.a().received.empty());
    auto r = t.replies();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].seg.ack, t.rcv_nxt());
    EXPECT_EQ(t.p.a().stats.in_window_drops, 1u);
}

TEST(TcpAcceptability, SegmentWithoutAckIsDropped) {
    attacked t;
    t.inject(t.rcv_nxt(), std::nullopt, "", "no ack flag");
    EXPECT_TRUE(t.p.a().received.empty());
    // Control: the same segment with an acceptable ACK is taken.
    t.inject(t.rcv_nxt(), t.snd_nxt(), "A", "no ack flag");
    EXPECT_EQ(t.p.a().received_string(), "no ack flag");
}

TEST(TcpPaws, OldTimestampIsDroppedWithAck) {
    attacked t;
    auto seg = make_segment(false, t.rcv_nxt(), t.snd_nxt(), flags_of("A"), 1000, as_bytes_of(std::string_view{"old"}));
    seg.options.timestamps = wire::tcp_timestamps{1, 0};  // far older than b's clock
    t.p.inject_to_a(seg);
    EXPECT_TRUE(t.p.a().received.empty());
    EXPECT_EQ(t.p.a().stats.paws_drops, 1u);
    ASSERT_EQ(t.replies().size(), 1u);
    // A current timestamp is accepted.
    seg.options.timestamps = wire::tcp_timestamps{0x7fff0000u, 0};
    t.p.inject_to_a(seg);
    EXPECT_EQ(t.p.a().received_string(), "old");
}

}  // namespace
}  // namespace tapstack::testing
