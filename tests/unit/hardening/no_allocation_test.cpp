// Issue #7: "no heap allocation per packet on the hot path (a test with a counting allocator
// proves it)". The global operator new of this test binary counts, and two stacks joined by the
// in-memory link move TCP bulk data in both directions at once: after a warm-up (ARP resolved,
// rings allocated on first use, every lazily sized table at its working size), thousands of
// segments, ACKs and window updates go through without one allocation.
//
// The same proof on the other hot paths of issue #7: checksum offload on the memory link (TCP
// checksums left partial and trusted by the peer), TSO super-segments cut in software by the
// link, UDP echo in steady state, and out-of-order receive through a seeded fault injector
// (the range set and the reassembly ring are fixed-size: a warmed-up receiver holding and
// filling holes allocates nothing). Each measured window also checks, through the stats, that
// the path it claims to cover really carried traffic.
//
// To find an allocation that fails one of these tests, run it with NOALLOC_BACKTRACE=1: the
// first allocation inside a measured window prints its stack (glibc backtrace) to stderr, as
// offsets into the binary; `addr2line -e bin/unit_tests -f -C -p 0x...` names the lines.
#include <gtest/gtest.h>

#include <execinfo.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <tapstack/link/fault_injector.hpp>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/stack.hpp>

namespace {
// Counted for every thread (the tests are single-threaded; relaxed is enough).
std::atomic<std::uint64_t> g_allocations{0};
// Set while a window is measured and NOALLOC_BACKTRACE is in the environment: the first
// allocation seen prints where it came from (backtrace() and backtrace_symbols_fd() use
// malloc, never operator new, so this cannot recurse).
std::atomic<bool> g_trace_next{false};

void count_allocation() noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (g_trace_next.exchange(false, std::memory_order_relaxed)) {
        std::array<void*, 48> frames{};
        const int n = ::backtrace(frames.data(), static_cast<int>(frames.size()));
        static constexpr char head[] = "no_allocation_test: allocation inside a measured window at:\n";
        [[maybe_unused]] const auto w = ::write(2, head, sizeof head - 1);
        ::backtrace_symbols_fd(frames.data(), n, 2);
    }
}
}  // namespace

// Replacing the four basic forms is enough: the sized, aligned and nothrow forms of GCC 12's
// libstdc++ end up in one of them (or are replaced the same way below).
void* operator new(std::size_t n) {
    count_allocation();
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc{};
}
void* operator new[](std::size_t n) {
    count_allocation();
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc{};
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    count_allocation();
    return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    count_allocation();
    return std::malloc(n == 0 ? 1 : n);
}
// GCC (-O2 and above) inlines these into a caller of the replaced operator new and reports free()
// on memory from operator new (-Wmismatched-new-delete); here operator new is malloc, so free() is
// its match. Silenced for these six definitions only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {
using namespace tapstack;
using namespace std::chrono_literals;

/// The allocations made while `body` runs; with NOALLOC_BACKTRACE set, the first one prints
/// its stack.
template <class Body>
std::uint64_t allocations_during(Body&& body) {
    static const bool trace = std::getenv("NOALLOC_BACKTRACE") != nullptr;
    const auto before = g_allocations.load();
    g_trace_next.store(trace);
    body();
    g_trace_next.store(false);
    return g_allocations.load() - before;
}

/// What the bulk fixture turns on (the defaults: plain link, no offload, no faults).
struct bulk_options {
    bool link_checksum_offload = false;  // memory_link_config::checksum_offload
    bool tx_checksum_offload = false;  // stack_config::tx_checksum_offload, both stacks
    std::uint32_t gso_max_bytes = 0;  // tcp.gso_max_bytes, both stacks (TSO)
    std::uint32_t buffer_size = 64 * 1024;
    /// A seeded fault injector between each stack and the link (its seed varied per side).
    std::optional<link::fault_config> faults;
};

