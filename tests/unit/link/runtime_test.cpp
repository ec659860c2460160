// tap::runtime over one end of a SOCK_DGRAM socketpair (one datagram = one frame, like a TAP
// fd): the real io_context, steady_timer and read/write paths, with no network device at all.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>
#include <boost/asio/io_context.hpp>
#include <tapstack/tap/pcap_reader.hpp>
#include <tapstack/tap/runtime.hpp>
#include <tapstack/wire/ethernet.hpp>
#include "harness.hpp"

namespace {

using namespace tapstack;
using namespace std::chrono_literals;
using tapstack::testing::harness;

struct RuntimeOverSocketpair : ::testing::Test {
    int peer_fd = -1;
    boost::asio::io_context io{1};
    harness frames;  // only builds the peer's frames; its own stack is not used
    std::unique_ptr<tap::runtime> rt;

    void start(tap::runtime_config cfg, const stack_config& sc = harness::default_config()) {
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        peer_fd = fds[1];
        cfg.stack = sc;
        rt = std::make_unique<tap::runtime>(io, tap::tap_device::adopt(fds[0], "pair0"), cfg);
        rt->start();
    }
    void TearDown() override {
        rt.reset();
        if (peer_fd >= 0) ::close(peer_fd);
    }
    void send(const std::vector<std::byte>& f) {
        ASSERT_EQ(::write(peer_fd, f.data(), f.size()), static_cast<ssize_t>(f.size()));
    }
    /// Runs the loop until the peer has `n` frames (or 2 s pass); returns them.
    std::vector<std::vector<std::byte>> receive(std::size_t n) {
        std::vector<std::vector<std::byte>> got;
        const auto until = std::chrono::steady_clock::now() + 2s;
        std::vector<std::byte> buf(65536);
        while (got.size() < n && std::chrono::steady_clock::now() < until) {
            io.run_one_for(10ms);
            for (;;) {
                const ssize_t r = ::read(peer_fd, buf.data(), buf.size());
                if (r <= 0) break;
                got.emplace_back(buf.begin(), buf.begin() + r);
            }
        }
        return got;
    }
    static std::uint16_t ether_type(const std::vector<std::byte>& f) { return load_be16(f, 12); }
};

TEST_F(RuntimeOverSocketpair, AnswersArpAndPingThroughTheLoop) {
    const auto pcap_path =
        (std::filesystem::temp_directory_path() / ("tapstack-rt-" + std::to_string(::getpid()) + ".pcap")).string();
    {
        tap::pcap_writer pcap{pcap_path};
        tap::runtime_config cfg;
        cfg.seed = 9;
        cfg.pcap = &pcap;
        start(cfg);
        EXPECT_EQ(rt->stack().config().seed, 9u) << "the configured seed wins over the OS";
        send(frames.arp_request(ip::address_v4{10, 0, 0, 2}));
        const std::string data = "ping through the runtime";
        send(frames.ping(7, 1, as_bytes_of(data)));
        auto got = receive(2);
        ASSERT_EQ(got.size(), 2u);
        EXPECT_EQ(ether_type(got[0]), 0x0806);  // ARP reply
        EXPECT_EQ(ether_type(got[1]), 0x0800);  // ICMP echo reply
        EXPECT_EQ(static_cast<std::uint8_t>(got[1][14 + 20]), 0) << "ICMP type 0: echo reply";
        EXPECT_EQ(rt->stats().frames_read, 2u);
        EXPECT_EQ(rt->stats().frames_written, 2u);
        EXPECT_EQ(rt->stack().stats().icmp.out_echo_reps, 1u);
        rt->stop();
        pcap.flush();
        tap::pcap_reader r{pcap_path};
        int records = 0;
        while (r.next()) ++records;
        EXPECT_EQ(records, 4) << "both directions are recorded";
    }
    std::filesystem::remove(pcap_path);
}

TEST_F(RuntimeOverSocketpair, DrainsSeveralFramesPerWakeupUpToTheBound) {
    tap::runtime_config cfg;
    cfg.max_frames_per_wakeup = 3;
    start(cfg);
    send(frames.arp_request(ip::address_v4{10, 0, 0, 2}));
    for (std::uint16_t i = 0; i < 7; ++i) send(frames.ping(1, i, as_bytes_of(std::string{"x"})));
    const auto got = receive(8);
    EXPECT_EQ(got.size(), 8u);
    EXPECT_EQ(rt->stats().frames_read, 8u);
    EXPECT_GE(rt->stats().read_bound_hits, 1u) << "8 frames with a bound of 3 need several wakeups";
    EXPECT_LE(rt->stats().wakeups, 5u) << "but not one wakeup per frame";
}

TEST_F(RuntimeOverSocketpair, TimerFiresAtTheStacksDeadline) {
    // An unanswered ARP query is retried on the stack's timer: only the steady_timer the
    // runtime arms at poll()'s deadline can make the retries happen.
    stack_config sc = harness::default_config();
    sc.arp_retry_interval = 30ms;
    start(tap::runtime_config{}, sc);
    auto& st = rt->stack();
    auto s = st.udp_open().value();
    const std::string data = "to nobody";
    ASSERT_TRUE(st.udp_send_to(s, as_bytes_of(data), {ip::address_v4{10, 0, 0, 77}, 9}, rt->now()));
    rt->kick();
    const auto got = receive(3);
    ASSERT_EQ(got.size(), 3u);
    for (const auto& f : got) EXPECT_EQ(ether_type(f), 0x0806);
    EXPECT_GE(rt->stats().timer_fires, 2u);
    EXPECT_GE(rt->now() - instant{}, 60ms);
}

TEST_F(RuntimeOverSocketpair, SeedComesFromTheOsWhenNotGiven) {
    tap::runtime_config cfg;
    start(cfg);
    const auto first = rt->stack().config().seed;
    rt.reset();
    ::close(peer_fd);
    start(cfg);
    EXPECT_NE(rt->stack().config().seed, first);
}

TEST(TapDevice, OverlongNameIsRejectedWithAClearMessage) {
    try {
        tap::tap_device d{"a-name-much-too-long-for-linux"};
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string{e.what()}.find("longer than 15"), std::string::npos) << e.what();
    }
}

}  // namespace
