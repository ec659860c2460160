// The IPv6 fixtures recorded from the Linux kernel (pcaps/record.sh setup6) replayed against
// tapstack as the host fd77::1/64 (MAC 02:00:00:77:00:01, link-local fe80::ff:fe77:1 from it).
// NDP, ICMPv6 and the IPv6 header fields (hop limit, traffic class, the host's source address)
// are compared like everything else; tolerances are per fixture and explained.
#include <gtest/gtest.h>
#include <tapstack/tap/pcap_reader.hpp>
#include <tapstack/tap/pcap_writer.hpp>
#include "fixtures_dir.hpp"
#include "replay_helper.hpp"

namespace {
using namespace tapstack;
using tapstack::testing::recorded_host_options_v6;
using tapstack::testing::replay_equivalent;
using tapstack::testing::replay_fixture;

const tap::replay_flow_report* flow_of_kind(const tap::replay_report& r, std::string_view kind) {
    for (const auto& f : r.flows)
        if (f.kind == kind) return &f;
    return nullptr;
}

/// tcp_echo_v6_linux.pcap differs from Linux only where tcp_echo_linux.pcap does (the same
/// reasons, see linux_fixtures_test.cpp):
/// - window, wscale: Linux advertises 64260 (tcp_rmem autotuning, a multiple of its MSS 1440)
///   with wscale 10; tapstack 65535 with the scale its own buffer needs.
/// - tsval: socat forks per connection and answers later than the replayed app does.
/// - tcp_pure_ack (unmatched only): Linux ACKs the data at once while socat is busy, tapstack
///   piggybacks the ACK on the echo; tapstack ACKs the peer's FIN before its app closes.
/// NDP, options order, MSS (1440 = 1500 - 40 - 20), TSecr, ACKs and payload are compared.
tap::replay_options linux_tcp_v6() {
    auto o = recorded_host_options_v6();
    o.tolerance.ignored_fields = {"window", "wscale", "tsval"};
    o.tolerance.unmatched_ok = {"tcp_pure_ack"};
    return o;
}

TEST(ReplayLinuxV6, NdpPingAndPortUnreachableMatchExactly) {
    // No tolerance: the solicited NA (S and O set, R clear, unicast to fd77::2, target
    // fd77::1, the TLLA option; RFC 4861 §7.2.4), three echo replies (RFC 4443 §4.2) and the
    // destination unreachable, code 4 (port), for the datagram to closed port 9 (§3.1), all
    // with hop limit 255 (NDP) or 64, traffic class 0, source fd77::1.
    const auto r = replay_fixture("ndp_ping_v6_linux.pcap", recorded_host_options_v6());
    EXPECT_TRUE(replay_equivalent(r));
    EXPECT_EQ(r.frames, 10u);
    EXPECT_EQ(r.frames_to_host, 5u);  // NS, three echo requests, the UDP datagram
    EXPECT_EQ(r.frames_by_host, 5u);
    EXPECT_EQ(r.frames_ignored, 0u);
    ASSERT_EQ(r.flows.size(), 2u);
    const auto* ndp = flow_of_kind(r, "ndp");
    ASSERT_NE(ndp, nullptr);
    EXPECT_EQ(ndp->name, "ndp [fd77::1] <-> [fd77::2]");
    EXPECT_EQ(ndp->matched, 1u);
    const auto* icmp = flow_of_kind(r, "icmp");
    ASSERT_NE(icmp, nullptr);
    EXPECT_EQ(icmp->matched, 4u);
    EXPECT_NE(r.stack_stats.find("Icmp6:\n"), std::string::npos);
    EXPECT_NE(r.stack_stats.find("neighbor solicitations received"), std::string::npos) << r.stack_stats;
}

TEST(ReplayLinuxV6, TcpEchoHandshakeDataPassiveClose) {
    const auto r = replay_fixture("tcp_echo_v6_linux.pcap", linux_tcp_v6());
    EXPECT_TRUE(replay_equivalent(r));
    ASSERT_EQ(r.flows.size(), 2u);
    const auto* ndp = flow_of_kind(r, "ndp");
    ASSERT_NE(ndp, nullptr);
    EXPECT_EQ(ndp->matched, 1u);  // the NA answering the client's NS
    const auto* tcp = flow_of_kind(r, "tcp");
    ASSERT_NE(tcp, nullptr);
    EXPECT_EQ(tcp->name, "tcp [fd77::1]:7 <-> [fd77::2]:55514");
    EXPECT_EQ(tcp->matched, 4u);  // SYN-ACK, two echoes, FIN
    // Linux's ACK of the first line (tapstack's ACK of the FIN rides on its own FIN, as Linux's did).
    EXPECT_EQ(tcp->tolerated_unmatched, 1u);
}

TEST(ReplayLinuxV6, WithoutTheToleranceTheWindowDifferenceIsReported) {
    // The tolerance hides exactly the window: without it the SYN-ACK differs there first.
    auto o = linux_tcp_v6();
    o.tolerance.ignored_fields.erase("window");
    const auto r = replay_fixture("tcp_echo_v6_linux.pcap", o);
    EXPECT_FALSE(r.equivalent());
    const auto* tcp = flow_of_kind(r, "tcp");
    ASSERT_NE(tcp, nullptr);
    ASSERT_FALSE(tcp->details.empty());
    EXPECT_EQ(tcp->details[0].field, "window");
    EXPECT_EQ(tcp->details[0].recorded.substr(0, 6), "64260 ");
}

TEST(ReplayLinuxV6, ARealDifferenceIsCaught) {
    // The discard service instead of echo: the handshake still matches, but where Linux sent
    // the two echoed lines (and later its FIN) tapstack sends bare ACKs; that is reported even
    // with the fixture's tolerance (the flags differ before the tolerated window does).
    auto o = linux_tcp_v6();
    o.app = tap::replay_app::discard;
    const auto r = replay_fixture("tcp_echo_v6_linux.pcap", o);
    EXPECT_FALSE(r.equivalent());
    const auto* tcp = flow_of_kind(r, "tcp");
    ASSERT_NE(tcp, nullptr);
    EXPECT_GE(tcp->differing + tcp->missing, 2u) << r.to_text();
    ASSERT_FALSE(tcp->details.empty());
    EXPECT_EQ(tcp->details[0].field, "flags");
    EXPECT_EQ(tcp->details[0].recorded.substr(0, 4), "[P.]");
    EXPECT_TRUE(flow_of_kind(r, "ndp")->equivalent());
}

TEST(ReplayLinuxV6, PeerKnownWithoutNdpIsPrimedSilently) {
    // tcp_echo_v6_linux.pcap without its first two records (the client's NS, the host's NA):
    // the recorded host knew the client already. The engine teaches the stack with an NS of
    // its own (the NA answering it is muted), so the stack sends no NS of its own and no NDP
    // flow appears; the TCP conversation matches as before.
    const auto cut = tapstack::testing::replay_scratch_path("tcp_echo_v6_no_ndp.pcap");
    {
        tap::pcap_reader in{tapstack::testing::fixture_path("tcp_echo_v6_linux.pcap")};
        tap::pcap_writer out{cut, tap::timestamp_precision::nano};
        while (auto rec = in.next())
            if (rec->index >= 2) out.write(rec->frame, rec->timestamp);
        out.flush();
    }
    const auto r = tap::replay_capture(cut, linux_tcp_v6());
    EXPECT_TRUE(replay_equivalent(r));
    ASSERT_EQ(r.flows.size(), 1u) << r.to_text();
    EXPECT_EQ(r.flows[0].kind, "tcp");
    EXPECT_EQ(r.flows[0].matched, 4u);
}

TEST(ReplayLinuxV6, WrongHostAddressIsRejected) {
    auto o = recorded_host_options_v6();
    o.host_ip6 = ip::address_v6::from_string("fd77::9");
    EXPECT_THROW(replay_fixture("ndp_ping_v6_linux.pcap", o), tap::replay_error);
}

}  // namespace
