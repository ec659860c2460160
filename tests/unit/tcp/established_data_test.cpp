// Data transfer: options negotiation, MSS, Nagle, reassembly, SACK reporting, windows.
#include <gtest/gtest.h>

#include <string>

#include "tcp_factory.hpp"

namespace tapstack::testing {
namespace {

using tcp::seq_number;
using tcp::state;
using namespace std::chrono_literals;

/// The right edge (SEG.ACK + SEG.WND << shift) of every non-SYN segment never moves left.
void expect_right_edge_never_shrinks(const tcp_endpoint& e, std::uint8_t shift) {
    std::optional<seq_number> edge;
    for (const auto& s : e.sent) {
        if (s.seg.flags.syn || !s.seg.flags.ack || s.seg.flags.rst) continue;
        const seq_number r = s.seg.ack + (std::uint32_t{s.seg.window} << shift);
        if (edge) { EXPECT_GE(r, *edge) << "window right edge moved left"; }
        edge = edge ? tcp::seq_max(*edge, r) : r;
    }
}

TEST(TcpData, SmallExchangeBothWays) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.a().queue_send("hello");
    p.b().queue_send("world!");
    ASSERT_TRUE(p.run_until([&] { return p.a().received.size() == 6 && p.b().received.size() == 5; }));
    EXPECT_EQ(p.b().received_string(), "hello");
    EXPECT_EQ(p.a().received_string(), "world!");
    EXPECT_TRUE(p.b().saw_event(tcp::connection_observer::readable));
    ASSERT_TRUE(p.run_until([&] { return p.a().conn.bytes_unacknowledged() == 0; }));
}

TEST(TcpData, TransferAcrossSequenceWrap) {
    tcp_pair p;
    ASSERT_TRUE(establish(p, seq_number{0xffffff00u}, seq_number{0xfffff000u}));
    const auto da = pattern(300'000, 1), db = pattern(200'000, 2);
    p.a().queue_send(da);
    p.b().queue_send(db);
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == da.size() && p.a().received.size() == db.size(); }));
    EXPECT_EQ(p.b().received, da);
    EXPECT_EQ(p.a().received, db);
    // Both sequence spaces wrapped past 2^32.
    EXPECT_LT(p.a().conn.info().snd_una.value(), 0x10000000u);
    EXPECT_LT(p.b().conn.info().snd_una.value(), 0x10000000u);
}

TEST(TcpOptionsNegotiation, WindowScaleTimestampsSackWhenBothOffer) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    const auto& syn = p.a().sent[0].seg;
    ASSERT_TRUE(syn.options.window_scale.has_value());
    EXPECT_EQ(*syn.options.window_scale, 3);  // 256 KiB needs a shift of 3 (65535 << 2 < 262144)
    EXPECT_TRUE(syn.options.timestamps.has_value());
    EXPECT_TRUE(syn.options.sack_permitted);
    EXPECT_EQ(syn.options.mss, std::optional<std::uint16_t>{1460});
    const auto& synack = p.b().sent[0].seg;
    EXPECT_TRUE(synack.options.window_scale.has_value());
    ASSERT_TRUE(synack.options.timestamps.has_value());
    EXPECT_EQ(synack.options.timestamps->echo, syn.options.timestamps->value);
    for (auto* e : {&p.a(), &p.b()}) {
        const auto i = e->conn.info();
        EXPECT_TRUE(i.window_scaling);
        EXPECT_TRUE(i.timestamps);
        EXPECT_TRUE(i.sack);
        EXPECT_EQ(i.snd_wscale, 3);
        EXPECT_EQ(i.smss, 1460 - 12);  // timestamps take 12 bytes of every segment
    }
    // Later segments carry timestamps; RTT came from them.
    p.a().queue_send("x");
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == 1; }));
    EXPECT_TRUE(p.a().sent.back().seg.options.timestamps.has_value());
    EXPECT_GT(p.a().stats.rtt_samples, 0u);
}

TEST(TcpOptionsNegotiation, AbsentWhenTheActiveSideDoesNotOffer) {
    tcp::config off;
    off.window_scaling = false;
    off.timestamps = false;
    off.sack = false;
    tcp_pair p{off, tcp::config{}};
    ASSERT_TRUE(establish(p));
    const auto& syn = p.a().sent[0].seg;
    EXPECT_FALSE(syn.options.window_scale.has_value());
    EXPECT_FALSE(syn.options.timestamps.has_value());
    EXPECT_FALSE(syn.options.sack_permitted);
    const auto& synack = p.b().sent[0].seg;
    EXPECT_FALSE(synack.options.window_scale.has_value());  // RFC 7323 §1.3: only in reply to one
    EXPECT_FALSE(synack.options.timestamps.has_value());
    EXPECT_FALSE(synack.options.sack_permitted);
    for (auto* e : {&p.a(), &p.b()}) {
        const auto i = e->conn.info();
        EXPECT_FALSE(i.window_scaling);
        EXPECT_FALSE(i.timestamps);
        EXPECT_FALSE(i.sack);
        EXPECT_EQ(i.rcv_wscale, 0);
        EXPECT_EQ(i.smss, 1460);
    }
    // Without scaling the window field is the byte count, capped at 65535.
    p.a().queue_send("y");
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == 1; }));
    EXPECT_EQ(p.b().sent.back().seg.window, 65535);
}

