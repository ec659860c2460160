// Loss recovery: fast retransmit (RFC 5681), NewReno (RFC 6582), SACK recovery (RFC 6675), and a
// bulk transfer through a lossy, reordering, duplicating link.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "tcp_factory.hpp"

namespace tapstack::testing {
namespace {

using tcp::seq_number;
using tcp::state;
using namespace std::chrono_literals;

/// Drops the a->b data segments that start at the given offsets from `base`, once each.
void drop_once(tcp_pair& p, seq_number base, std::set<std::uint32_t> offsets) {
    auto pending = std::make_shared<std::set<std::uint32_t>>(std::move(offsets));
    p.drop_if = [pending, base](int from, const wire::tcp_segment& s) {
        if (from != 0 || s.payload.empty()) return false;
        return pending->erase(static_cast<std::uint32_t>(s.seq - base)) > 0;
    };
}

TEST(TcpFastRetransmit, ThreeDupAcksTriggerRetransmitBeforeRto) {
    tcp::config cfg;
    cfg.sack = false;
    tcp_pair p{cfg, cfg};
    ASSERT_TRUE(establish(p));
    const auto i = p.a().conn.info();
    drop_once(p, i.snd_nxt, {0});
    const auto data = pattern(10 * i.smss, 1);
    p.a().queue_send(data);
    const instant start = p.now();
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == data.size(); }));
    EXPECT_EQ(p.b().received, data);
    EXPECT_EQ(p.a().stats.fast_retransmits, 1u);
    EXPECT_EQ(p.a().stats.timeouts, 0u);
    EXPECT_EQ(p.a().stats.sack_recoveries, 0u);
    EXPECT_LT(p.now() - start, 100ms);  // well before the 200 ms RTO
    EXPECT_GE(p.a().stats.dup_acks_in, 3u);
    // The ACKs b sent for out-of-order data carried no SACK blocks (not negotiated).
    for (const auto& s : p.b().sent) EXPECT_EQ(s.seg.options.sack_count, 0);
}

TEST(TcpFastRetransmit, NewRenoPartialAckRetransmitsNextHole) {
    tcp::config cfg;
    cfg.sack = false;
    tcp_pair p{cfg, cfg};
    ASSERT_TRUE(establish(p));
    const auto i = p.a().conn.info();
    drop_once(p, i.snd_nxt, {0, 3u * i.smss});
    const auto data = pattern(10 * i.smss, 2);
    p.a().queue_send(data);
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == data.size(); }));
    EXPECT_EQ(p.b().received, data);
    EXPECT_EQ(p.a().stats.fast_retransmits, 1u);  // one recovery episode for both losses
    EXPECT_EQ(p.a().stats.timeouts, 0u);
    EXPECT_EQ(p.a().stats.retrans_segs, 2u);
}

TEST(TcpRto, SimultaneousTimeoutsBothWaysStillMakeProgress) {
    // Both sides' data arrives but every bare ACK is lost until after both RTOs fire at the same
    // instant; each retransmission is then a full duplicate at the peer. The bare ACKs answering
    // them must be acceptable (SEQ = SND.MAX, not the rewound SND.NXT) or both sides stall.
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.a().conn.set_no_delay(true);
    p.b().conn.set_no_delay(true);
    const instant until = p.now() + 150ms;
    p.drop_if = [&](int, const wire::tcp_segment& s) { return s.payload.empty() && !s.flags.fin && p.now() < until; };
    const auto da = pattern(3000, 5), db = pattern(3000, 6);
    p.a().queue_send(da);
    p.b().queue_send(db);
    ASSERT_TRUE(p.run_until(
        [&] {
            return p.a().received.size() == db.size() && p.b().received.size() == da.size() &&
                p.a().conn.bytes_unacknowledged() == 0 && p.b().conn.bytes_unacknowledged() == 0;
        },
        5s));
    EXPECT_EQ(p.a().received, db);
    EXPECT_EQ(p.b().received, da);
    EXPECT_LE(p.a().stats.timeouts, 2u);
    EXPECT_LE(p.b().stats.timeouts, 2u);
}

TEST(TcpSackRecovery, RetransmitsOnlyTheHoles) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    const auto i = p.a().conn.info();
    ASSERT_TRUE(i.sack);
    drop_once(p, i.snd_nxt, {i.smss, 4u * i.smss});
    const auto data = pattern(10 * i.smss, 3);
    p.a().queue_send(data);
    ASSERT_TRUE(p.run_until([&] { return p.b().received.size() == data.size(); }));
    EXPECT_EQ(p.b().received, data);
    EXPECT_EQ(p.a().stats.sack_recoveries, 1u);
    EXPECT_EQ(p.a().stats.timeouts, 0u);
    EXPECT_EQ(p.a().stats.retrans_segs, 2u);  // exactly the two lost segments
    EXPECT_GE(p.a().stats.sack_retransmits, 1u);
    bool saw_sack = false;
    for (const auto& s : p.b().sent) saw_sack |= s.seg.options.sack_count > 0;
    EXPECT_TRUE(saw_sack);
}

