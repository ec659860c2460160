// The factory (tests/support/tcp_factory.hpp) reaches every RFC 9293 state it promises, with the
// partner state it documents, and the options it was given are the ones negotiated.
#include <gtest/gtest.h>

#include <algorithm>

#include "tcp_factory.hpp"

namespace tapstack::testing {
namespace {

using tcp::state;

struct expectation {
    side who;
    state us;
    std::vector<state> them;  // any of these
};

TEST(TcpFactory, DrivesEitherSideToEveryState) {
    const std::vector<expectation> cases{
        {side::a, state::syn_sent, {state::closed}},
        {side::b, state::syn_received, {state::syn_sent}},
        {side::a, state::syn_received, {state::syn_received, state::syn_sent}},
        {side::a, state::established, {state::established}},
        {side::b, state::established, {state::established}},
        {side::a, state::fin_wait_1, {state::established}},
        {side::b, state::fin_wait_1, {state::established}},
        {side::a, state::fin_wait_2, {state::close_wait}},
        {side::b, state::fin_wait_2, {state::close_wait}},
        {side::a, state::closing, {state::closing, state::time_wait}},
        {side::b, state::closing, {state::closing, state::time_wait}},
        {side::a, state::time_wait, {state::last_ack, state::closed}},
        {side::b, state::time_wait, {state::last_ack, state::closed}},
        {side::a, state::close_wait, {state::fin_wait_2}},
        {side::b, state::close_wait, {state::fin_wait_2}},
        {side::a, state::last_ack, {state::fin_wait_2}},
        {side::b, state::last_ack, {state::fin_wait_2}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(std::string{c.who == side::a ? "a " : "b "} + std::string{tcp::to_string(c.us)});
        tcp_pair p;
        ASSERT_TRUE(drive_to(p, c.who, c.us));
        EXPECT_EQ(endpoint(p, c.who).conn.current_state(), c.us);
        const state them = other(p, c.who).conn.current_state();
        EXPECT_NE(std::find(c.them.begin(), c.them.end(), them), c.them.end()) << tcp::to_string(them);
    }
}

TEST(TcpFactory, RefusesWhatNoPairCanReach) {
    tcp_pair p1, p2, p3;
    EXPECT_FALSE(drive_to(p1, side::b, state::syn_sent));  // b is the listener
    EXPECT_FALSE(drive_to(p2, side::a, state::listen));
    EXPECT_FALSE(drive_to(p3, side::a, state::closed));
}

TEST(TcpFactory, TheChosenOptionsAreTheNegotiatedOnes) {
    const tcp_options plain{.mss = 1000, .window_scaling = false, .timestamps = false, .sack = false};
    const tcp_options small{.mss = 1200, .send_buffer = 16 * 1024, .receive_buffer = 8 * 1024};
    tcp_pair p{plain.config(), small.config()};
    ASSERT_TRUE(drive_to(p, side::a, state::established));
    const auto a = p.a().conn.info(), b = p.b().conn.info();
    EXPECT_EQ(a.peer_mss, 1200);
    EXPECT_EQ(b.peer_mss, 1000);
    // No timestamps, so the whole MSS is payload; each side sends at most the smaller of the two.
    EXPECT_EQ(a.smss, 1000);
    EXPECT_EQ(b.smss, 1000);
    for (const auto& i : {a, b}) {
        EXPECT_FALSE(i.window_scaling);  // a did not offer it, so neither side uses it
        EXPECT_FALSE(i.timestamps);
        EXPECT_FALSE(i.sack);
    }
    EXPECT_EQ(p.b().conn.send_space(), 16u * 1024);
    EXPECT_LE(b.rcv_wnd, 8u * 1024);

    tcp_pair q{tcp_options{}.config(), tcp_options{.mss = 1400}.config()};
    ASSERT_TRUE(drive_to(q, side::b, state::fin_wait_2));
    const auto qa = q.a().conn.info();
    EXPECT_TRUE(qa.window_scaling);
    EXPECT_TRUE(qa.timestamps);
    EXPECT_TRUE(qa.sack);
    EXPECT_EQ(qa.peer_mss, 1400);
    EXPECT_EQ(qa.smss, 1400 - 12);
}

}  // namespace
}  // namespace tapstack::testing
