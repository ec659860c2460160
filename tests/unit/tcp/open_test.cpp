// OPEN calls and SYN-SENT (RFC 9293 §3.5, §3.10.1, §3.10.7.3): active, passive and simultaneous
// opens, a lost handshake ACK, data queued before ESTABLISHED, and the states' names.
#include <gtest/gtest.h>

#include "tcp_factory.hpp"

namespace tapstack::testing {
namespace {

using tcp::seq_number;
using tcp::state;
using namespace std::chrono_literals;

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
