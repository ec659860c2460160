// Loss recovery state on its own: duplicate ACKs, RFC 6582's recover point, RFC 3042.
#include <gtest/gtest.h>

#include "tcp/loss_recovery.hpp"

namespace tapstack::tcp {
namespace {

const seq_number iss{5000};

TEST(LossRecovery, ThreeDuplicatesAllowEntryOnlyWithDataOutstanding) {
    loss_recovery r;
    r.reset(iss);
    const seq_number una = iss + 1, max = iss + 10001;
    for (int i = 0; i < 2; ++i) r.on_dup_ack();
    EXPECT_FALSE(r.dup_threshold_reached());
    r.on_dup_ack();
    EXPECT_TRUE(r.dup_threshold_reached());
    EXPECT_TRUE(r.may_enter(una, max));
    EXPECT_FALSE(r.may_enter(una, una));  // nothing outstanding
    r.enter(max);
    EXPECT_TRUE(r.in_recovery());
    EXPECT_EQ(r.recover(), max);
    EXPECT_FALSE(r.may_enter(una, max));  // already in recovery
}

TEST(LossRecovery, FullAckIsAtOrAboveRecover) {
    loss_recovery r;
    r.reset(iss);
    r.enter(iss + 8000);
    EXPECT_FALSE(r.is_full_ack(iss + 7999));  // partial (RFC 6582 §3.2 step 5)
    EXPECT_TRUE(r.is_full_ack(iss + 8000));
    r.exit();
    EXPECT_FALSE(r.in_recovery());
}

TEST(LossRecovery, NoSecondRecoveryForTheSameWindow) {
    loss_recovery r;
    r.reset(iss);
    const seq_number max = iss + 10000;
    r.enter(max);
    r.exit();
    // RFC 6582 §3.2 step 2: SND.UNA below the old recover point does not enter again.
    EXPECT_FALSE(r.may_enter(iss + 9000, max + 5000));
    EXPECT_TRUE(r.may_enter(max, max + 5000));
}

TEST(LossRecovery, ProgressResetsDupAcksAndLiftsHighRxt) {
    loss_recovery r;
    r.reset(iss);
    r.on_dup_ack();
    r.on_dup_ack();
    r.retransmitted_to(iss + 100);
    r.on_progress(iss + 500);
    EXPECT_EQ(r.dupacks(), 0u);
    EXPECT_EQ(r.high_rxt(), iss + 500);  // never below SND.UNA
    r.retransmitted_to(iss + 2000);
    r.on_progress(iss + 1000);
    EXPECT_EQ(r.high_rxt(), iss + 2000);  // already above: kept
}

TEST(LossRecovery, LimitedTransmitLetsOneSegmentPerEarlyDuplicate) {
    loss_recovery r;
    r.reset(iss);
    EXPECT_EQ(r.limited_transmit_allowance(1000), 0u);
    r.on_dup_ack();
    EXPECT_EQ(r.limited_transmit_allowance(1000), 1000u);
    r.on_dup_ack();
    EXPECT_EQ(r.limited_transmit_allowance(1000), 2000u);
    r.on_dup_ack();  // the third starts fast retransmit instead (RFC 3042 §2)
    EXPECT_EQ(r.limited_transmit_allowance(1000), 0u);
    r.reset(iss);
    r.on_dup_ack();
    r.enter(iss + 100);
    EXPECT_EQ(r.limited_transmit_allowance(1000), 0u);  // not during recovery
}

TEST(LossRecovery, RestartAfterTimeoutLeavesRecoveryAndGuardsTheWindow) {
    loss_recovery r;
    r.reset(iss);
    r.on_dup_ack();
    r.enter(iss + 3000);
    r.retransmitted_to(iss + 2000);
    r.restart(iss + 1000, iss + 6000);
    EXPECT_FALSE(r.in_recovery());
    EXPECT_EQ(r.dupacks(), 0u);
    EXPECT_EQ(r.recover(), iss + 6000);
    EXPECT_EQ(r.high_rxt(), iss + 1000);
    EXPECT_FALSE(r.may_enter(iss + 5000, iss + 9000));
}

}  // namespace
}  // namespace tapstack::tcp
