// State transitions of RFC 9293 §3.5/§3.6 and §3.10, on the tcp_pair harness.
#include <gtest/gtest.h>

#include "tcp_pair.hpp"

namespace tapstack::testing {
namespace {

using tcp::seq_number;
using tcp::state;
using namespace std::chrono_literals;

bool is(tcp_endpoint& e, state s) { return e.conn.current_state() == s; }

TEST(TcpOpen, ActiveAndPassiveOpenReachEstablished) {
    tcp_pair p;
    p.connect(seq_number{1000}, seq_number{5000});
    EXPECT_TRUE(is(p.a(), state::syn_sent));
    ASSERT_EQ(p.a().sent.size(), 1u);
    const auto& syn = p.a().sent[0].seg;
    EXPECT_TRUE(syn.flags.syn);
    EXPECT_FALSE(syn.flags.ack);
    EXPECT_EQ(syn.seq, seq_number{1000});
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::established) && is(p.b(), state::established); }));
    const auto& synack = p.b().sent[0].seg;
    EXPECT_TRUE(synack.flags.syn && synack.flags.ack);
    EXPECT_EQ(synack.seq, seq_number{5000});
    EXPECT_EQ(synack.ack, seq_number{1001});
    EXPECT_EQ(p.a().conn.rcv_nxt(), seq_number{5001});
    EXPECT_EQ(p.b().conn.rcv_nxt(), seq_number{1001});
    EXPECT_TRUE(p.a().saw_event(tcp::connection_observer::established));
    EXPECT_TRUE(p.b().saw_event(tcp::connection_observer::established));
    EXPECT_EQ(p.a().stats.active_opens, 1u);
    EXPECT_EQ(p.b().stats.passive_opens, 1u);
}

TEST(TcpOpen, SimultaneousOpen) {
    tcp_pair p;
    p.open_simultaneous(seq_number{1000}, seq_number{5000});
    // Each SYN reaches a side in SYN-SENT: both go SYN-RECEIVED and answer SYN,ACK.
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::syn_received) && is(p.b(), state::syn_received); }));
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::established) && is(p.b(), state::established); }));
    p.a().queue_send("ping");
    p.b().queue_send("pong");
    ASSERT_TRUE(p.run_until([&] { return p.a().received.size() == 4 && p.b().received.size() == 4; }));
    EXPECT_EQ(p.b().received_string(), "ping");
    EXPECT_EQ(p.a().received_string(), "pong");
}

TEST(TcpOpen, ConnectRefusedByRst) {
    tcp_pair p;
    p.deliver_a_to_b = false;
    p.connect(seq_number{1000});
    p.inject_to_a(make_segment(false, seq_number{0}, seq_number{1001}, flags_of("R"), 0));
    EXPECT_TRUE(is(p.a(), state::closed));
    EXPECT_EQ(p.a().conn.last_error(), tcp::error::connection_refused);
    EXPECT_TRUE(p.a().saw_event(tcp::connection_observer::closed));
}

TEST(TcpOpen, RstWithWrongAckInSynSentIsIgnored) {
    tcp_pair p;
    p.deliver_a_to_b = false;
    p.connect(seq_number{1000});
    p.inject_to_a(make_segment(false, seq_number{0}, seq_number{1005}, flags_of("R"), 0));
    EXPECT_TRUE(is(p.a(), state::syn_sent));
}

TEST(TcpOpen, BadAckInSynSentIsAnsweredWithRst) {
    tcp_pair p;
    p.deliver_a_to_b = false;
    p.connect(seq_number{1000});
    const auto mark = p.a().sent.size();
    p.inject_to_a(make_segment(false, seq_number{77}, seq_number{999}, flags_of("SA"), 1000));
    auto out = p.a().sent_since(mark);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].seg.flags.rst);
    EXPECT_EQ(out[0].seg.seq, seq_number{999});  // <SEQ=SEG.ACK><CTL=RST>
    EXPECT_TRUE(is(p.a(), state::syn_sent));
}

TEST(TcpOpen, SynReceivedRetransmittedSynGetsSynAckAgain) {
    tcp_pair p;
    p.deliver_b_to_a = false;
    p.connect(seq_number{1000}, seq_number{5000});
    p.advance(10ms);
    ASSERT_TRUE(is(p.b(), state::syn_received));
    const auto mark = p.b().sent.size();
    p.inject_to_b(p.a().sent[0].seg);
    auto out = p.b().sent_since(mark);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].seg.flags.syn && out[0].seg.flags.ack);
}

