// Issue 14: memory pressure slows down, never breaks. Two stacks on the in-memory link: the
// server's buffer budget (tcp.max_buffer_memory) is worth a few busy connections, and many
// clients send to it at once while it sends to each of them. Every byte arrives byte for byte,
// no connection is reset or closed for memory, a send that meets the budget waits (would_block,
// then writable once memory is freed anywhere), the budget is never exceeded (its peak is
// measured), and the receive window's right edge never moves left (RFC 9293 §3.8.6, RFC 7323
// §2.4) while the window closes for new data.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/stack.hpp>
#include <tapstack/wire/ethernet.hpp>
#include <tapstack/wire/ipv4.hpp>
#include <tapstack/wire/tcp.hpp>

namespace {

using namespace tapstack;
using namespace std::chrono_literals;

constexpr std::uint32_t max_buffer = 64 * 1024;
constexpr std::uint64_t budget = 3 * max_buffer;  // a few busy connections' worth
constexpr std::size_t clients = 12;
constexpr std::size_t upload = 160 * 1024;  // client -> server, per connection
constexpr std::size_t download = 96 * 1024;  // server -> client, per connection

stack_config config_for(std::uint8_t host, std::uint64_t memory) {
    stack_config c;
    c.mac = link::mac_address{{0x02, 0, 0, 0, 0, host}};
    c.ipv4 = ip::interface_address{ip::address_v4{10, 0, 0, host}, 24};
    c.seed = host;
    c.max_tcp_sockets = 64;
    c.tcp.send_buffer_size = max_buffer;
    c.tcp.receive_buffer_size = max_buffer;
    c.tcp.max_buffer_memory = memory;
    return c;
}

/// The byte at `offset` of connection `i`'s stream in direction `dir`: each stream differs.
std::byte pattern(std::size_t i, int dir, std::size_t offset) {
    return static_cast<std::byte>((offset * 131 + i * 17 + static_cast<std::size_t>(dir) * 7 + offset / 251) & 0xff);
}

/// Remembers writable events, as an Asio socket waiting on would_block does.
struct waiter final : socket_waiter {
    void on_socket_event(socket_handle, std::uint8_t events) override {
        if (events & socket_event::writable) writable = true;
    }
    bool writable = true;
};

/// Checks every segment the server sends: its advertised right edge (SEG.ACK + SEG.WND scaled)
/// never moves left of the one it advertised before on that connection.
struct edge_watch final : link::frame_sink {
    void send_frame(bytes frame, instant) override {
        auto eth = wire::ethernet_view::parse(frame);
        if (!eth || eth->type() != static_cast<std::uint16_t>(wire::ether_type::ipv4)) return;
        auto ip4 = wire::ipv4_view::parse(eth->payload());
        if (!ip4 || ip4->source() != server_address) return;
        auto view = wire::tcp_view::parse_unchecked(ip4->payload());
        if (!view) return;
        auto seg = view->decode();
        if (!seg || seg->flags.rst || !seg->flags.ack) return;
        auto& c = conns[seg->destination_port];
        if (seg->flags.syn) {  // SYN-ACK: its window is never scaled (RFC 7323 §2.2)
            c.shift = seg->options.window_scale.value_or(0);
            c.edge = seg->ack + seg->window;
            c.known = true;
            return;
        }
        if (!c.known) return;
        ++segments;
        const tcp::seq_number edge = seg->ack + (std::uint32_t{seg->window} << c.shift);
        if (edge < c.edge) ++shrinks;
        if (seg->window == 0) ++zero_windows;
        c.edge = tcp::seq_max(c.edge, edge);
    }
    struct conn {
        std::uint8_t shift = 0;
        tcp::seq_number edge;
        bool known = false;
    };
    ip::address_v4 server_address{10, 0, 0, 2};
    std::map<std::uint16_t, conn> conns;
    std::uint64_t segments = 0, shrinks = 0, zero_windows = 0;
};

/// `clients` connections from a (plenty of memory) to b (the budget), both ways at once.
struct pressure_run {
    explicit pressure_run(std::uint64_t server_budget = budget)
        : a{config_for(1, 64ull << 20), wire.side_a()}, b{config_for(2, server_budget), wire.side_b()} {
        wire.attach(a, b);
        wire.set_observer(&edges);
        auto l = b.tcp_open().value();
        EXPECT_EQ(b.tcp_bind(l, {ip::address_v4::any(), 7}), errc::success);
        EXPECT_EQ(b.tcp_listen(l, 64), errc::success);
        for (std::size_t i = 0; i < clients; ++i) {
            auto h = a.tcp_open().value();
            EXPECT_EQ(a.tcp_connect(h, {ip::address{ip::address_v4{10, 0, 0, 2}}, 7}, wire.now()), errc::success);
            ends.push_back({});
            ends.back().client = h;
        }
        wire.run_for(3s);  // SYNs beyond the ARP queue's few are retransmitted
        for (std::size_t i = 0; i < clients; ++i) {
            auto r = b.tcp_accept(l, wire.now());
            EXPECT_TRUE(r.has_value());
            if (!r) continue;
            // Accepted in the order the handshakes completed: match by the client's port.
            const auto remote = b.tcp_info(*r).value().remote;
            for (auto& e : ends)
                if (a.tcp_info(e.client).value().local.port == remote.port) {
                    e.server = *r;
                    e.server_waiter = std::make_unique<waiter>();
                    b.set_waiter(*r, e.server_waiter.get());
                }
        }
    }

