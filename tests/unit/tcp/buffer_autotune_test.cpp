// Issue 14: buffers that follow demand, per-socket sizes, and the gather write. Two stacks on the
// in-memory link: a busy connection's rings grow (doubling, keeping their bytes) while idle ones
// stay small; a socket whose size the application set keeps that size (no autotuning); a write
// of several pieces enters the stack in one call and leaves as one segment, Nagle on.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/stack.hpp>
#include <tapstack/tcp/ring_buffer.hpp>
#include <tapstack/wire/ethernet.hpp>
#include <tapstack/wire/ipv4.hpp>
#include <tapstack/wire/tcp.hpp>

namespace {

using namespace tapstack;
using namespace std::chrono_literals;

stack_config config_for(std::uint8_t host) {
    stack_config c;
    c.mac = link::mac_address{{0x02, 0, 0, 0, 0, host}};
    c.ipv4 = ip::interface_address{ip::address_v4{10, 0, 0, host}, 24};
    c.seed = host;
    c.max_tcp_sockets = 32;
    return c;
}

/// Counts the data segments a -> b and remembers their payload sizes.
struct data_watch final : link::frame_sink {
    void send_frame(bytes frame, instant) override {
        auto eth = wire::ethernet_view::parse(frame);
        if (!eth || eth->type() != static_cast<std::uint16_t>(wire::ether_type::ipv4)) return;
        auto ip4 = wire::ipv4_view::parse(eth->payload());
        if (!ip4 || ip4->source() != ip::address_v4{10, 0, 0, 1}) return;
        auto view = wire::tcp_view::parse_unchecked(ip4->payload());
        if (!view) return;
        auto seg = view->decode();
        if (seg && !seg->payload.empty()) sizes.push_back(seg->payload.size());
    }
    std::vector<std::size_t> sizes;
};

struct two_stacks {
    two_stacks() : a{config_for(1), wire.side_a()}, b{config_for(2), wire.side_b()} {
        wire.attach(a, b);
        wire.set_observer(&watch);
        listener = b.tcp_open().value();
        b.tcp_bind(listener, {ip::address_v4::any(), 80});
        b.tcp_listen(listener, 16);
    }
    /// A connection a -> b, established: {client, server}.
    std::pair<socket_handle, socket_handle> connect(socket_handle client = {}) {
        if (!client.valid()) client = a.tcp_open().value();
        EXPECT_EQ(a.tcp_connect(client, {ip::address{ip::address_v4{10, 0, 0, 2}}, 80}, wire.now()), errc::success);
        wire.settle();
        auto server = b.tcp_accept(listener, wire.now());
        EXPECT_TRUE(server.has_value());
        return {client, server ? *server : socket_handle{}};
    }
    link::memory_link wire{[] {
        link::memory_link_config c;
        c.queue_frames = 4096;
        return c;
    }()};
    data_watch watch;
    tapstack::stack a, b;
    socket_handle listener;
};

TEST(BufferAutotune, RingGrowKeepsItsBytesAndParkedOnes) {
    tcp::ring_buffer r;
    r.reset(8);
    const std::array<std::byte, 6> six{std::byte{1}, std::byte{2}, std::byte{3},
                                       std::byte{4}, std::byte{5}, std::byte{6}};
    r.write(six);
    std::array<std::byte, 4> out{};
    r.read(out);  // head at 4: the next write wraps
    r.write(six);  // contents 5 6 1 2 3 4 5 6, wrapped
    r.resize(32);
    EXPECT_EQ(r.capacity(), 32u);
    EXPECT_EQ(r.size(), 8u);
    const std::array<std::byte, 2> parked{std::byte{9}, std::byte{10}};
    r.write_at(12, parked);  // out of order, past the end
    r.resize(64);
    std::array<std::byte, 8> all{};
    r.copy_out(0, all);
    const std::array<std::byte, 8> want{std::byte{5}, std::byte{6}, std::byte{1}, std::byte{2},
                                        std::byte{3}, std::byte{4}, std::byte{5}, std::byte{6}};
    EXPECT_EQ(all, want);
    std::array<std::byte, 2> p{};
    r.copy_out(12, p);
    EXPECT_EQ(p, parked);
}

TEST(BufferAutotune, BusyConnectionGrowsItsRingsIdleOnesStaySmall) {
    two_stacks t;
    const auto& tcfg = t.a.config().tcp;
    auto [busy_c, busy_s] = t.connect();
    std::vector<std::pair<socket_handle, socket_handle>> idle;
    for (int i = 0; i < 4; ++i) idle.push_back(t.connect());
    // The idle ones exchange one short request and answer.
    const std::array<std::byte, 100> small{};
    std::array<std::byte, 65536> sink{};
    for (auto [c, s] : idle) {
        EXPECT_EQ(t.a.tcp_send(c, small, t.wire.now()).value(), small.size());
        t.wire.settle();
        EXPECT_EQ(t.b.tcp_receive(s, sink, t.wire.now()).value(), small.size());
        EXPECT_EQ(t.b.tcp_send(s, small, t.wire.now()).value(), small.size());
        t.wire.settle();
        EXPECT_EQ(t.a.tcp_receive(c, sink, t.wire.now()).value(), small.size());
    }
    // The busy one moves 8 MiB; the receiving application reads once per millisecond, so
    // data waits in the receive ring.
    std::vector<std::byte> chunk(64 * 1024, std::byte{0x77});
    std::size_t sent = 0, received = 0;
    std::size_t send_peak = 0, receive_peak = 0;
    const std::size_t total = 8u << 20;
    for (int round = 0; round < 20000 && received < total; ++round) {
        while (sent < total) {
            auto r = t.a.tcp_send(busy_c, bytes{chunk}.first(std::min(chunk.size(), total - sent)), t.wire.now());
            if (!r) break;
            sent += *r;
        }
        t.wire.settle();
        send_peak = std::max(send_peak, t.a.tcp_info(busy_c).value().send_buffer_bytes);
        receive_peak = std::max(receive_peak, t.b.tcp_info(busy_s).value().receive_buffer_bytes);
        while (true) {
            auto r = t.b.tcp_receive(busy_s, sink, t.wire.now());
            if (!r || *r == 0) break;
            received += *r;
        }
        t.wire.advance_to(t.wire.now() + 1ms);
        t.wire.settle();
    }
    ASSERT_EQ(received, total);
    // Busy: both rings grew well past where they started, never past the maximum (plus the
    // receive ring's window-scale round-up slack).
    EXPECT_GT(send_peak, 4 * tcfg.send_buffer_initial);
    EXPECT_GT(receive_peak, 4 * tcfg.receive_buffer_initial);
    EXPECT_LE(send_peak, tcfg.send_buffer_size);
    EXPECT_LE(receive_peak, tcfg.receive_buffer_size + 64u);
    EXPECT_GT(t.a.stats().tcp.buffer_grows, 0u);
    EXPECT_GT(t.b.stats().tcp.buffer_grows, 0u);
    // Idle: at most their first, small, rings.
    for (auto [c, s] : idle) {
        for (const auto& i : {t.a.tcp_info(c).value(), t.b.tcp_info(s).value()}) {
            EXPECT_LE(i.send_buffer_bytes, tcfg.send_buffer_initial);
            EXPECT_LE(i.receive_buffer_bytes, tcfg.receive_buffer_initial);
        }
    }
    // The window offered from the SYN on is the maximum's (fixtures unchanged).
    EXPECT_LE(t.b.stats().tcp.buffer_bytes_peak, t.b.config().tcp.max_buffer_memory);
}

TEST(BufferAutotune, SocketSizeOptionFixesTheSizeAndTurnsOffAutotuning) {
    two_stacks t;
    auto c = t.a.tcp_open().value();
    EXPECT_EQ(t.a.tcp_send_buffer_size(c).value(), t.a.config().tcp.send_buffer_size);
    ASSERT_EQ(t.a.tcp_set_send_buffer_size(c, 16384), errc::success);
    ASSERT_EQ(t.a.tcp_set_receive_buffer_size(c, 16384), errc::success);
    EXPECT_EQ(t.a.tcp_set_send_buffer_size(c, 0), errc::invalid_argument);
    EXPECT_EQ(t.a.tcp_send_buffer_size(c).value(), 16384u);
    EXPECT_EQ(t.a.tcp_receive_buffer_size(c).value(), 16384u);
    auto [client, server] = t.connect(c);
    (void)server;
    EXPECT_EQ(t.a.tcp_send_buffer_size(client).value(), 16384u);
    // One small send allocates the whole fixed ring, and a large one never grows it.
    const std::array<std::byte, 10> tiny{};
    EXPECT_EQ(t.a.tcp_send(client, tiny, t.wire.now()).value(), tiny.size());
    EXPECT_EQ(t.a.tcp_info(client).value().send_buffer_bytes, 16384u);
    std::vector<std::byte> big(1 << 20);
    const auto taken = t.a.tcp_send(client, big, t.wire.now()).value();
    EXPECT_EQ(taken, 16384u - tiny.size());
    EXPECT_EQ(t.a.tcp_info(client).value().send_buffer_bytes, 16384u);
    EXPECT_EQ(t.a.stats().tcp.buffer_grows, 0u);
}

TEST(BufferAutotune, GatherWriteLeavesAsOneSegmentNagleOn) {
    two_stacks t;
    auto [c, s] = t.connect();
    // Something is in flight and unacknowledged, so Nagle would hold a second small write.
    const std::string header = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n";
    const std::string body = "Hello, world!";
    const bytes pieces[2] = {bytes{reinterpret_cast<const std::byte*>(header.data()), header.size()},
                             bytes{reinterpret_cast<const std::byte*>(body.data()), body.size()}};
    t.watch.sizes.clear();
    auto r = t.a.tcp_send(c, std::span<const bytes>{pieces}, t.wire.now());
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, header.size() + body.size());
    t.wire.pump(t.wire.now());  // what left at once, before any ACK came back
    ASSERT_EQ(t.watch.sizes.size(), 1u);
    EXPECT_EQ(t.watch.sizes[0], header.size() + body.size());
    // The same pieces written one call each: the second waits for the first one's ACK (the
    // stall the gather send removes).
    t.wire.settle();
    std::array<std::byte, 256> sink{};
    EXPECT_EQ(t.b.tcp_receive(s, sink, t.wire.now()).value(), header.size() + body.size());
    t.wire.run_for(200ms);  // the delayed ACK, if any, has gone
    t.watch.sizes.clear();
    EXPECT_TRUE(t.a.tcp_send(c, pieces[0], t.wire.now()));
    EXPECT_TRUE(t.a.tcp_send(c, pieces[1], t.wire.now()));
    t.wire.pump(t.wire.now());
    EXPECT_EQ(t.watch.sizes.size(), 1u);
    EXPECT_EQ(t.watch.sizes.front(), header.size());
}

}  // namespace
