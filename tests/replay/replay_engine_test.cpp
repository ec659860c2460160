// The replay engine itself: determinism (the same capture and seed give a byte-identical
// output, kept as golden files), and clean errors for input that cannot be replayed.
#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include "fixtures_dir.hpp"
#include "replay_helper.hpp"

namespace {
using namespace tapstack;
using tapstack::testing::fixture_path;
using tapstack::testing::read_file_bytes;
using tapstack::testing::recorded_host_options;
using tapstack::testing::replay_scratch_path;

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out << bytes;
}

/// A pcap (microsecond, little-endian) with the given link type and records.
std::string make_pcap(std::uint32_t linktype, const std::vector<std::string>& records) {
    std::string s;
    auto u32 = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
    };
    auto u16 = [&](std::uint16_t v) {
        s += static_cast<char>(v & 0xff);
        s += static_cast<char>(v >> 8);
    };
    u32(0xa1b2c3d4);
    u16(2);
    u16(4);
    u32(0);
    u32(0);
    u32(65535);
    u32(linktype);
    std::uint32_t t = 0;
    for (const auto& r : records) {
        u32(1000);
        u32(t += 10);
        u32(static_cast<std::uint32_t>(r.size()));
        u32(static_cast<std::uint32_t>(r.size()));
        s += r;
    }
    return s;
}

std::string error_of(const std::string& path, const tap::replay_options& o = recorded_host_options()) {
    try {
        (void)tap::replay_capture(path, o);
    } catch (const tap::replay_error& e) { return e.what(); }
    return "";
}

TEST(ReplayEngine, SameCaptureAndSeedGiveByteIdenticalOutput) {
    auto o = recorded_host_options();
    o.out_path = replay_scratch_path("echo_a.pcap");
    (void)tapstack::testing::replay_fixture("tcp_echo_linux.pcap", o);
    o.out_path = replay_scratch_path("echo_b.pcap");
    (void)tapstack::testing::replay_fixture("tcp_echo_linux.pcap", o);
    const auto a = read_file_bytes(replay_scratch_path("echo_a.pcap"));
    ASSERT_GT(a.size(), 24u + 5 * 16u);  // header and the stack's five frames
    EXPECT_EQ(a, read_file_bytes(replay_scratch_path("echo_b.pcap")));
}

TEST(ReplayEngine, AnotherSeedChoosesAnotherIsnButStaysEquivalent) {
    auto o = recorded_host_options();
    o.tolerance.ignored_fields = {"window", "wscale", "tsval"};
    o.tolerance.unmatched_ok = {"tcp_pure_ack"};
    o.out_path = replay_scratch_path("echo_seed1.pcap");
    EXPECT_TRUE(tapstack::testing::replay_equivalent(tapstack::testing::replay_fixture("tcp_echo_linux.pcap", o)));
    o.seed = 99;
    o.out_path = replay_scratch_path("echo_seed99.pcap");
    EXPECT_TRUE(tapstack::testing::replay_equivalent(tapstack::testing::replay_fixture("tcp_echo_linux.pcap", o)));
    EXPECT_NE(read_file_bytes(replay_scratch_path("echo_seed1.pcap")),
              read_file_bytes(replay_scratch_path("echo_seed99.pcap")));
}

TEST(ReplayEngine, OutputMatchesGoldenFiles) {
    for (const char* name : {"tcp_echo_linux", "tcp_ooo_linux", "arp_icmp_udp_linux"}) {
        auto o = recorded_host_options();
        o.out_path = replay_scratch_path(std::string{name} + ".out.pcap");
        (void)tapstack::testing::replay_fixture(std::string{name} + ".pcap", o);
        EXPECT_TRUE(tapstack::testing::matches_golden(o.out_path, std::string{name} + ".out.pcap")) << name;
    }
}

TEST(ReplayEngine, ReportJsonNamesEveryFlow) {
    const auto r = tapstack::testing::replay_fixture("arp_icmp_udp_linux.pcap", recorded_host_options());
    const auto json = r.to_json();
    EXPECT_NE(json.find("\"flow\": \"arp 10.77.0.1 <-> 10.77.0.2\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"flow\": \"udp 10.77.0.1:7 <-> 10.77.0.2:41000\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"field\": \"df\""), std::string::npos) << json;
    EXPECT_NE(r.summary().find("DIFFERENT: 3 flows"), std::string::npos) << r.summary();
}

TEST(ReplayEngineErrors, MissingFile) {
    EXPECT_NE(error_of("/nonexistent/x.pcap").find("cannot read"), std::string::npos);
}

TEST(ReplayEngineErrors, GarbageBytes) {
    const auto p = replay_scratch_path("garbage.pcap");
    write_file(p, std::string(100, '\x5a'));
    EXPECT_NE(error_of(p).find("garbage.pcap"), std::string::npos);
}

TEST(ReplayEngineErrors, WrongLinkType) {
    const auto p = replay_scratch_path("raw_ip.pcap");
    write_file(p, make_pcap(101, {std::string(40, '\x45')}));
    EXPECT_NE(error_of(p).find("expected EN10MB"), std::string::npos) << error_of(p);
}

TEST(ReplayEngineErrors, TruncatedRecord) {
    const auto whole = read_file_bytes(fixture_path("tcp_echo_linux.pcap"));
    ASSERT_GT(whole.size(), 200u);
    const auto p = replay_scratch_path("truncated.pcap");
    write_file(p, whole.substr(0, whole.size() - 20));
    EXPECT_NE(error_of(p).find("truncated or corrupt"), std::string::npos) << error_of(p);
}

TEST(ReplayEngineErrors, FrameShorterThanEthernetHeader) {
    const auto p = replay_scratch_path("short_frame.pcap");
    write_file(p, make_pcap(1, {std::string(10, '\x01')}));
    EXPECT_NE(error_of(p).find("shorter than an Ethernet header"), std::string::npos) << error_of(p);
}

TEST(ReplayEngineErrors, CaptureThatNeverMentionsTheHost) {
    auto o = recorded_host_options();
    o.host_ip = ip::address_v4{10, 99, 0, 1};
    EXPECT_NE(error_of(fixture_path("tcp_echo_linux.pcap"), o).find("never mentions the host 10.99.0.1"),
              std::string::npos);
}

TEST(ReplayEngineErrors, EmptyCapture) {
    const auto p = replay_scratch_path("empty.pcap");
    write_file(p, make_pcap(1, {}));
    EXPECT_NE(error_of(p).find("no frames"), std::string::npos) << error_of(p);
}

TEST(ReplayEngineErrors, UnknownToleranceField) {
    auto o = recorded_host_options();
    o.tolerance.ignored_fields = {"colour"};
    EXPECT_NE(error_of(fixture_path("tcp_echo_linux.pcap"), o).find("unknown field 'colour'"), std::string::npos);
}

}  // namespace