stack_config config_for(std::uint8_t host, const bulk_options& o = {}) {
    stack_config c;
    c.mac = link::mac_address{{0x02, 0, 0, 0, 0, host}};
    c.ipv4 = ip::interface_address{ip::address_v4{10, 0, 0, host}, 24};
    c.seed = host;
    c.max_tcp_sockets = 8;
    c.tcp.send_buffer_size = o.buffer_size;
    c.tcp.receive_buffer_size = o.buffer_size;
    c.tx_checksum_offload = o.tx_checksum_offload;
    c.tcp.gso_max_bytes = o.gso_max_bytes;
    return c;
}

link::memory_link_config wire_config(const bulk_options& o) {
    link::memory_link_config wc;
    wc.queue_frames = 1024;
    wc.checksum_offload = o.link_checksum_offload;
    return wc;
}

/// Allocated once, before anything is measured.
std::unique_ptr<link::fault_injector> injector_for(const bulk_options& o, std::uint64_t side, link::frame_sink& next) {
    if (!o.faults) return nullptr;
    auto f = *o.faults;
    f.seed = f.seed * 1000 + side;
    return std::make_unique<link::fault_injector>(f, next);
}

link::frame_sink& output_of(const std::unique_ptr<link::fault_injector>& inject, link::frame_sink& wire_side) {
    if (inject) return *inject;
    return wire_side;
}

/// Two stacks, one connection, both ends sending and reading as fast as the windows allow.
struct duplex_bulk {
    explicit duplex_bulk(const bulk_options& o = {})
        : wire{wire_config(o)},
          inject_a{injector_for(o, 1, wire.side_a())},
          inject_b{injector_for(o, 2, wire.side_b())},
          a{config_for(1, o), output_of(inject_a, wire.side_a())},
          b{config_for(2, o), output_of(inject_b, wire.side_b())} {
        wire.attach(a, b);
        chunk.fill(std::byte{0x5a});
        auto l = b.tcp_open().value();
        b.tcp_bind(l, {ip::address_v4::any(), 5001});
        b.tcp_listen(l, 4);
        ca = a.tcp_open().value();
        a.tcp_connect(ca, {ip::address{ip::address_v4{10, 0, 0, 2}}, 5001}, wire.now());
        settle();
        cb = b.tcp_accept(l, wire.now()).value();
    }

    /// The link settled, and no frame left held back by an injector (a held frame leaves
    /// behind the next one, or here; what it releases may be held in turn, so a few passes).
    void settle() {
        wire.settle();
        for (int i = 0; i < 64 && holding(); ++i) {
            if (inject_a) inject_a->flush(wire.now());
            if (inject_b) inject_b->flush(wire.now());
            wire.settle();
        }
    }
    bool holding() const { return (inject_a && inject_a->holding()) || (inject_b && inject_b->holding()); }

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
        settle();
        for (auto [s, h] : {std::pair{&a, ca}, std::pair{&b, cb}}) {
            while (true) {
                auto n = s->tcp_receive(h, sink, wire.now());
                if (!n || *n == 0) break;
                received += *n;
            }
        }
        settle();
        wire.advance_to(wire.now() + 1ms);
        settle();
    }

    std::uint64_t in_segs() const { return a.stats().tcp.in_segs + b.stats().tcp.in_segs; }

    link::memory_link wire;
    std::unique_ptr<link::fault_injector> inject_a, inject_b;
    tapstack::stack a, b;
    socket_handle ca, cb;
    std::array<std::byte, 16384> chunk{};
    std::array<std::byte, 65536> sink{};
    std::uint64_t sent = 0, received = 0;
};

/// The connection is up and the warm-up (rings allocated on first use, tables and scratch at
/// their working size, ARP resolved) has moved data both ways.
void warm_up(duplex_bulk& d, int rounds = 20) {
    ASSERT_TRUE(d.a.tcp_info(d.ca).has_value());
    ASSERT_EQ(d.a.tcp_info(d.ca)->state, tcp::state::established);
    for (int i = 0; i < rounds; ++i) d.round();
    ASSERT_GT(d.received, 0u);
}

