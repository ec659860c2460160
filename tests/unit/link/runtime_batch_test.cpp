// tap::runtime's executor and read loop, over one end of a SOCK_DGRAM socketpair (one datagram =
// one frame, like a TAP fd): completions handed to the runtime's executor run at the end of the
// read handler that produced them (same io_context turn), in FIFO order, never inline; other
// threads and dispatch keep Asio's behaviour; and the read loop's policy (read on until EAGAIN
// only when a wakeup had more than one frame queued) loses no frame.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <vector>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <tapstack/ip/udp.hpp>
#include <tapstack/tap/runtime.hpp>
#include <tapstack/wire/ethernet.hpp>
#include "harness.hpp"

namespace {

using namespace tapstack;
using namespace std::chrono_literals;
using tapstack::testing::harness;

struct RuntimeBatch : ::testing::Test {
    int peer_fd = -1;
    boost::asio::io_context io{1};
    harness frames;  // only builds the peer's frames
    std::unique_ptr<tap::runtime> rt;

    void start(tap::runtime_config cfg = {}) {
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        peer_fd = fds[1];
        cfg.stack = harness::default_config();
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
    /// The frames the peer can read right now (no loop run).
    std::vector<std::vector<std::byte>> drain_peer() {
        std::vector<std::vector<std::byte>> got;
        std::vector<std::byte> buf(65536);
        for (;;) {
            const ssize_t r = ::read(peer_fd, buf.data(), buf.size());
            if (r <= 0) break;
            got.emplace_back(buf.begin(), buf.begin() + r);
        }
        return got;
    }
    /// Runs the loop until the peer has `n` frames (or 2 s pass); returns them.
    std::vector<std::vector<std::byte>> receive(std::size_t n) {
        std::vector<std::vector<std::byte>> got;
        const auto until = std::chrono::steady_clock::now() + 2s;
        while (got.size() < n && std::chrono::steady_clock::now() < until) {
            io.run_one_for(10ms);
            for (auto& f : drain_peer()) got.push_back(std::move(f));
        }
        return got;
    }
    /// ARP first, so that the stack knows the peer's MAC; then nothing is left queued.
    void introduce_peer() {
        send(frames.arp_request(ip::address_v4{10, 0, 0, 2}));
        ASSERT_EQ(receive(1).size(), 1u);
        io.poll();
        drain_peer();
    }
    static std::uint16_t ether_type(const std::vector<std::byte>& f) { return load_be16(f, 12); }
};

TEST_F(RuntimeBatch, SocketCompletionRunsInTheTurnOfItsFrame) {
    start();
    introduce_peer();
    ip::udp::socket sock{*rt, ip::endpoint{ip::address{ip::address_v4::any()}, 7}};
    std::array<std::byte, 256> buf{};
    ip::endpoint sender;
    bool received = false;
    bool replied = false;
    sock.async_receive_from(boost::asio::buffer(buf), sender, [&](boost::system::error_code ec, std::size_t n) {
        ASSERT_FALSE(ec) << ec.message();
        received = true;
        sock.async_send_to(boost::asio::buffer(buf.data(), n), sender,
                           [&](boost::system::error_code ec2, std::size_t) { replied = !ec2; });
    });
    io.poll();  // the receive is pending now; nothing else is queued
    ASSERT_FALSE(received);
    const std::string data = "one turn";
    send(frames.udp(5000, 7, as_bytes_of(data)));

    // ONE handler: the runtime's read handler. The receive completion, the reply it sends and
    // the send's completion all run at its end, not in later turns.
    ASSERT_EQ(io.run_one_for(2s), 1u);
    EXPECT_TRUE(received);
    EXPECT_TRUE(replied);
    const auto got = drain_peer();
    ASSERT_EQ(got.size(), 1u) << "the reply left in the same turn";
    EXPECT_EQ(ether_type(got[0]), 0x0800);
    const auto tail = std::vector<std::byte>(got[0].end() - static_cast<std::ptrdiff_t>(data.size()), got[0].end());
    EXPECT_EQ(tail, std::vector<std::byte>(as_bytes_of(data).begin(), as_bytes_of(data).end()));
    EXPECT_GE(rt->stats().deferred_in_batch, 2u) << "receive and send completions";
}

TEST_F(RuntimeBatch, JobsRunInOrderNeverInlineAndRunStopsWhenTheyAreDone) {
    start();
    std::vector<int> order;
    auto ex = rt->get_executor();
    boost::asio::post(io, [&] {
        boost::asio::post(ex, [&] { order.push_back(1); });
        boost::asio::post(ex, [&] {
            order.push_back(2);
            boost::asio::post(ex, [&] {
                order.push_back(4);
                rt->stop();  // the read wait ends: run() returns once the jobs are done
            });
        });
        boost::asio::post(ex, [&] { order.push_back(3); });
        order.push_back(0);  // post never runs a job inline
        bool dispatched = false;
        boost::asio::dispatch(ex, [&] { dispatched = true; });
        EXPECT_TRUE(dispatched) << "dispatch on the runtime's thread runs inline, as Asio's does";
    });
    io.run_for(5s);
    EXPECT_TRUE(io.stopped()) << "run() returned because nothing was left, not at the timeout";
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(rt->stats().deferred_run, 4u);
    EXPECT_EQ(&boost::asio::query(ex, boost::asio::execution::context), &io);
}

TEST_F(RuntimeBatch, OtherThreadsHandWorkOverThroughTheExecutor) {
    start();
    std::thread::id ran_on;
    std::thread other{[&, ex = rt->get_executor()] {
        boost::asio::post(ex, [&] {
            ran_on = std::this_thread::get_id();
            rt->stop();
        });
    }};
    other.join();
    io.run_for(5s);
    EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST_F(RuntimeBatch, ReadsOnOnlyAfterABacklogAndLosesNoFrame) {
    start();
    introduce_peer();
    const auto drains_before = rt->stats().drain_reads;
    // A lone frame: the wakeup reads it and leaves the EAGAIN read to the re-armed wait.
    send(frames.ping(1, 1, as_bytes_of(std::string{"a"})));
    ASSERT_EQ(receive(1).size(), 1u);
    io.poll();
    const auto wakeups_lone = rt->stats().wakeups;
    EXPECT_EQ(rt->stats().drain_reads, drains_before) << "no read past a lone frame";
    // Then a burst: the wait's own read finds the second frame, so the next wakeup reads on.
    for (std::uint16_t i = 0; i < 6; ++i)
        send(frames.ping(1, static_cast<std::uint16_t>(10 + i), as_bytes_of(std::string{"b"})));
    const auto got = receive(6);
    ASSERT_EQ(got.size(), 6u) << "every frame of the burst is answered";
    EXPECT_GT(rt->stats().drain_reads, drains_before) << "the burst switched to reading on";
    EXPECT_LE(rt->stats().wakeups - wakeups_lone, 3u) << "not one wakeup per frame";
    EXPECT_EQ(rt->stack().stats().icmp.out_echo_reps, 7u);
}

}  // namespace