TEST(TcpOptionsNegotiation, AbsentWhenThePassiveSideDeclines) {
    tcp::config off;
    off.window_scaling = false;
    off.timestamps = false;
    tcp_pair p{tcp::config{}, off};
    ASSERT_TRUE(establish(p));
    EXPECT_TRUE(p.a().sent[0].seg.options.window_scale.has_value());
    EXPECT_FALSE(p.b().sent[0].seg.options.window_scale.has_value());
    EXPECT_FALSE(p.b().sent[0].seg.options.timestamps.has_value());
    const auto i = p.a().conn.info();
    EXPECT_FALSE(i.window_scaling);
    EXPECT_FALSE(i.timestamps);
    EXPECT_TRUE(i.sack);
    EXPECT_EQ(i.rcv_wscale, 0);
    // No timestamps on later segments either.
    p.a().queue_send("z");
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == 1; }));
    EXPECT_FALSE(p.a().sent.back().seg.options.timestamps.has_value());
}

TEST(TcpMss, DefaultsTo536WithoutOption) {
    tcp_pair p;
    p.deliver_b_to_a = false;
    // A hand-made SYN with no options at all reaches b's "listener".
    p.inject_to_b(make_segment(true, seq_number{100}, std::nullopt, flags_of("S"), 65535));
    ASSERT_TRUE(is(p.b(), state::syn_received));
    const auto synack = p.b().sent.back().seg;
    EXPECT_EQ(synack.options.mss, std::optional<std::uint16_t>{1460});
    EXPECT_FALSE(synack.options.timestamps.has_value());
    p.inject_to_b(make_segment(true, seq_number{101}, synack.seq + 1, flags_of("A"), 65535));
    ASSERT_TRUE(is(p.b(), state::established));
    EXPECT_EQ(p.b().conn.info().peer_mss, 536);
    const auto mark = p.b().sent.size();
    p.b().queue_send(std::string(2000, 'm'));
    p.pump();
    auto out = p.b().sent_since(mark);
    ASSERT_GE(out.size(), 3u);
    for (const auto& s : out) EXPECT_LE(s.seg.payload.size(), 536u);
    EXPECT_EQ(out[0].seg.payload.size(), 536u);
}

TEST(TcpMss, SegmentsNeverExceedPeerMss) {
    tcp::config small;
    small.mss = 700;
    tcp_pair p{tcp::config{}, small};
    ASSERT_TRUE(establish(p));
    p.a().queue_send(pattern(20000, 3));
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == 20000; }));
    for (const auto& s : p.a().sent) EXPECT_LE(s.seg.payload.size(), 700u - 12u);
}

TEST(TcpNagle, SmallWritesCoalesceWhileDataIsOutstanding) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    const auto mark = p.a().sent.size();
    for (const char* s : {"a", "b", "c"}) p.a().conn.send(as_bytes_of(std::string_view{s}), p.now());
    auto out = p.a().sent_since(mark);
    ASSERT_EQ(out.size(), 1u);  // "b" and "c" wait for the ACK of "a"
    EXPECT_EQ(out[0].payload_string(), "a");
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == 3; }));
    out = p.a().sent_since(mark);
    ASSERT_GE(out.size(), 2u);
    EXPECT_EQ(out[1].payload_string(), "bc");
}

TEST(TcpNagle, NoDelaySendsEachWriteAtOnce) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.a().conn.set_no_delay(true);
    const auto mark = p.a().sent.size();
    for (const char* s : {"a", "b", "c"}) p.a().conn.send(as_bytes_of(std::string_view{s}), p.now());
    auto out = p.a().sent_since(mark);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[2].payload_string(), "c");
}

struct injected_receiver {
    // b is real; a is cut off and the test plays a by hand.
    tcp_pair p;
    seq_number base;
    explicit injected_receiver(const tcp::config& b_cfg = {}) : p{tcp::config{}, b_cfg} {
        EXPECT_TRUE(establish(p));
        p.deliver_a_to_b = false;
        base = p.a().conn.info().snd_nxt;
    }
    void send(std::uint32_t off, std::string_view data, const char* flags = "A") {
        p.inject_to_b(make_segment(true, base + off, p.a().conn.rcv_nxt(), flags_of(flags), 1000, as_bytes_of(data)));
    }
};

