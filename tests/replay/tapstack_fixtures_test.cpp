// Fixtures recorded with tapstack's own echo-server as the host (pcaps/record.sh, --seed 7):
// replayed with the same seed, the stack's frames are the recorded ones byte for byte.
// - arp_icmp_udp_tapstack: tcpdump on the client side; nothing in it depends on time.
// - tcp_*_tapstack: echo-server's own capture in its deterministic mode (--pcap --deterministic:
//   stack_config::deterministic, timestamps on the stack's clock), replayed with
//   replay_options::deterministic: every frame *and its timestamp* is the recorded one.
#include <cctype>
#include <gtest/gtest.h>
#include <tapstack/stack.hpp>
#include <tapstack/tap/pcap_reader.hpp>
#include "fixtures_dir.hpp"
#include "replay_helper.hpp"

namespace {
using namespace tapstack;
using tapstack::testing::fixture_path;
using tapstack::testing::recorded_host_options;
using tapstack::testing::replay_equivalent;
using tapstack::testing::replay_fixture;
using tapstack::testing::replay_scratch_path;

const link::mac_address host_mac{{0x02, 0x00, 0x00, 0x77, 0x00, 0x01}};

struct frame_record {
    std::int64_t t_us = 0;
    std::vector<std::byte> bytes;
    friend bool operator==(const frame_record&, const frame_record&) = default;
};

std::vector<frame_record> frames_of(const std::string& path, std::optional<link::mac_address> from) {
    std::vector<frame_record> out;
    tap::pcap_reader in{path};
    while (auto r = in.next()) {
        if (from) {
            link::mac_address src;
            for (std::size_t i = 0; i < 6; ++i) src.bytes[i] = static_cast<std::uint8_t>(r->frame[6 + i]);
            if (src != *from) continue;
        }
        out.push_back({std::chrono::duration_cast<std::chrono::microseconds>(r->timestamp).count(),
                       std::vector<std::byte>(r->frame.begin(), r->frame.end())});
    }
    return out;
}

std::vector<std::vector<std::byte>> bytes_only(const std::vector<frame_record>& v) {
    std::vector<std::vector<std::byte>> out;
    for (const auto& f : v) out.push_back(f.bytes);
    return out;
}

/// The first frame at which the two lists differ, for a readable failure.
::testing::AssertionResult same_frames(const std::vector<frame_record>& recorded,
                                       const std::vector<frame_record>& replayed, bool with_time) {
    for (std::size_t i = 0; i < std::min(recorded.size(), replayed.size()); ++i) {
        if (recorded[i].bytes != replayed[i].bytes) {
            std::size_t at = 0;
            while (at < std::min(recorded[i].bytes.size(), replayed[i].bytes.size()) &&
                   recorded[i].bytes[at] == replayed[i].bytes[at])
                ++at;
            return ::testing::AssertionFailure()
                << "host frame " << i << " differs at byte " << at << " (sizes " << recorded[i].bytes.size() << " and "
                << replayed[i].bytes.size() << ")";
        }
        if (with_time && recorded[i].t_us != replayed[i].t_us)
            return ::testing::AssertionFailure() << "host frame " << i << " recorded at " << recorded[i].t_us
                                                 << " us, replayed at " << replayed[i].t_us << " us";
    }
    if (recorded.size() != replayed.size())
        return ::testing::AssertionFailure()
            << recorded.size() << " host frames recorded, " << replayed.size() << " replayed";
    return ::testing::AssertionSuccess();
}

tap::replay_options deterministic_options(const std::string& out_name) {
    auto o = recorded_host_options();
    o.seed = 7;  // echo-server ran with --seed 7 --deterministic
    o.deterministic = true;
    o.out_path = replay_scratch_path(out_name);
    return o;
}

TEST(ReplayTapstack, ArpPingUdpEquivalentWithoutTolerances) {
    const auto r = replay_fixture("arp_icmp_udp_tapstack.pcap", recorded_host_options());
    EXPECT_TRUE(replay_equivalent(r));
    EXPECT_EQ(r.frames_ignored, 1u);  // the bridge's IGMP report: neither to nor from the host
    std::uint64_t matched = 0;
    for (const auto& f : r.flows) matched += f.matched;
    EXPECT_EQ(matched, 6u);
}

TEST(ReplayTapstack, ArpPingUdpByteIdenticalWithTheRecordingSeed) {
    auto o = recorded_host_options();
    o.seed = 7;  // echo-server ran with --seed 7
    o.out_path = replay_scratch_path("arp_icmp_udp_tapstack.seed7.pcap");
    (void)replay_fixture("arp_icmp_udp_tapstack.pcap", o);
    const auto recorded = frames_of(fixture_path("arp_icmp_udp_tapstack.pcap"), host_mac);
    const auto replayed = frames_of(o.out_path, std::nullopt);
    ASSERT_EQ(recorded.size(), 6u);
    EXPECT_EQ(bytes_only(replayed), bytes_only(recorded));
}

// --- TCP fixtures from echo-server --pcap --deterministic ----------------------------------

struct tcp_fixture {
    const char* name;
    std::size_t host_frames;  // what the recorded host sent: guards against an empty comparison
};

class ReplayTapstackTcp : public ::testing::TestWithParam<tcp_fixture> {};

TEST_P(ReplayTapstackTcp, DeterministicReplayIsByteIdentical) {
    const std::string name = GetParam().name;
    const auto o = deterministic_options(name + ".det.pcap");
    const auto r = replay_fixture(name + ".pcap", o);
    // No tolerance: every field of every frame, in every flow.
    EXPECT_TRUE(replay_equivalent(r));
    const auto recorded = frames_of(fixture_path(name + ".pcap"), host_mac);
    const auto replayed = frames_of(o.out_path, std::nullopt);
    ASSERT_EQ(recorded.size(), GetParam().host_frames);
    // The same bytes (checksums, IP IDs, ISNs, TSvals, windows) at the same instants.
    EXPECT_TRUE(same_frames(recorded, replayed, true));
}

TEST_P(ReplayTapstackTcp, AnotherSeedIsNotByteIdentical) {
    // The byte comparison above can fail: the seed alone moves the ISNs and TS offsets.
    const std::string name = GetParam().name;
    auto o = deterministic_options(name + ".seed8.pcap");
    o.seed = 8;
    (void)replay_fixture(name + ".pcap", o);
    EXPECT_FALSE(
        same_frames(frames_of(fixture_path(name + ".pcap"), host_mac), frames_of(o.out_path, std::nullopt), false));
}

/// "tcp_echo_tapstack" -> "TcpEchoTapstack" (GoogleTest names: no underscores).
std::string camel_name(const ::testing::TestParamInfo<tcp_fixture>& p) {
    std::string out;
    bool up = true;
    for (const char* c = p.param.name; *c != 0; ++c) {
        if (*c == '_') {
            up = true;
            continue;
        }
        out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(*c))) : *c;
        up = false;
    }
    return out;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ReplayTapstackTcp,
                         ::testing::Values(tcp_fixture{"tcp_echo_tapstack", 5},
                                           tcp_fixture{"tcp_rst_closed_tapstack", 3},
                                           tcp_fixture{"tcp_ooo_tapstack", 6},
                                           tcp_fixture{"tcp_zero_window_tapstack", 6}),
                         camel_name);

