// The receive side on its own: segment acceptability and trimming (RFC 9293 §3.10.7.4),
// out-of-order placement, the advertised window's edge rules and the ACK policy.
#include <gtest/gtest.h>

#include <vector>

#include "tcp/receive_side.hpp"

namespace tapstack::tcp {
namespace {

using namespace std::chrono_literals;

/// A receive side that took the peer's SYN at 999 (RCV.NXT = 1000), a `buffer`-byte window
/// advertised once, without scaling.
receive_side opened(std::uint32_t buffer = 8000, std::uint16_t mss = 1000) {
    config cfg;
    cfg.mss = mss;
    cfg.window_scaling = false;
    cfg.receive_buffer_size = buffer;
    receive_side r;
    r.reset(cfg);
    r.take_syn(seq_number{999});
    r.negotiated(false, buffer);
    r.buf.reset(r.capacity());
    r.advertise(mss);
    return r;
}

std::vector<std::byte> bytes_of(std::size_t n, std::uint8_t v) { return std::vector<std::byte>(n, std::byte{v}); }

TEST(ReceiveSideWindow, AcceptabilityFollowsTheFourCases) {
    receive_side r = opened();
    const seq_number nxt{1000};
    ASSERT_EQ(r.window(), 8000u);
    EXPECT_TRUE(r.acceptable(nxt, 0));  // empty segment in the window
    EXPECT_TRUE(r.acceptable(nxt + 7999, 0));
    EXPECT_FALSE(r.acceptable(nxt + 8000, 0));  // at the right edge: outside
    EXPECT_FALSE(r.acceptable(nxt - 1, 0));
    EXPECT_TRUE(r.acceptable(nxt - 10, 20));  // its tail reaches into the window
    EXPECT_FALSE(r.acceptable(nxt - 10, 10));  // all old
    EXPECT_TRUE(r.acceptable(nxt + 7999, 100));  // starts inside
    // A zero window takes only an empty segment at RCV.NXT.
    r.adv = r.nxt;
    ASSERT_EQ(r.window(), 0u);
    EXPECT_TRUE(r.acceptable(nxt, 0));
    EXPECT_FALSE(r.acceptable(nxt + 1, 0));
    EXPECT_FALSE(r.acceptable(nxt, 1));
}

TEST(ReceiveSideWindow, TrimCutsOldBytesAndWhatPassesTheEdge) {
    receive_side r = opened(1000);
    const auto data = bytes_of(300, 1);
    wire::tcp_segment seg;
    seg.seq = seq_number{900};  // 100 old bytes
    seg.payload = data;
    seg.flags.fin = true;
    r.trim_to_window(seg, false);
    EXPECT_EQ(seg.seq, seq_number{1000});
    EXPECT_EQ(seg.payload.size(), 200u);
    EXPECT_TRUE(seg.flags.fin);  // inside the window: kept
    // Past the right edge (1000 + 1000): cut, and the FIN behind it goes too.
    seg.seq = seq_number{1900};
    seg.payload = data;
    seg.flags.fin = true;
    r.trim_to_window(seg, false);
    EXPECT_EQ(seg.payload.size(), 100u);
    EXPECT_FALSE(seg.flags.fin);
    // A retransmitted SYN at IRS loses the SYN with the old sequence number.
    seg.seq = seq_number{999};
    seg.flags.syn = true;
    seg.payload = data;
    r.trim_to_window(seg, false);
    EXPECT_FALSE(seg.flags.syn);
    EXPECT_EQ(seg.seq, seq_number{1000});
    EXPECT_EQ(seg.payload.size(), 300u);
    // A zero-window ACK keeps its ACK only.
    seg.payload = data;
    seg.flags.fin = true;
    r.trim_to_window(seg, true);
    EXPECT_TRUE(seg.payload.empty());
    EXPECT_FALSE(seg.flags.fin);
}

TEST(ReceiveSideReassembly, OutOfOrderIsHeldThenDeliveredWhenTheHoleFills) {
    receive_side r = opened();
    const auto a = bytes_of(100, 0xa), b = bytes_of(100, 0xb), c = bytes_of(100, 0xc);
    using placed = receive_side::placed;
    EXPECT_EQ(r.place(seq_number{1200}, c, 1000, 1 << 20), placed::out_of_order);
    EXPECT_EQ(r.place(seq_number{1200}, c, 1000, 1 << 20), placed::duplicate);
    EXPECT_EQ(r.nxt, seq_number{1000});
    EXPECT_EQ(r.buf.size(), 0u);
    EXPECT_EQ(r.ooo.total(), 100u);
    EXPECT_EQ(r.place(seq_number{1000}, a, 1000, 1 << 20), placed::filled_hole);
    EXPECT_EQ(r.nxt, seq_number{1100});  // [1200,1300) still waits for [1100,1200)
    EXPECT_EQ(r.place(seq_number{1100}, b, 1000, 1 << 20), placed::filled_hole);
    EXPECT_EQ(r.nxt, seq_number{1300});
    EXPECT_TRUE(r.ooo.empty());
    EXPECT_EQ(r.unacked, 200u);  // the in-order payloads (100 + 100); pulled-in held bytes are not counted again
    std::vector<std::byte> out(300);
    ASSERT_EQ(r.buf.read(out), 300u);
    EXPECT_EQ(out[0], std::byte{0xa});
    EXPECT_EQ(out[100], std::byte{0xb});
    EXPECT_EQ(out[299], std::byte{0xc});
    EXPECT_EQ(r.place(seq_number{1300}, a, 1000, 1 << 20), placed::in_order);  // no holes left
}

TEST(ReceiveSideReassembly, OutOfOrderBoundIsEnforced) {
    receive_side r = opened();
    const auto d = bytes_of(100, 1);
    using placed = receive_side::placed;
    EXPECT_EQ(r.place(seq_number{1100}, d, 1000, 150), placed::out_of_order);
    EXPECT_EQ(r.place(seq_number{1300}, d, 1000, 150), placed::over_limit);
    EXPECT_EQ(r.ooo.total(), 100u);
}

TEST(ReceiveSideAdvertise, EdgeMovesOnlyByAtLeastMinOfHalfBufferAndMss) {
    receive_side r = opened(8000, 1000);
    ASSERT_EQ(r.adv, seq_number{9000});
    const auto d = bytes_of(1500, 1);
    ASSERT_EQ(r.place(seq_number{1000}, d, 1000, 1 << 20), receive_side::placed::in_order);
    // 1500 bytes unread: the edge stays where it was (RFC 9293 §3.8.6.2.2), the window shrinks.
    EXPECT_EQ(r.advertise(1000), 6500u);
    EXPECT_EQ(r.adv, seq_number{9000});
    std::vector<std::byte> out(1500);
    r.buf.read(std::span{out}.first(500));
    // 500 bytes freed: less than an MSS, the edge does not move (no small window increments).
    EXPECT_EQ(r.candidate_edge(1000), seq_number{9000});
    EXPECT_FALSE(r.window_update_due(1000));
    r.buf.read(std::span{out}.first(1000));
    EXPECT_EQ(r.candidate_edge(1000), seq_number{10500});  // 1500 >= MSS: it moves
}

TEST(ReceiveSideAdvertise, ScaledWindowIsRoundedUpNeverShrinking) {
    config cfg;
    cfg.receive_buffer_size = 100000;
    receive_side r;
    r.reset(cfg);
    ASSERT_EQ(r.wscale, 1);  // RFC 7323 §2.3: the smallest shift that covers the buffer
    r.take_syn(seq_number{0});
    r.negotiated(true, cfg.receive_buffer_size);
    r.buf.reset(r.capacity());
    EXPECT_EQ(r.advertise(1460), 50000u);
    // An odd window rounds up, so the edge never moves left by the scaling.
    r.nxt += 1;
    r.adv = r.nxt + 99999;
    EXPECT_EQ(r.advertise(1460), 50000u);
    EXPECT_EQ(r.adv, r.nxt + 100000);
}

TEST(ReceiveSideAckPolicy, DelayedUntilTwoFullSegmentsThenEndOfBatch) {
    config cfg;
    cfg.delayed_ack = 40ms;
    cfg.stretch_ack_segments = 4;
    receive_side r = opened();
    r.seg_est = 1000;
    using due = receive_side::ack_due;
    EXPECT_EQ(r.ack_policy(false, cfg), due::none);
    r.unacked = 1000;
    EXPECT_EQ(r.ack_policy(false, cfg), due::delayed);
    EXPECT_EQ(r.ack_policy(true, cfg), due::now);
    r.unacked = 2000;  // RFC 5681 §4.2: every second full-sized segment
    EXPECT_EQ(r.ack_policy(false, cfg), due::end_of_batch);
    r.unacked = 4000;  // the stretch bound
    EXPECT_EQ(r.ack_policy(false, cfg), due::now);
    r.unacked = 1;
    cfg.delayed_ack = duration{};  // delayed ACKs off
    EXPECT_EQ(r.ack_policy(false, cfg), due::now);
    r.acked();
    EXPECT_EQ(r.unacked, 0u);
}

TEST(ReceiveSideSack, NewestBlockFirstAndAtMostThreeBesideTimestamps) {
    receive_side r = opened();
    const auto d = bytes_of(10, 1);
    for (std::uint32_t i = 0; i < 5; ++i) r.place(seq_number{1100 + 100 * i}, d, 1000, 1 << 20);
    wire::tcp_options o;
    r.add_sack_blocks(o, /*timestamps=*/true);
    ASSERT_EQ(o.sack_count, 3);
    EXPECT_EQ(o.sack[0].left, seq_number{1500});  // the newest (RFC 2018 §4)
    EXPECT_EQ(o.sack[1].left, seq_number{1400});
    EXPECT_EQ(o.sack[2].left, seq_number{1300});
    wire::tcp_options four;
    r.add_sack_blocks(four, false);
    EXPECT_EQ(four.sack_count, 4);
}

}  // namespace
}  // namespace tapstack::tcp