TEST(TcpCongestion, InitialWindowFollowsRfc6928) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    const auto i = p.a().conn.info();
    // RFC 6928: min(10*MSS, max(2*MSS, 14600)).
    EXPECT_EQ(i.cwnd, std::min(10u * i.smss, std::max(2u * i.smss, 14600u)));
    // The first flight is exactly that window.
    p.deliver_a_to_b = false;
    const auto mark = p.a().sent.size();
    p.a().queue_send(pattern(100000, 9));
    p.pump();
    std::size_t bytes = 0;
    for (const auto& s : p.a().sent_since(mark)) bytes += s.seg.payload.size();
    EXPECT_EQ(bytes, i.cwnd);
}

void bulk(bool sack, std::uint64_t seed) {
    tcp::config cfg;
    cfg.sack = sack;
    tcp_pair p{cfg, cfg, 2ms};
    fault_model f;
    f.drop = 0.05;
    f.reorder = 0.05;
    f.duplicate = 0.01;
    f.seed = seed;
    p.set_faults(f);
    p.connect(seq_number{0xfff00000u}, seq_number{0x7ffffff0u});
    const auto da = pattern(3 << 20, 11), db = pattern(3 << 20, 12);
    p.a().queue_send(da);
    p.b().queue_send(db);
    p.a().close_when_sent = true;
    p.b().close_when_sent = true;
    ASSERT_TRUE(p.run_until(
        [&] {
            return p.a().received.size() == db.size() && p.b().received.size() == da.size() && p.a().conn.eof() &&
                p.b().conn.eof();
        },
        3600s));
    EXPECT_TRUE(p.a().received == db);
    EXPECT_TRUE(p.b().received == da);
    // Neither receiver ever moved its advertised right edge left (RFC 9293 §3.8.6.2.2).
    for (auto* e : {&p.a(), &p.b()}) {
        std::optional<seq_number> edge;
        const std::uint8_t shift = e->conn.info().rcv_wscale;
        for (const auto& s : e->sent) {
            if (s.seg.flags.syn || !s.seg.flags.ack || s.seg.flags.rst) continue;
            const seq_number r = s.seg.ack + (std::uint32_t{s.seg.window} << shift);
            if (edge) { ASSERT_GE(r, *edge); }
            edge = edge ? tcp::seq_max(*edge, r) : r;
        }
    }
    ASSERT_TRUE(p.run_until(
        [&] {
            return (is(p.a(), state::time_wait) || is(p.a(), state::closed)) &&
                (is(p.b(), state::time_wait) || is(p.b(), state::closed));
        },
        600s));
    EXPECT_EQ(p.a().conn.last_error(), tcp::error::none);
    EXPECT_EQ(p.b().conn.last_error(), tcp::error::none);
    for (auto* e : {&p.a(), &p.b()}) {
        const auto& s = e->stats;
        std::printf(
            "[ stats    ] %s sack=%d: out_segs=%llu retrans_segs=%llu fast_retransmits=%llu "
            "sack_recoveries=%llu timeouts=%llu dup_acks_in=%llu ooo_segs=%llu dup_segs=%llu\n",
            e == &p.a() ? "a" : "b", sack, (unsigned long long)s.out_segs, (unsigned long long)s.retrans_segs,
            (unsigned long long)s.fast_retransmits, (unsigned long long)s.sack_recoveries,
            (unsigned long long)s.timeouts, (unsigned long long)s.dup_acks_in, (unsigned long long)s.out_of_order_segs,
            (unsigned long long)s.duplicate_segs);
        EXPECT_GT(s.retrans_segs, 0u);
        EXPECT_GT(s.fast_retransmits, 0u);
    }
    std::printf("[ link     ] dropped=%llu reordered=%llu duplicated=%llu delivered=%llu virtual=%.1fs\n",
                (unsigned long long)p.dropped, (unsigned long long)p.reordered, (unsigned long long)p.duplicated,
                (unsigned long long)p.delivered, static_cast<double>(to_us(p.now()) - 1'000'000) / 1e6);
}

TEST(TcpBulk, LossyLinkBothDirectionsWithSack) { bulk(true, 42); }
TEST(TcpBulk, LossyLinkBothDirectionsNewReno) { bulk(false, 43); }

}  // namespace
}  // namespace tapstack::testing
