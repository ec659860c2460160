// TIME-WAIT apart from the socket budget (issue 14): orphans in TIME-WAIT do not count against
// max_tcp_sockets, they have a bound of their own (max_time_wait) past which the oldest goes,
// and a connect may take over its own TIME-WAIT 4-tuple (Linux's tcp_tw_reuse rule). Two
// stacks on the in-memory link, client a (10.0.0.1) and server b (10.0.0.2).
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/stack.hpp>

namespace {

using namespace tapstack;
using namespace std::chrono_literals;

stack_config config_for(std::uint8_t host, std::uint64_t seed) {
    stack_config cfg;
    cfg.mac = link::mac_address{{0x02, 0, 0, 0, 0, host}};
    cfg.ipv4 = ip::interface_address{ip::address_v4{10, 0, 0, host}, 24};
    cfg.seed = seed;
    return cfg;
}

enum class closer : std::uint8_t { client, server };

struct two_stacks {
    link::memory_link wire;
    tapstack::stack a;
    tapstack::stack b;
    socket_handle listener{};
    duration slowest_connect{};

    two_stacks(const stack_config& ca, const stack_config& cb) : a{ca, wire.side_a()}, b{cb, wire.side_b()} {
        wire.attach(a, b);
        listener = b.tcp_open().value();
        EXPECT_EQ(b.tcp_bind(listener, {ip::address_v4::any(), 80}), errc::success);
        EXPECT_EQ(b.tcp_listen(listener, 4096), errc::success);
    }

    bool at_eof(tapstack::stack& s, socket_handle h) {
        std::array<std::byte, 64> buf{};
        auto r = s.tcp_receive(h, buf, wire.now());
        return r && *r == 0;
    }

    /// One short connection, closed first by `who`; the other side closes on EOF. The error of
    /// tcp_open or tcp_connect, else success once both sides are done.
    errc short_connection(closer who) {
        auto c = a.tcp_open();
        if (!c) return c.error();
        const instant start = wire.now();
        if (auto e = a.tcp_connect(*c, {ip::address_v4{10, 0, 0, 2}, 80}, wire.now()); e != errc::success) {
            a.tcp_close(*c, wire.now());
            return e;
        }
        std::optional<socket_handle> s;
        const bool accepted = wire.run_until(
            [&] {
                if (auto r = b.tcp_accept(listener, wire.now())) s = *r;
                return s.has_value() && a.tcp_info(*c).value().state == tcp::state::established;
            },
            wire.now() + 60s);
        if (!accepted) return errc::timed_out;
        slowest_connect = std::max(slowest_connect, wire.now() - start);
        tapstack::stack& first = who == closer::client ? a : b;
        tapstack::stack& second = who == closer::client ? b : a;
        const socket_handle first_h = who == closer::client ? *c : *s;
        const socket_handle second_h = who == closer::client ? *s : *c;
        first.tcp_close(first_h, wire.now());
        if (!wire.run_until([&] { return at_eof(second, second_h); }, wire.now() + 10s)) return errc::timed_out;
        second.tcp_close(second_h, wire.now());
        wire.settle();
        return errc::success;
    }

    std::size_t in_time_wait(tapstack::stack& s) {
        std::size_t n = 0;
        s.for_each_tcp([&](const tcp_socket_info& i) { n += i.state == tcp::state::time_wait; });
        return n;
    }
};

}  // namespace