TEST(NoAllocation, TcpBulkInBothDirectionsAllocatesNothingPerPacket) {
    duplex_bulk d;
    warm_up(d);

    const auto segs_before = d.in_segs();
    const auto received_before = d.received;
    const auto allocations = allocations_during([&] {
        for (int i = 0; i < 200; ++i) d.round();
    });
    const auto segs = d.in_segs() - segs_before;

    // Both directions carried data in the measured rounds: several MiB, thousands of segments.
    EXPECT_GT(d.received - received_before, 4u << 20);
    EXPECT_GT(segs, 2000u);
    EXPECT_GT(d.a.stats().tcp.in_segs, 1000u);
    EXPECT_GT(d.b.stats().tcp.in_segs, 1000u);
    EXPECT_EQ(d.wire.stats().full_drops, 0u);
    EXPECT_EQ(allocations, 0u) << "heap allocations during " << segs << " segments";
}

// (a) Checksum offload: every TCP segment leaves with only its pseudo-header sum, crosses the
// memory link partial (memory_link::queue::send_offloaded keeps it) and is delivered through
// receive(frame, now, rx_offload{needs_csum}), the peer trusting it unverified.
TEST(NoAllocation, TcpBulkWithChecksumOffloadAllocatesNothingPerPacket) {
    bulk_options o;
    o.link_checksum_offload = true;
    o.tx_checksum_offload = true;
    duplex_bulk d{o};
    warm_up(d);

    const auto segs_before = d.in_segs();
    const auto received_before = d.received;
    const auto partial_before = d.wire.stats().partial_checksum_frames;
    const auto trusted_before = d.a.stats().link.in_checksum_offloaded + d.b.stats().link.in_checksum_offloaded;
    const auto allocations = allocations_during([&] {
        for (int i = 0; i < 200; ++i) d.round();
    });
    const auto segs = d.in_segs() - segs_before;
    const auto partial = d.wire.stats().partial_checksum_frames - partial_before;
    const auto trusted =
        d.a.stats().link.in_checksum_offloaded + d.b.stats().link.in_checksum_offloaded - trusted_before;

    EXPECT_GT(d.received - received_before, 4u << 20);
    EXPECT_GT(segs, 2000u);
    // The offload path really carried them: every TCP frame went partial and was trusted.
    EXPECT_EQ(partial, segs);
    EXPECT_EQ(trusted, segs);
    EXPECT_EQ(d.a.stats().tcp.in_errs + d.b.stats().tcp.in_errs, 0u);
    EXPECT_EQ(d.wire.stats().full_drops, 0u);
    EXPECT_EQ(allocations, 0u) << "heap allocations during " << segs << " checksum-offloaded segments";
}

// (b) TSO: new data leaves as super-segments of up to 64 KiB (tcp.gso_max_bytes), which the
// memory link, unable to pass the work on, cuts in software (frame_sink's default
// send_offloaded, segment_in_software: its buffer grows once, during the warm-up).
TEST(NoAllocation, TcpBulkWithTsoSuperSegmentsAllocatesNothingPerPacket) {
    bulk_options o;
    o.gso_max_bytes = link::max_gso_payload;
    o.buffer_size = 256 * 1024;  // room for several full super-segments in flight
    duplex_bulk d{o};
    warm_up(d);

    const auto segs_before = d.in_segs();
    const auto received_before = d.received;
    const auto gso_before = d.a.stats().link.out_gso_frames + d.b.stats().link.out_gso_frames;
    const auto allocations = allocations_during([&] {
        for (int i = 0; i < 200; ++i) d.round();
    });
    const auto segs = d.in_segs() - segs_before;
    const auto gso = d.a.stats().link.out_gso_frames + d.b.stats().link.out_gso_frames - gso_before;

    EXPECT_GT(d.received - received_before, 4u << 20);
    EXPECT_GT(segs, 2000u);
    EXPECT_GT(d.a.stats().link.out_gso_frames, 0u);
    EXPECT_GT(d.b.stats().link.out_gso_frames, 0u);
    EXPECT_GT(gso, 200u) << "super-segments in the measured rounds";
    EXPECT_EQ(d.wire.stats().full_drops, 0u);
    EXPECT_EQ(d.wire.stats().oversize_drops, 0u) << "super-segments are cut before the link's rings";
    EXPECT_EQ(allocations, 0u) << "heap allocations during " << segs << " segments from " << gso << " super-segments";
}