TEST(ReplayTapstack, NormalModeOfTheEchoFixtureIsEquivalentNotIdentical) {
    // Without the deterministic mode the virtual clock starts at the first record, so the ISN
    // clock term (RFC 6528) and TSvals differ in their bytes; relative to their own ISN and
    // first TSval the frames are still the recorded ones.
    auto o = recorded_host_options();
    o.seed = 7;
    // The normal mode assumes the recorded host knew a peer that sends IP before any ARP and
    // teaches the stack (a static entry, as in the Linux fixtures); this host asked by ARP.
    o.tolerance.unmatched_ok = {"arp"};
    o.out_path = replay_scratch_path("tcp_echo_tapstack.normal.pcap");
    const auto r = replay_fixture("tcp_echo_tapstack.pcap", o);
    EXPECT_TRUE(replay_equivalent(r));
    EXPECT_FALSE(same_frames(frames_of(fixture_path("tcp_echo_tapstack.pcap"), host_mac),
                             frames_of(o.out_path, std::nullopt), false));
}

TEST(ReplayTapstack, DeterministicModeRefusesAWallClockCapture) {
    auto o = recorded_host_options();
    o.deterministic = true;
    try {
        (void)replay_fixture("tcp_echo_linux.pcap", o);
        ADD_FAILURE() << "no error";
    } catch (const tap::replay_error& e) {
        EXPECT_NE(std::string{e.what()}.find("--deterministic needs a capture stamped with the stack's own clock"),
                  std::string::npos)
            << e.what();
    }
}

// --- the stack knob the recordings rely on (stack_config::deterministic) -------------------

class collecting_sink final : public link::frame_sink {
public:
    void send_frame(bytes, instant now) override { times.push_back(now); }
    std::vector<instant> times;
};

TEST(DeterministicStack, SocketCallsActAtTheLastEventNotAtTheirOwnNow) {
    for (const bool deterministic : {false, true}) {
        collecting_sink sink;
        stack_config cfg;
        cfg.ipv4 = ip::interface_address{ip::address_v4{10, 0, 0, 1}, 24};
        cfg.deterministic = deterministic;
        tapstack::stack st{cfg, sink};
        (void)st.poll(instant_from_us(1000));
        auto u = st.udp_open();
        ASSERT_TRUE(u);
        // A datagram to an unresolved peer: the stack sends an ARP request at the call's instant.
        ASSERT_TRUE(st.udp_send_to(*u, bytes{}, ip::endpoint{ip::address_v4{10, 0, 0, 2}, 9}, instant_from_us(5000)));
        ASSERT_EQ(sink.times.size(), 1u);
        // Deterministic: the idle poll at 1000 us did not move the clock (nothing was due), and
        // the call acted at the stack's own instant (0), not at its 5000 us.
        EXPECT_EQ(to_us(sink.times[0]), deterministic ? 0 : 5000) << "deterministic " << deterministic;
        // A poll that finds the ARP retry due moves the clock to the poll's instant.
        const auto next = st.poll(instant_from_us(5000));
        ASSERT_TRUE(next);
        (void)st.poll(*next + duration{7});
        ASSERT_EQ(sink.times.size(), 2u);
        EXPECT_EQ(sink.times[1], *next + duration{7});
    }
}

}  // namespace
