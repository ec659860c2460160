// The send side on its own: Nagle and sender SWS avoidance decisions, the window update rule,
// persist back-off and the send ring's accounting.
#include <gtest/gtest.h>

#include <vector>

#include "tcp/send_side.hpp"

namespace tapstack::tcp {
namespace {

using namespace std::chrono_literals;
constexpr std::uint32_t smss = 1000;

send_side opened(std::uint32_t isn = 100) {
    send_side s;
    s.reset(seq_number{isn});
    s.una = s.nxt = s.max = seq_number{isn + 1};  // the SYN is acknowledged
    return s;
}

TEST(SendSideNagle, ShortLastPieceWaitsWhileSomethingIsOutstanding) {
    send_side s = opened();
    // RFC 896: with data in flight, a segment shorter than SMSS holding all that is queued waits.
    EXPECT_FALSE(s.small_segment_may_go(10, 10, smss, /*nagle=*/true, /*nothing_out=*/false));
    EXPECT_TRUE(s.small_segment_may_go(10, 10, smss, true, /*nothing_out=*/true));  // nothing in flight
    EXPECT_TRUE(s.small_segment_may_go(10, 10, smss, /*nagle=*/false, false));  // config off
    s.nodelay = true;  // TCP_NODELAY
    EXPECT_TRUE(s.small_segment_may_go(10, 10, smss, true, false));
}

TEST(SendSideNagle, FullSizedSegmentsAlwaysGo) {
    send_side s = opened();
    EXPECT_TRUE(s.small_segment_may_go(smss, smss, smss, true, false));
    EXPECT_TRUE(s.small_segment_may_go(smss, 5 * smss, smss, true, false));
    EXPECT_TRUE(s.small_segment_may_go(0, 0, smss, true, false));  // a bare FIN is not held here
}

TEST(SendSideSws, WindowLimitedRuntWaitsUnlessHalfTheLargestWindow) {
    send_side s = opened();
    s.max_wnd = 4000;
    // RFC 9293 §3.8.6.2.1: 500 of 3000 queued bytes fit the window: a runt, held back ...
    EXPECT_FALSE(s.small_segment_may_go(500, 3000, smss, false, false));
    // ... unless nothing is in flight (waiting would deadlock) ...
    EXPECT_TRUE(s.small_segment_may_go(500, 3000, smss, false, true));
    // ... or it is at least half the peer's largest window (not with SMSS 1000, so use 3000).
    EXPECT_TRUE(s.small_segment_may_go(2000, 3000, 3000, false, false));
    EXPECT_FALSE(s.small_segment_may_go(1999, 3000, 3000, false, false));
}

TEST(SendSidePersist, NeededOnlyWithAZeroWindowAndNothingInFlight) {
    EXPECT_TRUE(send_side::needs_persist(0, true));
    EXPECT_FALSE(send_side::needs_persist(0, false));  // the RTO covers it
    EXPECT_FALSE(send_side::needs_persist(1, true));
}

TEST(SendSidePersist, ProbesBackOffFromTheRtoUpToMaxRto) {
    send_side s = opened();
    EXPECT_EQ(s.back_off_persist(200ms, 1s), 200ms);  // first: the RTO
    EXPECT_EQ(s.back_off_persist(200ms, 1s), 400ms);
    EXPECT_EQ(s.back_off_persist(200ms, 1s), 800ms);
    EXPECT_EQ(s.back_off_persist(200ms, 1s), 1s);  // bounded
    EXPECT_EQ(s.back_off_persist(200ms, 1s), 1s);
}

TEST(SendSideWindow, UpdateFollowsWl1Wl2AndScales) {
    send_side s = opened();
    s.wscale = 2;
    wire::tcp_segment seg;
    seg.seq = seq_number{7000};
    seg.ack = s.una;
    seg.window = 1000;
    ASSERT_TRUE(s.window_update_applies(seg));
    EXPECT_TRUE(s.take_window(seg));  // it was zero before
    EXPECT_EQ(s.wnd, 4000u);  // 1000 << 2
    EXPECT_EQ(s.max_wnd, 4000u);
    // An older segment (SEG.SEQ < SND.WL1) must not undo the newer window.
    wire::tcp_segment old = seg;
    old.seq = seq_number{6000};
    EXPECT_FALSE(s.window_update_applies(old));
    // Same SEG.SEQ, SEG.ACK not older: applies; an ACK below SND.UNA never does.
    wire::tcp_segment same = seg;
    EXPECT_TRUE(s.window_update_applies(same));
    same.ack = s.una - 1;
    EXPECT_FALSE(s.window_update_applies(same));
    // A SYN's window is never scaled (RFC 7323 §2.2).
    wire::tcp_segment syn = seg;
    syn.flags.syn = true;
    syn.seq = seq_number{8000};
    s.take_window(syn);
    EXPECT_EQ(s.wnd, 1000u);
    EXPECT_EQ(s.max_wnd, 4000u);
}

TEST(SendSideWindow, ReopeningAZeroWindowIsReported) {
    send_side s = opened();
    wire::tcp_segment seg;
    seg.seq = seq_number{1};
    seg.ack = s.una;
    seg.window = 0;
    EXPECT_FALSE(s.take_window(seg));
    s.back_off_persist(200ms, 1s);
    seg.seq = seq_number{2};
    seg.window = 100;
    EXPECT_TRUE(s.take_window(seg));
    EXPECT_EQ(s.persist_interval, duration{});  // the next persist starts from the RTO again
    seg.seq = seq_number{3};
    EXPECT_FALSE(s.take_window(seg));  // open already
}

TEST(SendSideWindow, SynWindowIsNeverScaled) {
    send_side s = opened();
    s.wscale = 7;
    wire::tcp_segment syn;
    syn.flags.syn = true;
    syn.seq = seq_number{4000};
    syn.window = 29200;
    s.take_syn_window(syn, s.iss);
    EXPECT_EQ(s.wnd, 29200u);  // RFC 7323 §2.2
    EXPECT_EQ(s.max_wnd, 29200u);
    EXPECT_EQ(s.wl1, seq_number{4000});
    EXPECT_EQ(s.wl2, s.iss);
}

TEST(SendSideRing, AcknowledgeNeverLeavesSndNxtBehind) {
    send_side s = opened(100);
    s.max = s.una + 3000;
    s.nxt = s.una + 1000;  // walked back after a timeout
    s.acknowledge(s.una + 2000);
    EXPECT_EQ(s.una, seq_number{2101});
    EXPECT_EQ(s.nxt, s.una);
    s.nxt = s.max;
    s.acknowledge(s.una + 500);
    EXPECT_EQ(s.nxt, s.max);  // ahead already: kept
}

TEST(SendSideRing, AccountingOfQueuedSentAndAcknowledgedBytes) {
    send_side s = opened(100);
    s.buf.reset(4096);
    std::vector<std::byte> data(3000, std::byte{7});
    ASSERT_EQ(s.buf.write(data), 3000u);
    EXPECT_EQ(s.data_end(), seq_number{101 + 3000});
    EXPECT_EQ(s.unsent(), 3000u);
    s.wnd = 2000;
    EXPECT_EQ(s.window_room(), 2000u);
    s.nxt = s.max = s.una + 1500;
    EXPECT_EQ(s.unsent(), 1500u);
    EXPECT_EQ(s.flight(), 1500u);
    EXPECT_EQ(s.window_room(), 500u);
    EXPECT_EQ(s.consume_acked(s.una + 1000), 1000u);
    EXPECT_EQ(s.buf.size(), 2000u);
    EXPECT_EQ(s.buf_seq, seq_number{1101});
    EXPECT_EQ(s.consume_acked(seq_number{1101}), 0u);  // nothing new
    EXPECT_FALSE(s.fin_sent());
    s.fin_queued = true;
    s.max = s.data_end() + 1;  // the FIN went out after the data
    EXPECT_TRUE(s.fin_sent());
}

}  // namespace
}  // namespace tapstack::tcp