    struct end_pair {
        socket_handle client, server;
        std::unique_ptr<waiter> server_waiter;
        std::size_t up_sent = 0, up_received = 0, down_sent = 0, down_received = 0;
        bool up_ok = true, down_ok = true;
    };

    bool done() const {
        return std::all_of(ends.begin(), ends.end(),
                           [](const end_pair& e) { return e.up_received == upload && e.down_received == download; });
    }

    /// Writes and reads what each side can; true when anything moved.
    bool step() {
        bool moved = false;
        const instant now = wire.now();
        std::array<std::byte, 8192> buf{};
        for (std::size_t i = 0; i < ends.size(); ++i) {
            auto& e = ends[i];
            // Client uploads.
            while (e.up_sent < upload) {
                const std::size_t n = std::min(buf.size(), upload - e.up_sent);
                for (std::size_t k = 0; k < n; ++k) buf[k] = pattern(i, 0, e.up_sent + k);
                auto r = a.tcp_send(e.client, bytes{buf.data(), n}, now);
                if (!r) {
                    EXPECT_EQ(r.error(), errc::would_block);
                    break;
                }
                e.up_sent += *r;
                moved = true;
            }
            // Server downloads, but only when told it may (as an Asio write waits).
            while (e.down_sent < download && e.server_waiter->writable) {
                const std::size_t n = std::min(buf.size(), download - e.down_sent);
                for (std::size_t k = 0; k < n; ++k) buf[k] = pattern(i, 1, e.down_sent + k);
                auto r = b.tcp_send(e.server, bytes{buf.data(), n}, now);
                if (!r) {
                    EXPECT_EQ(r.error(), errc::would_block) << "a send must wait, never fail, for memory";
                    if (r.error() != errc::would_block) return false;
                    e.server_waiter->writable = false;
                    ++server_waits;
                    break;
                }
                e.down_sent += *r;
                moved = true;
            }
            // Both read everything there is.
            for (auto [s, h, dir] : {std::tuple{&b, e.server, 0}, std::tuple{&a, e.client, 1}}) {
                while (true) {
                    auto r = s->tcp_receive(h, buf, now);
                    if (!r || *r == 0) break;
                    auto& got = dir == 0 ? e.up_received : e.down_received;
                    auto& ok = dir == 0 ? e.up_ok : e.down_ok;
                    for (std::size_t k = 0; k < *r; ++k)
                        if (buf[k] != pattern(i, dir, got + k)) ok = false;
                    got += *r;
                    moved = true;
                }
            }
            peak_seen = std::max(peak_seen, b.stats().tcp.buffer_bytes_in_use);
        }
        return moved;
    }

    void run(duration limit = 600s) {
        const instant end = wire.now() + limit;
        while (!done() && wire.now() < end) {
            const bool moved = step();
            wire.settle();
            peak_seen = std::max(peak_seen, b.stats().tcp.buffer_bytes_in_use);
            if (moved) {
                wire.advance_to(wire.now() + 1ms);
            } else {
                const auto next = wire.next_deadline();
                wire.advance_to(next && *next > wire.now() ? *next : wire.now() + 1ms);
            }
            wire.settle();
        }
    }

