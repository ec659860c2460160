// Issue #7: "no heap allocation per packet on the hot path (a test with a counting allocator
// proves it)". The global operator new of this test binary counts, and two stacks joined by the
// in-memory link move TCP bulk data in both directions at once: after a warm-up (ARP resolved,
// rings allocated on first use, every lazily sized table at its working size), thousands of
// segments, ACKs and window updates go through without one allocation.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/stack.hpp>

namespace {
// Counted for every thread (the tests are single-threaded; relaxed is enough).
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

// Replacing the four basic forms is enough: the sized, aligned and nothrow forms of GCC 12's
// libstdc++ end up in one of them (or are replaced the same way below).
void* operator new(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc{};
}
void* operator new[](std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc{};
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {
using namespace tapstack;
using namespace std::chrono_literals;

stack_config config_for(std::uint8_t host) {
    stack_config c;
    c.mac = link::mac_address{{0x02, 0, 0, 0, 0, host}};
    c.ipv4 = ip::interface_address{ip::address_v4{10, 0, 0, host}, 24};
    c.seed = host;
    c.max_tcp_sockets = 8;
    c.tcp.send_buffer_size = 64 * 1024;
    c.tcp.receive_buffer_size = 64 * 1024;
    return c;
}

/// Two stacks, one connection, both ends sending and reading as fast as the windows allow.
struct duplex_bulk {
    duplex_bulk() : wire{[] {
                        link::memory_link_config wc;
                        wc.queue_frames = 1024;
                        return wc;
                    }()},
                    a{config_for(1), wire.side_a()},
                    b{config_for(2), wire.side_b()} {
        wire.attach(a, b);
        chunk.fill(std::byte{0x5a});
        auto l = b.tcp_open().value();
        b.tcp_bind(l, {ip::address_v4::any(), 5001});
        b.tcp_listen(l, 4);
        ca = a.tcp_open().value();
        a.tcp_connect(ca, {ip::address{ip::address_v4{10, 0, 0, 2}}, 5001}, wire.now());
        wire.settle();
        cb = b.tcp_accept(l, wire.now()).value();
    }

    /// One round: fill both send buffers, move everything in flight, drain both receivers, and
    /// let 1 ms of virtual time pass (delayed ACKs, the odd timer).
    void round() {
        const instant now = wire.now();
        for (auto [s, h] : {std::pair{&a, ca}, std::pair{&b, cb}}) {
            while (true) {
                auto n = s->tcp_send(h, chunk, now);
                if (!n || *n == 0) break;
                sent += *n;
            }
        }
        wire.settle();
        for (auto [s, h] : {std::pair{&a, ca}, std::pair{&b, cb}}) {
            while (true) {
                auto n = s->tcp_receive(h, sink, wire.now());
                if (!n || *n == 0) break;
                received += *n;
            }
        }
        wire.settle();
        wire.advance_to(wire.now() + 1ms);
        wire.settle();
    }

    link::memory_link wire;
    tapstack::stack a, b;
    socket_handle ca, cb;
    std::array<std::byte, 16384> chunk{};
    std::array<std::byte, 65536> sink{};
    std::uint64_t sent = 0, received = 0;
};

TEST(NoAllocation, TcpBulkInBothDirectionsAllocatesNothingPerPacket) {
    duplex_bulk d;
    ASSERT_TRUE(d.a.tcp_info(d.ca).has_value());
    ASSERT_EQ(d.a.tcp_info(d.ca)->state, tcp::state::established);
    for (int i = 0; i < 20; ++i) d.round();  // warm-up: rings, tables, scratch at working size
    ASSERT_GT(d.received, 0u);

    const auto segs_before = d.a.stats().tcp.in_segs + d.b.stats().tcp.in_segs;
    const auto received_before = d.received;
    const auto allocations_before = g_allocations.load();
    for (int i = 0; i < 200; ++i) d.round();
    const auto allocations = g_allocations.load() - allocations_before;
    const auto segs = d.a.stats().tcp.in_segs + d.b.stats().tcp.in_segs - segs_before;

    // Both directions carried data in the measured rounds: several MiB, thousands of segments.
    EXPECT_GT(d.received - received_before, 4u << 20);
    EXPECT_GT(segs, 2000u);
    EXPECT_GT(d.a.stats().tcp.in_segs, 1000u);
    EXPECT_GT(d.b.stats().tcp.in_segs, 1000u);
    EXPECT_EQ(d.wire.stats().full_drops, 0u);
    EXPECT_EQ(allocations, 0u) << "heap allocations during " << segs << " segments";
}

TEST(NoAllocation, TheCounterSeesAnAllocation) {
    // The proof above is only as good as the counter: a vector that grows must be seen.
    const auto before = g_allocations.load();
    int* volatile p = new int{42};  // volatile: the pair may not be elided
    EXPECT_EQ(*p, 42);
    delete p;
    EXPECT_EQ(g_allocations.load() - before, 1u);
}

}  // namespace
