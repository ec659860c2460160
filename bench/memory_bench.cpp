// In-memory benchmarks: two stacks joined by link::memory_link on a virtual clock, one thread,
// no system calls on the packet path. Prints one line per measurement (and JSON with --json).
//
//   memory_bench bulk [MiB]        one-way TCP bulk transfer at MTU 1500: Gbit/s, segments/s
//   memory_bench connections [N]   sequential open + orderly close pairs per second
//   memory_bench idle [N]          N established connections: bytes per idle connection
//   memory_bench demux             time per small segment as the table grows 100 -> 100,000
//   memory_bench all               everything with defaults
//
// Times are wall-clock (steady_clock) medians of repeated runs where a run is short; under
// `valgrind --tool=callgrind` use `bulk 16` and divide Ir by the printed segment count.
#include <tapstack/tap/allocator_tuning.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>
#include <tapstack/base/random.hpp>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/stack.hpp>

using namespace tapstack;
using namespace std::chrono_literals;
using wall = std::chrono::steady_clock;

namespace {

bool json_output = false;

void report(const char* name, const char* unit, double value, const char* extra = "") {
    if (json_output)
        std::printf("{\"bench\":\"%s\",\"unit\":\"%s\",\"value\":%.6g%s%s}\n", name, unit, value, *extra ? "," : "", extra);
    else
        std::printf("%-34s %14.3f %s\n", name, value, unit);
    std::fflush(stdout);
}

stack_config config_for(std::uint8_t host, std::uint32_t max_sockets = 4096) {
    stack_config c;
    c.mac = link::mac_address{{0x02, 0, 0, 0, 0, host}};
    c.ipv4 = ip::interface_address{ip::address_v4{10, 0, 0, host}, 24};
    c.seed = host;
    c.max_tcp_sockets = max_sockets;
    c.max_syn_backlog = max_sockets;
    return c;
}

/// Two stacks on a memory link, with a listener on the server.
struct pair {
    explicit pair(std::uint32_t max_sockets = 4096, std::size_t queue = 4096, tcp::config tcp_cfg = {})
        : wire{[&] {
              link::memory_link_config wc;
              wc.queue_frames = queue;
              return wc;
          }()},
          client{with_tcp(config_for(1, max_sockets), tcp_cfg), wire.side_a()},
          server{with_tcp(config_for(2, max_sockets + 17), tcp_cfg), wire.side_b()} {  // + the listeners
        wire.attach(client, server);
        // Sixteen listening ports: one client address reaches 16,384 ephemeral ports per server
        // port, and the scale benchmarks go past 100,000 connections.
        for (std::uint16_t i = 0; i < listeners.size(); ++i) {
            listeners[i] = server.tcp_open().value();
            server.tcp_bind(listeners[i], {ip::address_v4::any(), static_cast<std::uint16_t>(9 + i)});
            server.tcp_listen(listeners[i], max_sockets);
        }
        listener = listeners[0];
        // Resolve ARP both ways before anything is measured.
        auto warm = client.udp_open().value();
        client.udp_send_to(warm, bytes{}, {ip::address{ip::address_v4{10, 0, 0, 2}}, 4}, wire.now());
        wire.settle();
        client.udp_close(warm);
    }
    ip::endpoint server_port(std::size_t i) const {
        return {ip::address{ip::address_v4{10, 0, 0, 2}}, static_cast<std::uint16_t>(9 + i % listeners.size())};
    }
    static stack_config with_tcp(stack_config c, const tcp::config& t) {
        c.tcp = t;
        return c;
    }
    link::memory_link wire;
    tapstack::stack client, server;
    std::array<socket_handle, 16> listeners;
    socket_handle listener;
    const ip::endpoint server_ep{ip::address{ip::address_v4{10, 0, 0, 2}}, 9};
};

/// Pushes bytes into one socket and drains the other whenever the stack says so.
struct bulk_flow final : socket_waiter {
    bulk_flow(pair& p, std::size_t total) : p_{p}, total_{total} { chunk_.fill(std::byte{0x5a}); }
    void on_socket_event(socket_handle, std::uint8_t) override { pump(); }
    void pump() {
        const instant now = p_.wire.now();
        while (sent_ < total_) {
            auto n = p_.client.tcp_send(tx_, bytes{chunk_.data(), std::min(chunk_.size(), total_ - sent_)}, now);
            if (!n) break;
            sent_ += *n;
        }
        if (sent_ == total_ && !shut_) {
            shut_ = true;
            p_.client.tcp_shutdown_send(tx_, now);
        }
        if (!rx_.valid()) return;
        for (;;) {
            auto n = p_.server.tcp_receive(rx_, sink_, now);
            if (!n || *n == 0) {
                if (n && *n == 0) eof_ = true;
                break;
            }
            received_ += *n;
        }
    }
    pair& p_;
    std::size_t total_, sent_ = 0, received_ = 0;
    bool shut_ = false, eof_ = false;
    socket_handle tx_, rx_;
    std::array<std::byte, 65536> chunk_{};
    std::array<std::byte, 262144> sink_{};
};


/// Accepts the one pending connection on `listener` (run the link until there is one).
socket_handle accept_one(pair& p) {
    socket_handle got;
    p.wire.run_until(
        [&] {
            if (auto a = p.server.tcp_accept(p.listener, p.wire.now())) {
                got = *a;
                return true;
            }
            return false;
        },
        p.wire.now() + 5s);
    return got;
}

void run_bulk(std::size_t mib) {
    tcp::config t;
    t.send_buffer_size = 1u << 20;
    t.receive_buffer_size = 1u << 20;
    pair p{16, 8192, t};
    auto flow = std::make_unique<bulk_flow>(p, mib << 20);
    flow->tx_ = p.client.tcp_open().value();
    p.client.set_waiter(flow->tx_, flow.get());
    p.client.tcp_set_no_delay(flow->tx_, true);
    p.client.tcp_connect(flow->tx_, p.server_ep, p.wire.now());
    flow->rx_ = accept_one(p);
    p.server.set_waiter(flow->rx_, flow.get());
    const auto segs_before = p.server.stats().tcp.in_segs + p.server.stats().tcp.out_segs;
    const auto start = wall::now();
    flow->pump();
    p.wire.run_until([&] { return flow->eof_; }, p.wire.now() + 3600s);
    const double seconds = std::chrono::duration<double>(wall::now() - start).count();
    const auto segs = p.server.stats().tcp.in_segs + p.server.stats().tcp.out_segs - segs_before;
    if (flow->received_ != (mib << 20)) {
        std::fprintf(stderr, "memory_bench: bulk transfer incomplete (%zu of %zu bytes)\n", flow->received_, mib << 20);
        std::exit(1);
    }
    report("bulk_tcp_gbit_per_s", "Gbit/s", static_cast<double>(flow->received_) * 8 / seconds / 1e9);
    report("segments_per_s_through_receiver", "seg/s", static_cast<double>(segs) / seconds);
    char extra[96];
    std::snprintf(extra, sizeof extra, "\"segments\":%llu", static_cast<unsigned long long>(segs));
    report("segments_in_run", "segments", static_cast<double>(segs), extra);
}

void run_connections(std::size_t count) {
    tcp::config t;
    t.msl = 1ms;  // TIME-WAIT would otherwise hold every 4-tuple for a minute of virtual time
    t.send_buffer_size = 16384;
    t.receive_buffer_size = 16384;
    pair p{8192, 4096, t};
    const auto start = wall::now();
    for (std::size_t i = 0; i < count; ++i) {
        auto c = p.client.tcp_open().value();
        p.client.tcp_connect(c, p.server_ep, p.wire.now());
        auto s = accept_one(p);
        p.client.tcp_close(c, p.wire.now());
        p.server.tcp_close(s, p.wire.now());
        p.wire.settle();
        if ((i & 1023) == 1023) p.wire.run_for(5ms);  // let TIME-WAIT expire now and then
    }
    const double seconds = std::chrono::duration<double>(wall::now() - start).count();
    report("connection_open_close_pairs_per_s", "pairs/s", static_cast<double>(count) / seconds);
}

long rss_kib() {
    std::ifstream f{"/proc/self/status"};
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return 0;
}

/// Opens n connections between two stacks; server-side handles are returned.
std::vector<socket_handle> open_many(pair& p, std::size_t n, std::vector<socket_handle>& clients) {
    std::vector<socket_handle> servers;
    servers.reserve(n);
    clients.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto c = p.client.tcp_open().value();
        if (p.client.tcp_connect(c, p.server_port(i), p.wire.now()) != errc::success) break;
        p.client.tcp_set_no_delay(c, true);
        clients.push_back(c);
        p.wire.settle();
        auto a = p.server.tcp_accept(p.listeners[i % p.listeners.size()], p.wire.now());
        if (!a) {
            std::fprintf(stderr, "memory_bench: connection %zu was not accepted\n", i);
            std::exit(1);
        }
        servers.push_back(*a);
    }
    return servers;
}

