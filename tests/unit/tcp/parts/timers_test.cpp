// The timer set on its own: deadlines as data, the user timeout clamp (RFC 9293 MUST-21).
#include <gtest/gtest.h>

#include "tcp/timers.hpp"

namespace tapstack::tcp {
namespace {

using namespace std::chrono_literals;
const instant t0 = instant{} + 1000s;

TEST(TimerSet, EarliestIsTheMinimumOfThePendingDeadlines) {
    timer_set t;
    EXPECT_EQ(t.earliest(), instant::max());
    t.keepalive = t0 + 7200s;
    t.rto = t0 + 200ms;
    t.dack = t0 + 40ms;
    EXPECT_EQ(t.earliest(), t0 + 40ms);
    t.dack.reset();
    EXPECT_EQ(t.earliest(), t0 + 200ms);
    t.time_wait = t0 + 1ms;
    EXPECT_EQ(t.earliest(), t0 + 1ms);
    t.stop_all();
    EXPECT_EQ(t.earliest(), instant::max());
}

TEST(TimerSet, DueAtAndAfterTheDeadline) {
    std::optional<instant> d = t0;
    EXPECT_FALSE(timer_set::due(d, t0 - 1us));
    EXPECT_TRUE(timer_set::due(d, t0));
    EXPECT_TRUE(timer_set::due(d, t0 + 1s));
    EXPECT_FALSE(timer_set::due(std::nullopt, t0));
}

TEST(TimerSet, UserTimeoutClampsTheRetransmissionDeadline) {
    timer_set t;
    t.rto_base = t0;
    EXPECT_EQ(t.clamp_to_user_timeout(t0 + 60s), t0 + 60s);  // none set: unchanged
    t.user_timeout = 5s;
    EXPECT_EQ(t.clamp_to_user_timeout(t0 + 60s), t0 + 5s);
    EXPECT_EQ(t.clamp_to_user_timeout(t0 + 1s), t0 + 1s);
    EXPECT_FALSE(t.user_timeout_expired(t0, t0 + 4999ms));
    EXPECT_TRUE(t.user_timeout_expired(t0, t0 + 5s));
}

TEST(TimerSet, RestartKeepaliveClearsTheProbeCount) {
    timer_set t;
    t.keepalive_sent = 3;
    t.restart_keepalive(t0, 7200s);
    EXPECT_EQ(t.keepalive_sent, 0u);
    EXPECT_EQ(t.keepalive, t0 + 7200s);
}

}  // namespace
}  // namespace tapstack::tcp
