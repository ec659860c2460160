// CLOSE and the closing states (RFC 9293 §3.6, §3.10.4, §3.10.7): FIN-WAIT-1/2, CLOSING, TIME-WAIT
// (2*MSL, a retransmitted FIN, reincarnation), CLOSE-WAIT and LAST-ACK, half-close, a lost FIN.
#include <gtest/gtest.h>

#include "harness.hpp"
#include "tcp_factory.hpp"

namespace tapstack::testing {
namespace {

using tcp::seq_number;
using tcp::state;
using namespace std::chrono_literals;

TEST(TcpClose, ActiveCloseGoesThroughFinWait2AndTimeWait) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.a().conn.close(p.now());
    EXPECT_TRUE(is(p.a(), state::fin_wait_1));
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::fin_wait_2); }));
    EXPECT_TRUE(is(p.b(), state::close_wait));
    EXPECT_TRUE(p.b().conn.eof());
    p.b().conn.close(p.now());
    EXPECT_TRUE(is(p.b(), state::last_ack));
    ASSERT_TRUE(p.run_until([&] { return is(p.b(), state::closed); }));
    EXPECT_EQ(p.b().conn.last_error(), tcp::error::none);
    EXPECT_TRUE(is(p.a(), state::time_wait));
    // TIME-WAIT lasts 2*MSL (60 s by default).
    const instant entered = p.now();
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closed); }, 200s));
    EXPECT_GE(p.now() - entered, 2 * tcp::config{}.msl - 20ms);
    EXPECT_LE(p.now() - entered, 2 * tcp::config{}.msl + 20ms);
    EXPECT_EQ(p.a().conn.last_error(), tcp::error::none);
}

TEST(TcpClose, SimultaneousCloseGoesThroughClosing) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.a().conn.close(p.now());
    p.b().conn.close(p.now());
    EXPECT_TRUE(is(p.a(), state::fin_wait_1));
    EXPECT_TRUE(is(p.b(), state::fin_wait_1));
    // Each FIN arrives in FIN-WAIT-1 before the ACK of our own: CLOSING, then TIME-WAIT.
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closing) || is(p.a(), state::time_wait); }));
    EXPECT_TRUE(is(p.a(), state::closing));
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::time_wait) && is(p.b(), state::time_wait); }));
}

TEST(TcpClose, HalfCloseStillReceives) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.a().conn.shutdown_send(p.now());
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::fin_wait_2); }));
    EXPECT_EQ(p.a().conn.send(as_bytes_of(std::string_view{"x"}), p.now()), 0u);
    p.b().queue_send("data after half close");
    ASSERT_TRUE(p.run_until([&] { return p.a().received_string() == "data after half close"; }));
    p.b().conn.shutdown_send(p.now());
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::time_wait) && is(p.b(), state::closed); }));
    EXPECT_TRUE(p.a().conn.eof());
}

TEST(TcpClose, PassiveCloseFromCloseWaitThroughLastAck) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.b().conn.shutdown_send(p.now());
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::close_wait); }));
    EXPECT_TRUE(p.a().conn.eof());
    p.a().queue_send("last words");
    p.pump();
    p.a().conn.close(p.now());
    EXPECT_TRUE(is(p.a(), state::last_ack));
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closed); }));
    EXPECT_EQ(p.b().received_string(), "last words");
    EXPECT_TRUE(is(p.b(), state::time_wait));
}

// The ACK of a FIN that moves us to CLOSE-WAIT waits for the end of the batch (a delayed ACK
// due at once): an application that closes on EOF sends one FIN+ACK, not an ACK and a FIN.
TEST(TcpClose, FinAckedTogetherWithOurFinWhenTheApplicationClosesAtOnce) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.b().conn.shutdown_send(p.now());
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::close_wait); }));
    const auto fin_end = p.a().conn.rcv_nxt();
    const auto mark = p.a().sent.size();
    ASSERT_EQ(p.a().conn.deadline(), p.now());  // the ACK is due now, not yet sent
    for (std::size_t i = 0; i < mark; ++i) EXPECT_NE(p.a().sent[i].seg.ack, fin_end);
    p.a().conn.close(p.now());
    const auto out = p.a().sent_since(mark);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].seg.flags.fin && out[0].seg.flags.ack);
    EXPECT_EQ(out[0].seg.ack, fin_end);
    EXPECT_EQ(out[0].at, p.now());
    p.advance(1ms);
    EXPECT_EQ(p.a().sent.size(), mark + 1);  // no separate ACK afterwards
}

TEST(TcpClose, FinIsAckedAtOnceWhenTheApplicationDoesNotClose) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.b().conn.shutdown_send(p.now());
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::close_wait); }));
    const instant fin_arrived = p.now();
    const auto mark = p.a().sent.size();
    p.advance(1ms);
    const auto out = p.a().sent_since(mark);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_FALSE(out[0].seg.flags.fin);
    EXPECT_EQ(out[0].seg.ack, p.a().conn.rcv_nxt());
    EXPECT_EQ(out[0].at, fin_arrived);  // at the same instant: only the order changed
}

TEST(TcpClose, CloseInSynSentJustCloses) {
    tcp_pair p;
    p.deliver_a_to_b = false;
    p.connect();
    p.a().conn.close(p.now());
    EXPECT_TRUE(is(p.a(), state::closed));
    EXPECT_FALSE(p.a().conn.deadline().has_value());
}