void run_idle(std::size_t n) {
    const long before = rss_kib();
    {
        pair p{static_cast<std::uint32_t>(n + 16), 1 << 16};
        const long with_stacks = rss_kib();
        std::vector<socket_handle> clients;
        auto servers = open_many(p, n, clients);
        const long after = rss_kib();
        const double per_connection = static_cast<double>(after - with_stacks) * 1024.0 / static_cast<double>(2 * servers.size());
        char extra[128];
        std::snprintf(extra, sizeof extra, "\"connections\":%zu,\"stacks_kib\":%ld", servers.size(), with_stacks - before);
        report("idle_connections_established", "connections", static_cast<double>(servers.size()), extra);
        report("bytes_per_idle_connection", "bytes", per_connection, extra);
    }
}

void run_demux() {
    // Small buffers keep 2 x 100,000 allocated rings within memory; the cost measured is
    // finding the connection and moving one segment, not the buffer size.
    tcp::config small;
    small.send_buffer_size = 2048;
    small.receive_buffer_size = 2048;
    for (std::size_t n : {100u, 1000u, 10000u, 100000u}) {
        pair p{static_cast<std::uint32_t>(n + 16), 1 << 16, small};
        std::vector<socket_handle> clients;
        auto servers = open_many(p, n, clients);
        const std::byte one[1]{std::byte{1}};
        std::array<std::byte, 64> buf{};
        // Warm every connection once (its rings are allocated on first use), then measure.
        for (std::size_t k = 0; k < clients.size(); ++k) {
            p.client.tcp_send(clients[k], one, p.wire.now());
            p.wire.pump(p.wire.now());
            (void)p.server.tcp_receive(servers[k], buf, p.wire.now());
        }
        random_source rng{7};
        const std::size_t rounds = 200000;
        const auto start = wall::now();
        for (std::size_t i = 0; i < rounds; ++i) {
            const auto k = rng.below(static_cast<std::uint32_t>(clients.size()));
            p.client.tcp_send(clients[k], one, p.wire.now());
            p.wire.pump(p.wire.now());
            (void)p.server.tcp_receive(servers[k], buf, p.wire.now());
        }
        const double ns = std::chrono::duration<double, std::nano>(wall::now() - start).count() / rounds;
        char name[64];
        std::snprintf(name, sizeof name, "demux_ns_per_segment_at_%zu", servers.size());
        report(name, "ns", ns);
    }
}

}  // namespace

int main(int argc, char** argv) {
    tapstack::tap::tune_allocator_for_connection_churn();
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args.back() == "--json") {
        json_output = true;
        args.pop_back();
    }
    const std::string what = args.empty() ? "all" : args[0];
    auto number = [&](std::size_t fallback) -> std::size_t {
        if (args.size() < 2) return fallback;
        char* end = nullptr;
        const auto v = std::strtoull(args[1].c_str(), &end, 10);
        if (!end || *end || v == 0) {
            std::fprintf(stderr, "memory_bench: bad count '%s'\n", args[1].c_str());
            std::exit(2);
        }
        return v;
    };
    if (what == "bulk") run_bulk(number(1024));
    else if (what == "connections") run_connections(number(100000));
    else if (what == "idle") run_idle(number(100000));
    else if (what == "demux") run_demux();
    else if (what == "all") {
        run_bulk(1024);
        run_connections(100000);
        run_idle(100000);
        run_demux();
    } else {
        std::fprintf(stderr, "memory_bench: unknown benchmark '%s' (bulk, connections, idle, demux, all)\n", what.c_str());
        return 2;
    }
    return 0;
}
