// Every fixture recorded from the Linux kernel (pcaps/record.sh) replayed against tapstack with
// the echo app. Where tapstack legitimately differs from Linux the test names the tolerated
// fields; everything else (flags, sequence progression, ACKs, SACK blocks, TSecr, payload
// bytes, TTL, eth_dst) is compared.
#include <gtest/gtest.h>
#include "replay_helper.hpp"

namespace {
using namespace tapstack;
using tapstack::testing::recorded_host_options;
using tapstack::testing::replay_equivalent;
using tapstack::testing::replay_fixture;

/// Tolerances every Linux TCP fixture shares, and why:
/// - window, wscale: Linux advertises 65160 with wscale 10 (tcp_rmem autotuning); tapstack
///   65535 with the scale its 256 KiB buffer needs.
/// - tsval: socat forks per connection and answers ~10 ms after the data arrived (Linux's
///   TSval moved on meanwhile); the replayed app answers at once.
/// - tcp_pure_ack (unmatched only): Linux ACKs at once in quick-ack mode while socat is
///   still busy; tapstack piggybacks the ACK on the echo, and ACKs a FIN before the app
///   closes. A pure ACK that is missing or extra does not change the byte stream.
tap::replay_options linux_tcp() {
    auto o = recorded_host_options();
    o.tolerance.ignored_fields = {"window", "wscale", "tsval"};
    o.tolerance.unmatched_ok = {"tcp_pure_ack"};
    return o;
}

TEST(ReplayLinux, TcpEchoHandshakeDataPassiveClose) {
    const auto r = replay_fixture("tcp_echo_linux.pcap", linux_tcp());
    EXPECT_TRUE(replay_equivalent(r));
    ASSERT_EQ(r.flows.size(), 1u);
    EXPECT_EQ(r.flows[0].kind, "tcp");
    EXPECT_EQ(r.flows[0].matched, 4u);  // SYN-ACK, two echoes, FIN
}

TEST(ReplayLinux, TcpActiveCloseAfterIdleTimeout) {
    auto o = linux_tcp();
    o.idle_close = std::chrono::milliseconds{500};  // the recording ran socat -T 0.5
    const auto r = replay_fixture("tcp_active_close_linux.pcap", o);
    EXPECT_TRUE(replay_equivalent(r));
    ASSERT_EQ(r.flows.size(), 1u);
    EXPECT_EQ(r.flows[0].matched, 4u);  // SYN-ACK, echo, FIN, ACK of the peer's FIN
}

TEST(ReplayLinux, TcpRstToClosedPortMatchesExactly) {
    // No tolerance at all: RST,ACK with SEQ=0, ACK=SEG.SEQ+1 (RFC 9293 §3.10.7.1), window 0.
    const auto r = replay_fixture("tcp_rst_closed_linux.pcap", recorded_host_options());
    EXPECT_TRUE(replay_equivalent(r));
    ASSERT_EQ(r.flows.size(), 2u);
    for (const auto& f : r.flows) EXPECT_EQ(f.matched, 1u) << f.name;
}

TEST(ReplayLinux, TcpOutOfOrderDataIsSackedThenEchoedInOrder) {
    const auto r = replay_fixture("tcp_ooo_linux.pcap", linux_tcp());
    EXPECT_TRUE(replay_equivalent(r));
    ASSERT_EQ(r.flows.size(), 1u);
    // SYN-ACK, the duplicate ACK with SACK 7:13, the ACK of 13, the echo, FIN: the SACK
    // block and the in-order echo match Linux's.
    EXPECT_EQ(r.flows[0].matched, 5u);
}

TEST(ReplayLinux, TcpZeroWindowProbedThenEchoed) {
    const auto r = replay_fixture("tcp_zero_window_linux.pcap", linux_tcp());
    EXPECT_TRUE(replay_equivalent(r));
    ASSERT_EQ(r.flows.size(), 1u);
    EXPECT_EQ(r.flows[0].matched, 5u);  // SYN-ACK, ACK of the data, window probe, echo, FIN
}

TEST(ReplayLinux, ArpPingUdpEchoAndPortUnreachable) {
    auto o = recorded_host_options();
    // Linux sends ICMP (echo replies and errors) without DF; tapstack sets DF on everything.
    // Linux sends ICMP errors with precedence "internetwork control" (TOS 0xc0, RFC 1812
    // 4.3.2.5); tapstack sends them with TOS 0.
    o.tolerance.ignored_fields = {"df", "dscp"};
    const auto r = replay_fixture("arp_icmp_udp_linux.pcap", o);
    EXPECT_TRUE(replay_equivalent(r));
    ASSERT_EQ(r.flows.size(), 3u);
    EXPECT_EQ(r.flows[0].kind, "arp");
    EXPECT_EQ(r.flows[0].matched, 1u);
    EXPECT_EQ(r.flows[1].kind, "icmp");
    EXPECT_EQ(r.flows[1].matched, 4u);  // three echo replies and a port unreachable
    EXPECT_EQ(r.flows[2].kind, "udp");
    EXPECT_EQ(r.flows[2].matched, 1u);
}

// --- the comparison is not loose: each tolerance above is needed, and real changes show ----

TEST(ReplayLinux, WithoutTolerancesTheWindowDifferenceIsNamed) {
    const auto r = replay_fixture("tcp_echo_linux.pcap", recorded_host_options());
    ASSERT_FALSE(r.equivalent());
    ASSERT_EQ(r.flows.size(), 1u);
    ASSERT_FALSE(r.flows[0].details.empty());
    EXPECT_EQ(r.flows[0].details[0].field, "window");  // the SYN-ACK: 65160 vs 65535
}

TEST(ReplayLinux, IcmpWithoutDfToleranceDiffersInDf) {
    const auto r = replay_fixture("arp_icmp_udp_linux.pcap", recorded_host_options());
    ASSERT_FALSE(r.equivalent());
    EXPECT_EQ(r.flows[1].differing, 4u);
    EXPECT_EQ(r.flows[1].details[0].field, "df");
}

TEST(ReplayLinux, DiscardInsteadOfEchoMissesTheEchoedBytes) {
    auto o = linux_tcp();
    o.app = tap::replay_app::discard;
    const auto r = replay_fixture("tcp_echo_linux.pcap", o);
    ASSERT_FALSE(r.equivalent());
    // Where Linux echoed the first line, the stack only acknowledges it.
    ASSERT_FALSE(r.flows[0].details.empty());
    const auto& d = r.flows[0].details[0];
    EXPECT_EQ(d.what, tap::replay_difference::kind::differing);
    EXPECT_EQ(d.field, "flags");
    EXPECT_EQ(d.recorded.rfind("[P.]", 0), 0u) << d.recorded;
    EXPECT_EQ(d.replayed.rfind("[.]", 0), 0u) << d.replayed;
}

TEST(ReplayLinux, WithoutTranslationTheStackRejectsTheRecordedAcks) {
    auto o = linux_tcp();
    o.translate = false;  // the peer acknowledges Linux's ISN, which tapstack never chose
    const auto r = replay_fixture("tcp_echo_linux.pcap", o);
    EXPECT_FALSE(r.equivalent());
}

}  // namespace