struct established_pair {
    tcp_pair p;
    explicit established_pair(const tcp::config& a = {}, const tcp::config& b = {}) : p{a, b} {
        p.connect();
        EXPECT_TRUE(p.run_until([&] { return is(p.a(), state::established) && is(p.b(), state::established); }));
    }
};

TEST(TcpClose, ActiveCloseGoesThroughFinWait2AndTimeWait) {
    established_pair ep;
    auto& p = ep.p;
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
    established_pair ep;
    auto& p = ep.p;
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
    established_pair ep;
    auto& p = ep.p;
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
    established_pair ep;
    auto& p = ep.p;
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
    established_pair ep;
    auto& p = ep.p;
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
    established_pair ep;
    auto& p = ep.p;
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

TEST(TcpClose, CloseWithUnreadDataSendsRst) {
    established_pair ep;
    auto& p = ep.p;
    p.a().auto_read = false;
    p.b().queue_send("unread");
    ASSERT_TRUE(p.run_until([&] { return p.a().conn.bytes_readable() == 6; }));
    const auto mark = p.a().sent.size();
    p.a().conn.close(p.now());
    EXPECT_TRUE(is(p.a(), state::closed));
    auto out = p.a().sent_since(mark);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].seg.flags.rst);
    ASSERT_TRUE(p.run_until([&] { return is(p.b(), state::closed); }));
    EXPECT_EQ(p.b().conn.last_error(), tcp::error::connection_reset);
}

TEST(TcpClose, DataAfterCloseIsAnsweredWithRst) {
    established_pair ep;
    auto& p = ep.p;
    p.a().conn.close(p.now());
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::fin_wait_2); }));
    p.b().queue_send("too late");
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closed); }));
    EXPECT_EQ(p.a().stats.data_after_close_rsts, 1u);
    ASSERT_TRUE(p.run_until([&] { return is(p.b(), state::closed); }));
    EXPECT_EQ(p.b().conn.last_error(), tcp::error::connection_reset);
}

TEST(TcpClose, AbortSendsRstAndReportsAborted) {
    established_pair ep;
    auto& p = ep.p;
    p.a().conn.abort(p.now());
    EXPECT_TRUE(is(p.a(), state::closed));
    EXPECT_EQ(p.a().conn.last_error(), tcp::error::connection_aborted);
    EXPECT_TRUE(p.a().sent.back().seg.flags.rst);
    ASSERT_TRUE(p.run_until([&] { return is(p.b(), state::closed); }));
    EXPECT_EQ(p.b().conn.last_error(), tcp::error::connection_reset);
    EXPECT_TRUE(p.b().saw_event(tcp::connection_observer::readable));
    EXPECT_EQ(p.b().stats.estab_resets, 1u);
}

TEST(TcpClose, TimeWaitReAcksRetransmittedFinAndRestartsTimer) {
    established_pair ep;
    auto& p = ep.p;
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
    established_pair ep{no_ts, no_ts};
    auto& p = ep.p;
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
    established_pair ep;
    auto& p = ep.p;
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

TEST(TcpOpen, LostHandshakeAckIsRecovered) {
    tcp_pair p;
    bool dropped = false;
    // Drop a's first pure ACK (the third segment of the handshake).
    p.drop_if = [&](int from, const wire::tcp_segment& s) {
        if (from == 0 && !dropped && s.flags.ack && !s.flags.syn && s.payload.empty()) return dropped = true;
        return false;
    };
    p.connect();
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::established); }));
    EXPECT_TRUE(is(p.b(), state::syn_received));
    // b's SYN,ACK retransmission is answered with an ACK that completes b's side.
    ASSERT_TRUE(p.run_until([&] { return is(p.b(), state::established); }));
    EXPECT_TRUE(dropped);
    EXPECT_GE(p.b().stats.syn_retransmits, 1u);
}

TEST(TcpOpen, DataQueuedBeforeEstablishedIsSent) {
    tcp_pair p;
    p.connect();
    EXPECT_EQ(p.a().conn.send(as_bytes_of(std::string_view{"early"}), p.now()), 5u);
    ASSERT_TRUE(p.run_until([&] { return p.b().received_string() == "early"; }));
}

TEST(TcpState, NamesAsRfcSpellsThem) {
    EXPECT_EQ(tcp::to_string(state::syn_sent), "SYN-SENT");
    EXPECT_EQ(tcp::to_string(state::fin_wait_2), "FIN-WAIT-2");
    EXPECT_EQ(tcp::to_string(state::time_wait), "TIME-WAIT");
    EXPECT_EQ(tcp::to_string(tcp::error::timed_out), "timed out");
}

}  // namespace
}  // namespace tapstack::testing