TEST(TcpClose, TimeWaitReAcksRetransmittedFinAndRestartsTimer) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.a().conn.close(p.now());
    ASSERT_TRUE(p.run_until([&] { return is(p.b(), state::close_wait); }));
    p.b().conn.close(p.now());
    // Cut b -> a after the FIN went out so we can replay it by hand.
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::time_wait); }));
    owned_segment fin;
    for (const auto& s : p.b().sent)
        if (s.seg.flags.fin) fin = s;
    ASSERT_TRUE(fin.seg.flags.fin);
    p.advance(30s);
    ASSERT_TRUE(is(p.a(), state::time_wait));
    const auto mark = p.a().sent.size();
    p.inject_to_a(fin.seg);
    auto out = p.a().sent_since(mark);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].seg.flags.ack);
    EXPECT_EQ(out[0].seg.ack, fin.seg.seq + 1);
    // The 2*MSL restarted: still TIME-WAIT 40 s later (70 s after entering), closed after 60 s.
    p.advance(40s);
    EXPECT_TRUE(is(p.a(), state::time_wait));
    p.advance(21s);
    EXPECT_TRUE(is(p.a(), state::closed));
}

TEST(TcpClose, AcceptsReincarnationOnlyInTimeWaitWithNewerSyn) {
    tcp::config no_ts;
    no_ts.timestamps = false;
    tcp_pair p{no_ts, no_ts};
    ASSERT_TRUE(establish(p));
    auto syn_new = make_segment(true, seq_number{900000}, std::nullopt, flags_of("S"), 1000);
    EXPECT_FALSE(p.a().conn.accepts_reincarnation(syn_new));
    p.a().conn.close(p.now());
    ASSERT_TRUE(p.run_until([&] { return is(p.b(), state::close_wait); }));
    p.b().conn.close(p.now());
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::time_wait); }));
    auto syn_old = make_segment(true, seq_number{5000}, std::nullopt, flags_of("S"), 1000);
    EXPECT_TRUE(p.a().conn.accepts_reincarnation(syn_new));
    EXPECT_FALSE(p.a().conn.accepts_reincarnation(syn_old));
}

TEST(TcpClose, LostFinIsRetransmitted) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    int fins_dropped = 0;
    p.drop_if = [&](int from, const wire::tcp_segment& s) {
        if (from == 0 && s.flags.fin && fins_dropped == 0) return ++fins_dropped, true;
        return false;
    };
    p.a().queue_send("tail");
    p.a().close_when_sent = true;
    ASSERT_TRUE(p.run_until([&] { return is(p.b(), state::close_wait); }));
    EXPECT_EQ(fins_dropped, 1);
    EXPECT_EQ(p.b().received_string(), "tail");
    EXPECT_GE(p.a().stats.timeouts, 1u);
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::fin_wait_2); }));
}

// Through the stack: TIME-WAIT and a new listener or a new SYN on the same port or tuple.

TEST(TcpClose, ReuseAddressLetsAListenerBindOverTimeWait) {
    auto cfg = harness::default_config();
    harness h{cfg};
    h.learn_peer();
    auto l = listen_on(h, 8080);
    const auto server_isn = handshake(h, 40000, 8080, seq_number{1000});
    auto c = h.stack.tcp_accept(l, h.now).value();
    h.clear();
    // We close first: FIN-WAIT-1 -> (ACK) FIN-WAIT-2 -> (FIN) TIME-WAIT.
    h.stack.tcp_close(c, h.now);
    auto fin = h.next();
    ASSERT_TRUE(fin.tcp);
    ASSERT_TRUE(fin.tcp->flags.fin);
    auto finack = peer_segment(40000, 8080, seq_number{1001});
    finack.flags.ack = finack.flags.fin = true;
    finack.ack = server_isn + 2;
    h.inject(h.tcp(finack));
    h.stack.tcp_close(l, h.now);
    bool in_time_wait = false;
    h.stack.for_each_tcp([&](const tcp_socket_info& i) { in_time_wait |= i.state == tcp::state::time_wait; });
    ASSERT_TRUE(in_time_wait);
    auto plain = h.stack.tcp_open().value();
    EXPECT_EQ(h.stack.tcp_bind(plain, {ip::address_v4::any(), 8080}), errc::address_in_use);
    auto reuse = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_set_reuse_address(reuse, true), errc::success);
    EXPECT_EQ(h.stack.tcp_bind(reuse, {ip::address_v4::any(), 8080}), errc::success);
    EXPECT_EQ(h.stack.tcp_listen(reuse, 8), errc::success);
    // TIME-WAIT ends after 2*MSL and the connection is freed.
    h.advance(2 * cfg.tcp.msl + 1s);
    std::size_t left = 0;
    h.stack.for_each_tcp([&](const tcp_socket_info& i) { left += i.state != tcp::state::listen; });
    EXPECT_EQ(left, 0u);
}

TEST(TcpClose, NewSynWithHigherSequenceReusesTimeWaitTuple) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 8080);
    const auto server_isn = handshake(h, 40000, 8080, seq_number{1000});
    auto c = h.stack.tcp_accept(l, h.now).value();
    h.clear();
    h.stack.tcp_close(c, h.now);
    h.next();
    auto finack = peer_segment(40000, 8080, seq_number{1001});
    finack.flags.ack = finack.flags.fin = true;
    finack.ack = server_isn + 2;
    h.inject(h.tcp(finack));
    h.clear();
    auto syn = peer_segment(40000, 8080, seq_number{100000});
    syn.flags.syn = true;
    h.inject(h.tcp(syn));
    auto synack = h.next();
    ASSERT_TRUE(synack.tcp);
    EXPECT_TRUE(synack.tcp->flags.syn && synack.tcp->flags.ack);
    EXPECT_EQ(synack.tcp->ack, seq_number{100001});
    EXPECT_EQ(h.stack.stats().tcp.time_wait_reuses, 1u);
}

}  // namespace
}  // namespace tapstack::testing