TEST(TcpReassembly, OutOfOrderHolesAndOverlapsAreReassembled) {
    injected_receiver r;
    auto& p = r.p;
    const std::string abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    auto part = [&](std::uint32_t from, std::uint32_t to) { return std::string_view{abc}.substr(from, to - from); };
    auto mark = p.b().sent.size();
    r.send(10, part(10, 20));
    // Out-of-order data is acknowledged at once (a duplicate ACK) with a SACK block.
    auto out = p.b().sent_since(mark);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seg.ack, r.base);
    ASSERT_EQ(out[0].seg.options.sack_count, 1);
    EXPECT_EQ(out[0].seg.options.sack[0], (wire::sack_block{r.base + 10, r.base + 20}));
    r.send(15, part(15, 26));  // overlaps the held block
    EXPECT_EQ(p.b().sent.back().seg.options.sack[0], (wire::sack_block{r.base + 10, r.base + 26}));
    EXPECT_TRUE(p.b().received.empty());
    r.send(0, part(0, 5));
    EXPECT_EQ(p.b().received_string(), "ABCDE");
    mark = p.b().sent.size();
    r.send(3, part(3, 12));  // overlaps both sides and fills the hole
    EXPECT_EQ(p.b().received_string(), abc);
    out = p.b().sent_since(mark);
    ASSERT_EQ(out.size(), 1u);  // filling a hole is ACKed at once
    EXPECT_EQ(out[0].seg.ack, r.base + 26);
    EXPECT_EQ(out[0].seg.options.sack_count, 0);
    EXPECT_EQ(p.b().conn.info().ooo_bytes, 0u);
    // A full duplicate is answered with an ACK and counted.
    const auto dups = p.b().stats.duplicate_segs;
    r.send(0, part(0, 10));
    EXPECT_EQ(p.b().received_string(), abc);
    EXPECT_EQ(p.b().stats.duplicate_segs, dups + 1);
}

TEST(TcpReassembly, OutOfOrderMemoryIsBounded) {
    tcp::config bcfg;
    bcfg.max_out_of_order_bytes = 100;
    tcp_pair p{tcp::config{}, bcfg};
    ASSERT_TRUE(establish(p));
    p.deliver_a_to_b = false;
    const seq_number base = p.a().conn.info().snd_nxt;
    const std::string chunk(60, 'q');
    auto send = [&](std::uint32_t off) {
        p.inject_to_b(make_segment(true, base + off, p.a().conn.rcv_nxt(), flags_of("A"), 1000, as_bytes_of(chunk)));
    };
    send(100);
    EXPECT_EQ(p.b().conn.info().ooo_bytes, 60u);
    send(300);  // would hold 120 > 100: dropped
    EXPECT_EQ(p.b().conn.info().ooo_bytes, 60u);
    EXPECT_EQ(p.b().stats.out_of_order_drops, 1u);
}

TEST(TcpSack, BlocksReportMostRecentFirst) {
    injected_receiver r;
    auto& p = r.p;
    r.send(10, "xx");
    r.send(20, "yy");
    r.send(30, "zz");
    auto s = p.b().sent.back().seg;
    ASSERT_EQ(s.options.sack_count, 3);
    EXPECT_EQ(s.options.sack[0], (wire::sack_block{r.base + 30, r.base + 32}));
    EXPECT_EQ(s.options.sack[1], (wire::sack_block{r.base + 20, r.base + 22}));
    EXPECT_EQ(s.options.sack[2], (wire::sack_block{r.base + 10, r.base + 12}));
    r.send(40, "ww");  // four blocks held; with timestamps only three fit
    s = p.b().sent.back().seg;
    ASSERT_EQ(s.options.sack_count, 3);
    EXPECT_EQ(s.options.sack[0], (wire::sack_block{r.base + 40, r.base + 42}));
    r.send(21, "yyy");  // grows the [20,22) block: now the newest
    s = p.b().sent.back().seg;
    EXPECT_EQ(s.options.sack[0], (wire::sack_block{r.base + 20, r.base + 24}));
}

TEST(TcpDelayedAck, SingleSegmentAckedAfterDelay) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    const auto mark = p.b().sent.size();
    p.a().queue_send("ping");
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == 4; }));
    const instant arrived = p.now();
    EXPECT_EQ(p.b().sent.size(), mark);  // no immediate ACK
    ASSERT_TRUE(p.run_until([&] { return p.b().sent.size() > mark; }));
    EXPECT_EQ(p.now() - arrived, tcp::config{}.delayed_ack);
    EXPECT_EQ(p.b().stats.delayed_acks, 1u);
}

