// The SACK scoreboard on its own (RFC 6675 §3-§4): no connection, sequence numbers as arguments.
#include <gtest/gtest.h>

#include "tcp/sack_scoreboard.hpp"

namespace tapstack::tcp {
namespace {

constexpr std::uint32_t smss = 1000;
const seq_number una{10000};

wire::tcp_options sack(std::initializer_list<std::pair<std::uint32_t, std::uint32_t>> blocks) {
    wire::tcp_options o;
    for (auto [l, r] : blocks) o.sack[o.sack_count++] = wire::sack_block{una + l, una + r};
    return o;
}

TEST(SackScoreboard, BlocksAreClippedToWhatIsOutstanding) {
    sack_scoreboard sb;
    // One block reaches below SND.UNA and one past SND.MAX: only (una, max] counts.
    EXPECT_TRUE(sb.update(sack({{1000, 2000}}), una, una + 10000));
    wire::tcp_options o;
    o.sack[o.sack_count++] = wire::sack_block{una - 500, una + 500};
    o.sack[o.sack_count++] = wire::sack_block{una + 9500, una + 20000};
    EXPECT_TRUE(sb.update(o, una, una + 10000));
    EXPECT_EQ(sb.total(), 1000u + 500u + 500u);
    EXPECT_FALSE(sb.contains(una - 1));
    EXPECT_FALSE(sb.contains(una + 10000));
    EXPECT_TRUE(sb.contains(una + 9999));
}

TEST(SackScoreboard, OnlyNewsCountsAsNewlySacked) {
    sack_scoreboard sb;
    EXPECT_TRUE(sb.update(sack({{1000, 3000}}), una, una + 10000));
    EXPECT_FALSE(sb.update(sack({{1000, 3000}}), una, una + 10000));  // the same block again
    EXPECT_FALSE(sb.update(sack({{1500, 2500}}), una, una + 10000));  // inside it
    EXPECT_TRUE(sb.update(sack({{2500, 3500}}), una, una + 10000));  // grows it
    EXPECT_EQ(sb.total(), 2500u);
    EXPECT_FALSE(sb.update(sack({{0, 0}}), una, una + 10000));  // empty
}

TEST(SackScoreboard, IsLostNeedsMoreThanTwoSegmentsSackedAbove) {
    sack_scoreboard sb;
    sb.update(sack({{1000, 3000}}), una, una + 10000);
    // RFC 6675 §4: (DupThresh - 1) * SMSS = 2000 bytes above is not yet enough.
    EXPECT_FALSE(sb.is_lost(una, smss));
    sb.update(sack({{4000, 4001}}), una, una + 10000);
    EXPECT_TRUE(sb.is_lost(una, smss));
    EXPECT_FALSE(sb.is_lost(una + 3500, smss));  // only 1 byte SACKed above it
}

TEST(SackScoreboard, PipeCountsHolesNotDeemedLostAndRetransmittedLostBytes) {
    sack_scoreboard sb;
    const seq_number max = una + 8000;
    // Holes [0,1000) and [4000,5000); SACKed [1000,4000) and [5000,6000); [6000,8000) unsacked.
    sb.update(sack({{1000, 4000}, {5000, 6000}}), una, max);
    // [0,1000) is lost (4000 SACKed above); nothing retransmitted yet: it is not in the pipe.
    // [4000,5000) has 1000 above: not lost, counted. [6000,8000): counted.
    EXPECT_EQ(sb.pipe(una, max, una, smss), 1000u + 2000u);
    // Once [0,600) went again (HighRxt = una+600), those bytes are in the pipe.
    EXPECT_EQ(sb.pipe(una, max, una + 600, smss), 600u + 1000u + 2000u);
    // Nothing SACKed: everything outstanding is in flight.
    sack_scoreboard empty;
    EXPECT_EQ(empty.pipe(una, max, una, smss), 8000u);
}

TEST(SackScoreboard, NextLostIsTheFirstLostHoleNotYetRetransmitted) {
    sack_scoreboard sb;
    const seq_number max = una + 10000;
    sb.update(sack({{2500, 6000}}), una, max);
    seq_number s;
    std::uint32_t len = 0;
    ASSERT_TRUE(sb.next_lost(una, una, smss, s, len));
    EXPECT_EQ(s, una);
    EXPECT_EQ(len, smss);  // at most one SMSS
    ASSERT_TRUE(sb.next_lost(una, una + 2000, smss, s, len));
    EXPECT_EQ(s, una + 2000);
    EXPECT_EQ(len, 500u);  // up to the SACKed block
    EXPECT_FALSE(sb.next_lost(una, una + 2500, smss, s, len));  // the hole went already
}

TEST(SackScoreboard, RemoveBelowAndSkipSacked) {
    sack_scoreboard sb;
    const seq_number max = una + 10000;
    sb.update(sack({{1000, 2000}, {2000, 3000}, {5000, 6000}}), una, max);
    EXPECT_EQ(sb.skip_sacked(una + 1000, max), una + 3000);  // adjacent blocks merged
    EXPECT_EQ(sb.skip_sacked(una + 500, max), una + 500);  // not SACKed: stays
    sb.remove_below(una + 2500);
    EXPECT_EQ(sb.total(), 500u + 1000u);
    EXPECT_FALSE(sb.contains(una + 2000));
    sb.clear();
    EXPECT_TRUE(sb.empty());
}

}  // namespace
}  // namespace tapstack::tcp
