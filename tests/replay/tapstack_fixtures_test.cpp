// Fixtures recorded with tapstack's own echo-server as the host (pcaps/record.sh, --seed 7):
// replayed with the same seed, the stack's frames are the recorded ones byte for byte.
#include <gtest/gtest.h>
#include <tapstack/tap/pcap_reader.hpp>
#include "fixtures_dir.hpp"
#include "replay_helper.hpp"

namespace {
using namespace tapstack;

std::vector<std::vector<std::byte>> frames_of(const std::string& path, std::optional<link::mac_address> from) {
    std::vector<std::vector<std::byte>> out;
    tap::pcap_reader in{path};
    while (auto r = in.next()) {
        if (from) {
            link::mac_address src;
            for (std::size_t i = 0; i < 6; ++i) src.bytes[i] = static_cast<std::uint8_t>(r->frame[6 + i]);
            if (src != *from) continue;
        }
        out.emplace_back(r->frame.begin(), r->frame.end());
    }
    return out;
}

TEST(ReplayTapstack, ArpPingUdpEquivalentWithoutTolerances) {
    const auto r = tapstack::testing::replay_fixture("arp_icmp_udp_tapstack.pcap", tapstack::testing::recorded_host_options());
    EXPECT_TRUE(tapstack::testing::replay_equivalent(r));
    EXPECT_EQ(r.frames_ignored, 1u);  // the bridge's IGMP report: neither to nor from the host
    std::uint64_t matched = 0;
    for (const auto& f : r.flows) matched += f.matched;
    EXPECT_EQ(matched, 6u);
}

TEST(ReplayTapstack, ArpPingUdpByteIdenticalWithTheRecordingSeed) {
    auto o = tapstack::testing::recorded_host_options();
    o.seed = 7;  // echo-server ran with --seed 7
    o.out_path = tapstack::testing::replay_scratch_path("arp_icmp_udp_tapstack.seed7.pcap");
    (void)tapstack::testing::replay_fixture("arp_icmp_udp_tapstack.pcap", o);
    const auto recorded = frames_of(tapstack::testing::fixture_path("arp_icmp_udp_tapstack.pcap"),
                                    link::mac_address{{0x02, 0x00, 0x00, 0x77, 0x00, 0x01}});
    const auto replayed = frames_of(o.out_path, std::nullopt);
    ASSERT_EQ(recorded.size(), 6u);
    EXPECT_EQ(replayed, recorded);
}

}  // namespace