    link::memory_link wire{[] {
        link::memory_link_config c;
        c.queue_frames = 4096;
        return c;
    }()};
    edge_watch edges;
    tapstack::stack a, b;
    std::vector<end_pair> ends;
    std::uint64_t peak_seen = 0;
    std::uint64_t server_waits = 0;
};

TEST(MemoryPressure, ManySendersWithinAFewConnectionsBudgetLoseNothing) {
    pressure_run p;
    ASSERT_EQ(p.ends.size(), clients);
    p.run();
    for (std::size_t i = 0; i < p.ends.size(); ++i) {
        const auto& e = p.ends[i];
        EXPECT_EQ(e.up_received, upload) << "connection " << i;
        EXPECT_EQ(e.down_received, download) << "connection " << i;
        EXPECT_TRUE(e.up_ok) << "connection " << i << ": upload bytes differ";
        EXPECT_TRUE(e.down_ok) << "connection " << i << ": download bytes differ";
        EXPECT_EQ(p.b.tcp_error(e.server), errc::success);
        EXPECT_EQ(p.a.tcp_error(e.client), errc::success);
        EXPECT_EQ(p.b.tcp_info(e.server).value().state, tcp::state::established);
    }
    const auto& t = p.b.stats().tcp;
    // Nothing reset, nothing closed.
    EXPECT_EQ(t.out_rsts, 0u);
    EXPECT_EQ(p.a.stats().tcp.out_rsts, 0u);
    EXPECT_EQ(t.estab_resets, 0u);
    EXPECT_EQ(p.a.stats().tcp.estab_resets, 0u);
    // The budget held, and the run really pressed against it.
    EXPECT_LE(t.buffer_bytes_peak, budget);
    EXPECT_LE(p.peak_seen, budget);
    EXPECT_GE(t.buffer_bytes_peak, p.peak_seen);
    EXPECT_GT(t.buffer_bytes_peak, budget * 3 / 4);
    EXPECT_GT(t.buffer_memory_waits, 0u) << "no send met the budget: the test did not press";
    EXPECT_GT(p.server_waits, 0u);
    // Autotuned rings: a dozen connections both ways in the space of three.
    EXPECT_GT(t.buffer_grows, 0u);
}

TEST(MemoryPressure, ReceiveWindowEdgeNeverMovesLeftUnderPressure) {
    pressure_run p;
    p.run();
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.edges.conns.size(), clients);
    EXPECT_GT(p.edges.segments, 1000u);
    EXPECT_EQ(p.edges.shrinks, 0u) << "an advertised right edge moved left";
    // The window did close for new data at times (the budget was used up), without shrinking.
    EXPECT_GT(p.edges.zero_windows + p.b.stats().tcp.buffer_memory_drops, 0u);
}

TEST(MemoryPressure, SendAtTheBudgetWaitsAndIsWokenWhenMemoryIsFreed) {
    // A budget with room for one initial send ring only.
    auto cfg_b = config_for(2, 4096);
    cfg_b.tcp.send_buffer_initial = 4096;
    cfg_b.tcp.receive_buffer_initial = 4096;
    link::memory_link wire;
    tapstack::stack a{config_for(1, 64ull << 20), wire.side_a()}, b{cfg_b, wire.side_b()};
    wire.attach(a, b);
    auto l = b.tcp_open().value();
    b.tcp_bind(l, {ip::address_v4::any(), 7});
    b.tcp_listen(l, 4);
    auto c1 = a.tcp_open().value(), c2 = a.tcp_open().value();
    a.tcp_connect(c1, {ip::address{ip::address_v4{10, 0, 0, 2}}, 7}, wire.now());
    a.tcp_connect(c2, {ip::address{ip::address_v4{10, 0, 0, 2}}, 7}, wire.now());
    wire.settle();
    auto s1 = b.tcp_accept(l, wire.now()).value(), s2 = b.tcp_accept(l, wire.now()).value();
    waiter w2;
    b.set_waiter(s2, &w2);
    const std::array<std::byte, 100> msg{};
    EXPECT_EQ(b.tcp_send(s1, msg, wire.now()).value(), msg.size());
    auto r = b.tcp_send(s2, msg, wire.now());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::would_block);  // not no_buffer_space: it waits
    EXPECT_EQ(b.stats().tcp.buffer_memory_waits, 1u);
    w2.writable = false;
    wire.run_for(200ms);  // s1's bytes are acknowledged (a delayed ACK): its drained ring goes back
    EXPECT_LE(b.stats().tcp.buffer_bytes_peak, 4096u);
    EXPECT_TRUE(w2.writable) << "the waiting socket was not woken when memory was freed";
    EXPECT_EQ(b.tcp_send(s2, msg, wire.now()).value(), msg.size());
    wire.settle();
    std::array<std::byte, 256> in{};
    EXPECT_EQ(a.tcp_receive(c1, in, wire.now()).value(), msg.size());
    EXPECT_EQ(a.tcp_receive(c2, in, wire.now()).value(), msg.size());
    EXPECT_EQ(b.tcp_info(s1).value().state, tcp::state::established);
    EXPECT_EQ(b.tcp_info(s2).value().state, tcp::state::established);
}

}  // namespace