// (d) Out-of-order receive: a seeded injector holds frames back behind the next one, so each
// receiver keeps holes in its out-of-order range set (fixed capacity, tcp/range_set.hpp) and
// fills them, SACK blocks go back, and duplicate ACKs may trigger fast retransmit. Nothing of
// that may allocate once warmed up.
TEST(NoAllocation, OutOfOrderReceiveThroughAReorderingInjectorAllocatesNothingPerSegment) {
    bulk_options o;
    link::fault_config f;
    f.reorder = 0.05;
    f.seed = 7;
    o.faults = f;
    duplex_bulk d{o};
    warm_up(d, 40);

    const auto segs_before = d.in_segs();
    const auto received_before = d.received;
    const auto ooo_before = d.a.stats().tcp.out_of_order_segs + d.b.stats().tcp.out_of_order_segs;
    const auto held_before = d.inject_a->stats().reordered + d.inject_b->stats().reordered;
    const auto allocations = allocations_during([&] {
        for (int i = 0; i < 200; ++i) d.round();
    });
    const auto segs = d.in_segs() - segs_before;
    const auto ooo = d.a.stats().tcp.out_of_order_segs + d.b.stats().tcp.out_of_order_segs - ooo_before;
    const auto held = d.inject_a->stats().reordered + d.inject_b->stats().reordered - held_before;

    EXPECT_GT(d.received - received_before, 1u << 20);
    EXPECT_GT(held, 100u) << "frames the injectors held back in the measured rounds";
    EXPECT_GT(ooo, 100u) << "segments the receivers took out of order in the measured rounds";
    EXPECT_GT(d.a.stats().tcp.out_of_order_segs, 0u);
    EXPECT_GT(d.b.stats().tcp.out_of_order_segs, 0u);
    EXPECT_EQ(d.wire.stats().full_drops, 0u);
    EXPECT_EQ(allocations, 0u) << "heap allocations during " << segs << " segments, " << ooo << " out of order";
}

// (d') The same with loss and duplicates as well: several holes at once, SACK recovery and
// retransmissions, duplicate segments. Loss makes the run's shape less regular (a recovery may
// first reach a size in the measured window), so this one also asserts that allocations do not
// scale with traffic: after the warm-up, N rounds and the 4N rounds after them allocate the same
// (and, today, nothing at all).
TEST(NoAllocation, LossyReorderingLinkAllocationsDoNotScaleWithSegments) {
    bulk_options o;
    link::fault_config f;
    f.reorder = 0.03;
    f.drop = 0.01;
    f.duplicate = 0.01;
    f.seed = 11;
    o.faults = f;
    duplex_bulk d{o};
    warm_up(d, 100);

    const auto segs_0 = d.in_segs();
    const auto retrans_0 = d.a.stats().tcp.retrans_segs + d.b.stats().tcp.retrans_segs;
    const auto n_allocations = allocations_during([&] {
        for (int i = 0; i < 250; ++i) d.round();
    });
    const auto segs_1 = d.in_segs();
    const auto four_n_allocations = allocations_during([&] {
        for (int i = 0; i < 1000; ++i) d.round();
    });
    const auto segs_n = segs_1 - segs_0;
    const auto segs_4n = d.in_segs() - segs_1;
    const auto retrans = d.a.stats().tcp.retrans_segs + d.b.stats().tcp.retrans_segs - retrans_0;

    EXPECT_GT(segs_n, 1000u);
    EXPECT_GT(segs_4n, 2 * segs_n) << "the second window carried several times the traffic";
    EXPECT_GT(retrans, 20u) << "losses were recovered in the measured rounds";
    EXPECT_GT(d.a.stats().tcp.out_of_order_segs + d.b.stats().tcp.out_of_order_segs, 100u);
    EXPECT_EQ(d.a.tcp_info(d.ca)->state, tcp::state::established);
    EXPECT_EQ(d.b.tcp_info(d.cb)->state, tcp::state::established);
    EXPECT_EQ(four_n_allocations, n_allocations) << segs_n << " segments allocated " << n_allocations << " times, "
                                                 << segs_4n << " segments " << four_n_allocations;
    EXPECT_EQ(four_n_allocations, 0u) << "heap allocations during " << segs_4n << " segments with loss and reordering";
}