// Issue 14's "19 s connect after ab -n 5000 -c 50": the server closes each connection first,
// so every one leaves a TIME-WAIT on the server for 2 MSL. Those used to count against
// max_tcp_sockets: once the burst had filled the table every new SYN was dropped
// (connection_limit_drops) and the client waited out its SYN back-off (1 + 2 + 4 + 8 s ...)
// until the oldest TIME-WAIT expired. Here the server's table holds 32 sockets and the burst
// is 400 connections from 50 client ports (each 4-tuple comes back while in TIME-WAIT and
// reincarnates it, RFC 6191); a connection after the burst answers at once.
TEST(TimeWait, ABurstOfShortConnectionsDoesNotDelayTheNextConnect) {
    auto ca = config_for(1, 11);
    ca.ephemeral_low = 40000;
    ca.ephemeral_high = 40049;
    auto cb = config_for(2, 22);
    cb.max_tcp_sockets = 32;
    two_stacks t{ca, cb};
    for (int i = 0; i < 400; ++i) {
        ASSERT_EQ(t.short_connection(closer::server), errc::success) << "connection " << i;
        t.wire.run_for(2ms);
    }
    EXPECT_EQ(t.b.stats().tcp.connection_limit_drops, 0u);
    EXPECT_GT(t.b.stats().tcp.time_wait_reuses, 0u) << "client ports came back while in TIME-WAIT";
    EXPECT_GT(t.in_time_wait(t.b), 32u) << "TIME-WAIT beyond max_tcp_sockets";
    t.slowest_connect = {};
    ASSERT_EQ(t.short_connection(closer::server), errc::success);
    EXPECT_LT(t.slowest_connect, 500ms);
    EXPECT_EQ(t.a.stats().tcp.syn_retransmits, 0u) << "no SYN had to be retransmitted";
}

TEST(TimeWait, ClientTimeWaitsDoNotUseUpTheSocketTable) {
    auto ca = config_for(1, 11);
    ca.max_tcp_sockets = 4;
    two_stacks t{ca, config_for(2, 22)};
    for (int i = 0; i < 50; ++i) ASSERT_EQ(t.short_connection(closer::client), errc::success) << "connection " << i;
    EXPECT_EQ(t.in_time_wait(t.a), 50u);
}

TEST(TimeWait, TheBoundDropsTheOldestAndCountsIt) {
    auto ca = config_for(1, 11);
    ca.max_time_wait = 5;
    two_stacks t{ca, config_for(2, 22)};
    for (int i = 0; i < 12; ++i) ASSERT_EQ(t.short_connection(closer::client), errc::success) << "connection " << i;
    EXPECT_EQ(t.in_time_wait(t.a), 5u);
    EXPECT_EQ(t.a.stats().tcp.time_wait_overflows, 7u);
}

TEST(TimeWait, ExhaustedRangeIsAddressNotAvailableThenOwnTimeWaitIsReusedAfterOneSecond) {
    auto ca = config_for(1, 11);
    ca.ephemeral_low = 40000;
    ca.ephemeral_high = 40009;
    two_stacks t{ca, config_for(2, 22)};
    for (int i = 0; i < 10; ++i) ASSERT_EQ(t.short_connection(closer::client), errc::success) << "connection " << i;
    EXPECT_EQ(t.in_time_wait(t.a), 10u);
    // Every 4-tuple to 10.0.0.2:80 is in TIME-WAIT and younger than 1 s.
    EXPECT_EQ(t.short_connection(closer::client), errc::address_not_available);
    t.wire.run_for(1s);
    // Old enough, and timestamps were on: the connect takes one over (PAWS guards it).
    EXPECT_EQ(t.short_connection(closer::client), errc::success);
    EXPECT_EQ(t.a.stats().tcp.time_wait_connect_reuses, 1u);
    EXPECT_EQ(t.b.stats().tcp.paws_drops, 0u);
}

TEST(TimeWait, NoReuseWithoutTimestamps) {
    auto ca = config_for(1, 11);
    ca.ephemeral_low = 40000;
    ca.ephemeral_high = 40003;
    ca.tcp.timestamps = false;
    two_stacks t{ca, config_for(2, 22)};
    for (int i = 0; i < 4; ++i) ASSERT_EQ(t.short_connection(closer::client), errc::success) << "connection " << i;
    t.wire.run_for(2s);
    EXPECT_EQ(t.short_connection(closer::client), errc::address_not_available);
    EXPECT_EQ(t.a.stats().tcp.time_wait_connect_reuses, 0u);
}