TEST(TcpDelayedAck, EverySecondFullSegmentMakesAnAckDueAtTheEndOfTheBatch) {
    injected_receiver r;
    auto& p = r.p;
    const std::string full(1448, 'f');
    const auto mark = p.b().sent.size();
    r.send(0, full);
    EXPECT_EQ(p.b().sent.size(), mark);
    EXPECT_EQ(p.b().conn.deadline(), p.now() + tcp::config{}.delayed_ack);  // one segment: 40 ms
    r.send(1448, full);
    EXPECT_EQ(p.b().sent.size(), mark);  // the second: due now, at the end of this batch
    EXPECT_EQ(p.b().conn.deadline(), p.now());
    r.send(2896, full);  // a third in the same batch rides on the same ACK
    p.b().conn.on_timer(p.now());  // the batch ends: the stack polls
    ASSERT_EQ(p.b().sent.size(), mark + 1);
    EXPECT_EQ(p.b().sent.back().seg.ack, r.base + 3 * 1448);
    EXPECT_EQ(p.b().sent.back().at, p.now());
}

TEST(TcpDelayedAck, StretchAckSegmentsBoundsOneBatch) {
    // RFC 5681 §4.2 to the letter (2): the second full segment is ACKed at once; with 4, the
    // fourth of a batch is.
    for (const std::uint32_t stretch : {2u, 4u}) {
        SCOPED_TRACE(stretch);
        tcp::config cfg;
        cfg.stretch_ack_segments = stretch;
        injected_receiver r{cfg};
        auto& p = r.p;
        const std::string full(1448, 'f');
        const auto mark = p.b().sent.size();
        for (std::uint32_t i = 0; i + 1 < stretch; ++i) r.send(i * 1448, full);
        EXPECT_EQ(p.b().sent.size(), mark);
        r.send((stretch - 1) * 1448, full);
        ASSERT_EQ(p.b().sent.size(), mark + 1);
        EXPECT_EQ(p.b().sent.back().seg.ack, r.base + stretch * 1448);
    }
}

TEST(TcpWindow, ReceiveWindowNeverShrinksAndReopensOnRead) {
    tcp::config small;
    small.receive_buffer_size = 8192;
    tcp_pair p{tcp::config{}, small};
    ASSERT_TRUE(establish(p));
    p.b().auto_read = false;
    p.a().queue_send(pattern(30000, 4));
    ASSERT_TRUE(p.run_until([&] { return p.b().conn.bytes_readable() == 8192; }));
    p.advance(100ms);
    EXPECT_EQ(p.b().conn.info().rcv_wnd, 0u);
    EXPECT_EQ(p.b().sent.back().seg.window, 0);
    // Reading opens the window: a window update goes out (receiver SWS avoidance lets it).
    std::vector<std::byte> buf(8192);
    const auto mark = p.b().sent.size();
    EXPECT_EQ(p.b().conn.receive(buf, p.now()), 8192u);
    EXPECT_EQ(p.b().stats.window_updates, 1u);
    ASSERT_GT(p.b().sent.size(), mark);
    EXPECT_GT(p.b().sent.back().seg.window, 0);
    p.b().auto_read = true;
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == 30000 - 8192; }));
    expect_right_edge_never_shrinks(p.b(), p.b().conn.info().rcv_wscale);
}

TEST(TcpWindow, SmallReadDoesNotTriggerWindowUpdate) {
    tcp::config small;
    small.receive_buffer_size = 65536;
    tcp_pair p{tcp::config{}, small};
    ASSERT_TRUE(establish(p));
    p.b().auto_read = false;
    p.a().queue_send(pattern(65536, 5));
    ASSERT_TRUE(p.run_until([&] { return p.b().conn.bytes_readable() == 65536; }));
    p.advance(100ms);
    std::vector<std::byte> buf(100);
    const auto mark = p.b().sent.size();
    p.b().conn.receive(buf, p.now());  // 100 bytes < 2*MSS: SWS avoidance keeps quiet
    EXPECT_EQ(p.b().sent.size(), mark);
    std::vector<std::byte> big(4000);
    p.b().conn.receive(big, p.now());  // now >= 2*MSS
    EXPECT_EQ(p.b().sent.size(), mark + 1);
}

TEST(TcpUrgent, UrgentFlagIsIgnoredSafely) {
    injected_receiver r;
    auto seg = make_segment(true, r.base, r.p.a().conn.rcv_nxt(), flags_of("UA"), 1000,
                            as_bytes_of(std::string_view{"urgent"}));
    seg.urgent_pointer = 60000;
    r.p.inject_to_b(seg);
    EXPECT_EQ(r.p.b().received_string(), "urgent");
    EXPECT_TRUE(is(r.p.b(), state::established));
}

}  // namespace
}  // namespace tapstack::testing
