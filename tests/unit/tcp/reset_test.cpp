// Resets (RFC 9293 §3.5.2, §3.5.3, §3.10.7): an RST refusing a connection and one that is not
// acceptable in SYN-SENT, a bad ACK answered with RST, and the RSTs that CLOSE and ABORT send.
#include <gtest/gtest.h>

#include "tcp_factory.hpp"

namespace tapstack::testing {
namespace {

using tcp::seq_number;
using tcp::state;
using namespace std::chrono_literals;

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

TEST(TcpClose, CloseWithUnreadDataSendsRst) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
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
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.a().conn.close(p.now());
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::fin_wait_2); }));
    p.b().queue_send("too late");
    ASSERT_TRUE(p.run_until([&] { return is(p.a(), state::closed); }));
    EXPECT_EQ(p.a().stats.data_after_close_rsts, 1u);
    ASSERT_TRUE(p.run_until([&] { return is(p.b(), state::closed); }));
    EXPECT_EQ(p.b().conn.last_error(), tcp::error::connection_reset);
}

TEST(TcpClose, AbortSendsRstAndReportsAborted) {
    tcp_pair p;
    ASSERT_TRUE(establish(p));
    p.a().conn.abort(p.now());
    EXPECT_TRUE(is(p.a(), state::closed));
    EXPECT_EQ(p.a().conn.last_error(), tcp::error::connection_aborted);
    EXPECT_TRUE(p.a().sent.back().seg.flags.rst);
    ASSERT_TRUE(p.run_until([&] { return is(p.b(), state::closed); }));
    EXPECT_EQ(p.b().conn.last_error(), tcp::error::connection_reset);
    EXPECT_TRUE(p.b().saw_event(tcp::connection_observer::readable));
    EXPECT_EQ(p.b().stats.estab_resets, 1u);
}

}  // namespace
}  // namespace tapstack::testing
