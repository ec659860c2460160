// Soak: many concurrent connections move data both ways between two tapstack instances through
// the seeded fault injector (5% loss, 5% reordering, 1% duplication, 1% corruption); every byte
// must arrive intact (pattern-checked and hashed), and at the end nothing may be left: no
// connection, no buffer byte, no timer (checked through the stacks' own counters and tables).
// Sizes: TAPSTACK_SOAK_CONNECTIONS (default 100), TAPSTACK_SOAK_MIB per connection and direction
// (default 20: the 4 GiB in all; about 35 s in release, 1.5 min under ASan on 2 cores).
// Run by scripts/test.sh (label "soak") in the asan pass, or in the release build without it.
#include <gtest/gtest.h>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>
#include <tapstack/base/random.hpp>
#include <tapstack/link/fault_injector.hpp>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/stack.hpp>
#include "bulk_transfer.hpp"

using namespace tapstack;
using namespace tapstack::testing;
using namespace std::chrono_literals;

namespace {
stack_config config_for(std::uint8_t host, std::uint64_t seed) {
    stack_config c = bulk_config_for(host, seed);
    c.tcp.msl = 5s;  // TIME-WAIT ends within the test's virtual minutes
    return c;
}

std::size_t env_size(const char* name, std::size_t fallback) {
    if (const char* v = std::getenv(name)) return static_cast<std::size_t>(std::atoll(v));
    return fallback;
}

std::size_t tcp_entries(const tapstack::stack& s) {
    std::size_t n = 0;
    s.for_each_tcp([&](const tcp_socket_info&) { ++n; });
    return n;
}

}  // namespace

TEST(Soak, ManyConnectionsBothWaysThroughFaultsAndNothingLeaks) {
    const std::size_t conns = env_size("TAPSTACK_SOAK_CONNECTIONS", 100);
    const std::size_t bytes_each = env_size("TAPSTACK_SOAK_MIB", 20) << 20;
    link::fault_config f;
    f.drop = 0.05;
    f.reorder = 0.05;
    f.duplicate = 0.01;
    f.corrupt = 0.01;
    f.seed = 4242;
    link::memory_link_config wc;
    wc.queue_frames = 16384;
    link::memory_link wire{wc};
    auto fb = f;
    fb.seed = f.seed * 7919 + 1;
    link::fault_injector inject_a{f, wire.side_a()};
    link::fault_injector inject_b{fb, wire.side_b()};
    tapstack::stack client{config_for(1, 11), inject_a};
    tapstack::stack server{config_for(2, 22), inject_b};
    wire.attach(client, server);

    auto listener = server.tcp_open().value();
    ASSERT_EQ(server.tcp_bind(listener, {ip::address_v4::any(), 9}), errc::success);
    ASSERT_EQ(server.tcp_listen(listener, static_cast<std::uint32_t>(conns)), errc::success);

    std::vector<std::unique_ptr<bulk_endpoint>> cs, ss;
    for (std::size_t i = 0; i < conns; ++i) {
        cs.push_back(std::make_unique<bulk_endpoint>(client, wire, 1000 + i, 5000 + i, bytes_each));
        auto& c = *cs.back();
        c.sock = client.tcp_open().value();
        client.set_waiter(c.sock, &c);
        ASSERT_EQ(client.tcp_connect(c.sock, {ip::address{ip::address_v4{10, 0, 0, 2}}, 9}, wire.now()), errc::success);
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto all_done = [&] {
        if (ss.size() < conns) return false;
        for (auto& e : cs)
            if (!e->done()) return false;
        for (auto& e : ss)
            if (!e->done()) return false;
        return true;
    };
    ASSERT_TRUE(wire.run_until(
        [&] {
            inject_a.flush(wire.now());
            inject_b.flush(wire.now());
            while (auto a = server.tcp_accept(listener, wire.now())) {
                // Which client is it? Its port tells: the client's local port.
                const auto remote = server.tcp_info(*a).value().remote;
                std::size_t idx = conns;
                for (std::size_t i = 0; i < conns; ++i)
                    if (client.tcp_info(cs[i]->sock).value().local.port == remote.port) idx = i;
                EXPECT_LT(idx, conns);
                if (idx == conns) continue;
                ss.push_back(std::make_unique<bulk_endpoint>(server, wire, 5000 + idx, 1000 + idx, bytes_each));
                auto& s = *ss.back();
                s.sock = *a;
                server.set_waiter(s.sock, &s);
                s.pump();
                cs[idx]->pump();
            }
            return all_done();
        },
        wire.now() + 3600s));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::size_t moved = 0;
    for (std::size_t i = 0; i < ss.size(); ++i) {
        EXPECT_EQ(ss[i]->failure, errc::success);
        moved += ss[i]->received;
    }
    for (std::size_t i = 0; i < conns; ++i) {
        auto& c = *cs[i];
        EXPECT_EQ(c.failure, errc::success) << i;
        EXPECT_EQ(c.received, bytes_each) << i;
        EXPECT_EQ(c.mismatches, 0u) << i;
        moved += c.received;
    }
    for (auto& s : ss) {
        EXPECT_EQ(s->received, bytes_each);
        EXPECT_EQ(s->mismatches, 0u);
        // The hash of what arrived equals the hash of what the other end sent.
        bool matched = false;
        for (auto& c : cs) matched |= c->sent_hash.value == s->received_hash.value;
        EXPECT_TRUE(matched);
    }
    std::printf(
        "soak: %zu connections, %zu MiB each way each, %.1f MiB moved in %.1f s wall; link a: %llu dropped, "
        "%llu reordered, %llu duplicated, %llu corrupted; retransmitted %llu + %llu\n",
        conns, bytes_each >> 20, static_cast<double>(moved) / (1 << 20), secs,
        static_cast<unsigned long long>(inject_a.stats().dropped),
        static_cast<unsigned long long>(inject_a.stats().reordered),
        static_cast<unsigned long long>(inject_a.stats().duplicated),
        static_cast<unsigned long long>(inject_a.stats().corrupted),
        static_cast<unsigned long long>(client.stats().tcp.retrans_segs),
        static_cast<unsigned long long>(server.stats().tcp.retrans_segs));
    EXPECT_GT(inject_a.stats().corrupted, 0u);

    // Close everything, let FINs, TIME-WAIT and every timer run out: nothing may be left.
    for (auto& c : cs) client.tcp_close(c->sock, wire.now());
    for (auto& s : ss) server.tcp_close(s->sock, wire.now());
    server.tcp_close(listener, wire.now());
    wire.run_until(
        [&] {
            inject_a.flush(wire.now());
            inject_b.flush(wire.now());
            return false;
        },
        wire.now() + 600s);
    EXPECT_EQ(tcp_entries(client), 0u) << format_connections(client);
    EXPECT_EQ(tcp_entries(server), 0u) << format_connections(server);
    EXPECT_EQ(client.stats().tcp.buffer_bytes_in_use, 0u);
    EXPECT_EQ(server.stats().tcp.buffer_bytes_in_use, 0u);
    EXPECT_FALSE(client.poll(wire.now()).has_value()) << "a timer is left";
    EXPECT_FALSE(server.poll(wire.now()).has_value()) << "a timer is left";
}