// (c) UDP echo in steady state: A sends bursts of datagrams of many sizes to B's echo port, B
// reads each and sends it back, A reads the echoes. Receive queues are sized at bind, ARP is
// resolved in the warm-up.
struct udp_echo {
    udp_echo()
        : wire{[] {
              link::memory_link_config wc;
              wc.queue_frames = 1024;
              return wc;
          }()},
          a{config_for(1), wire.side_a()},
          b{config_for(2), wire.side_b()} {
        wire.attach(a, b);
        client = a.udp_open().value();
        EXPECT_EQ(a.udp_bind(client, {ip::address_v4::any(), 40000}), errc::success);
        server = b.udp_open().value();
        EXPECT_EQ(b.udp_bind(server, {ip::address_v4::any(), 7}), errc::success);
    }

    /// `burst` datagrams there and back; sizes walk 1..1472 (the largest unfragmented one),
    /// each filled with its own byte so an echo can be checked.
    void round(std::size_t burst) {
        const ip::endpoint to{ip::address{ip::address_v4{10, 0, 0, 2}}, 7};
        for (std::size_t i = 0; i < burst; ++i, ++next) {
            const std::size_t size = 1 + (next * 97) % 1472;
            out.fill(std::byte(static_cast<std::uint8_t>(next)));
            if (a.udp_send_to(client, bytes{out.data(), size}, to, wire.now())) ++sent;
        }
        wire.settle();
        while (true) {
            auto got = b.udp_receive_from(server, buf);
            if (!got) break;
            if (b.udp_send_to(server, bytes{buf.data(), got->size}, got->from, wire.now())) ++echoed;
        }
        wire.settle();
        while (true) {
            auto got = a.udp_receive_from(client, buf);
            if (!got) break;
            ++returned;
            const std::size_t expect_size = 1 + (checked * 97) % 1472;
            if (got->size != expect_size || buf[0] != std::byte(static_cast<std::uint8_t>(checked)) ||
                buf[got->size - 1] != buf[0])
                ++mismatches;
            ++checked;
        }
        wire.advance_to(wire.now() + 1ms);
        wire.settle();
    }

    link::memory_link wire;
    tapstack::stack a, b;
    socket_handle client, server;
    std::array<std::byte, 1472> out{};
    std::array<std::byte, 2048> buf{};
    std::uint64_t next = 0, checked = 0, sent = 0, echoed = 0, returned = 0, mismatches = 0;
};

TEST(NoAllocation, UdpEchoInSteadyStateAllocatesNothingPerDatagram) {
    udp_echo e;
    e.round(1);  // ARP first: no burst waits on a resolution (at most 8 frames may)
    for (int i = 0; i < 10; ++i) e.round(64);  // warm-up: queues, rings, tables
    ASSERT_EQ(e.returned, 641u);

    const auto before = e.returned;
    const auto datagrams_before = e.a.stats().udp.in_datagrams + e.b.stats().udp.in_datagrams;
    const auto allocations = allocations_during([&] {
        for (int i = 0; i < 200; ++i) e.round(64);
    });
    const auto datagrams = e.a.stats().udp.in_datagrams + e.b.stats().udp.in_datagrams - datagrams_before;

    EXPECT_EQ(e.returned - before, 200u * 64) << "every datagram came back";
    EXPECT_EQ(datagrams, 2u * 200 * 64);
    EXPECT_EQ(e.mismatches, 0u);
    EXPECT_EQ(e.wire.stats().full_drops, 0u);
    EXPECT_EQ(allocations, 0u) << "heap allocations during " << datagrams << " UDP datagrams";
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
