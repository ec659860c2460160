// In-memory benchmarks: two stacks joined by link::memory_link on a virtual clock, one thread,
// no system calls on the packet path. Prints one line per measurement (and JSON with --json).
//
//   memory_bench bulk [MiB]        one-way TCP bulk transfer at MTU 1500: Gbit/s, segments/s
//   memory_bench connections [N]   sequential open + orderly close pairs per second
//   memory_bench idle [N]          N established connections: bytes per idle connection
//   memory_bench demux             time per small segment as the table grows 100 -> 100,000:
//                                  traffic on every connection, then on 64 busy ones
//   memory_bench lookup            the 4-tuple table alone: ns per find() at 100 -> 100,000
//                                  (random tuples, then 64 busy ones) and the nodes walked
//   memory_bench latency           the machine's cold-access cost: ns per dependent random load
//                                  in 1 / 8 / 32 / 256 MiB (what the demux figures are made of)
//   memory_bench all               everything with defaults (bulk and connections twice: with
//                                  software checksums, then with --csum-offload)
//   --csum-offload                 bulk, connections: both stacks set tx_checksum_offload and the
//                                  link carries partial TCP checksums unverified, as Linux's veth
//                                  and loopback do (memory_link_config::checksum_offload); the
//                                  results are named *_csum_offload
//   --buffer BYTES                 bulk: send and receive buffers of BYTES each (default: the
//                                  stack's own defaults, tcp::config, 256 KiB); results are then
//                                  named *_buffer_BYTES
//
// Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID) by default: the machine these run on
// is shared, and wall-clock figures there measure the neighbours as much as the stack (a run that
// gets 10% of a core looks 10x slower). --wall uses steady_clock instead; JSON lines carry the
// clock used. Under
// `valgrind --tool=callgrind` use `bulk 16` and divide Ir by the printed segment count.
#include <tapstack/tap/allocator_tuning.hpp>
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>
#include <tapstack/base/random.hpp>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/stack.hpp>
#include <tapstack/tcp/connection.hpp>
// The lookup benchmark times the stack's own 4-tuple table type (a private header of the core).
#include "../stack/src/stack/stack_impl.hpp"
// Under `valgrind --tool=callgrind --collect-atstart=no`, only the transfer itself is counted
// (not building the stacks and the link's preallocated queues): Ir / segments is the steady-state
// cost of a segment. Outside valgrind the macros do nothing.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define TAPSTACK_COLLECT_TOGGLE() CALLGRIND_TOGGLE_COLLECT
#else
#define TAPSTACK_COLLECT_TOGGLE() ((void)0)
#endif

using namespace tapstack;
using namespace std::chrono_literals;

/// steady_clock, or the calling thread's CPU time (the default; see the top of the file).
struct bench_clock {
    using duration = std::chrono::nanoseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<bench_clock>;
    static constexpr bool is_steady = true;
    static inline bool use_wall = false;
    static time_point now() noexcept {
        if (use_wall)
            return time_point{
                std::chrono::duration_cast<duration>(std::chrono::steady_clock::now().time_since_epoch())};
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return time_point{duration{std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec}};
    }
};
using wall = bench_clock;

namespace {

bool json_output = false;
/// --csum-offload: the stacks leave TCP checksums partial and the link delivers them trusted.
bool csum_offload = false;
std::uint32_t bulk_buffer = 0;  // 0: tcp::config's defaults

/// A result's name, with "_csum_offload" when the run offloaded checksums.
std::string named(const char* base) {
    std::string n{base};
    if (csum_offload) n += "_csum_offload";
    if (bulk_buffer != 0) n += "_buffer_" + std::to_string(bulk_buffer);
    return n;
}

void report(const char* name, const char* unit, double value, const char* extra = "") {
    if (json_output)
        std::printf("{\"bench\":\"%s\",\"unit\":\"%s\",\"value\":%.6g,\"clock\":\"%s\"%s%s}\n", name, unit, value,
                    bench_clock::use_wall ? "wall" : "thread_cpu", *extra ? "," : "", extra);
    else
        std::printf("%-44s %14.3f %s\n", name, value, unit);
    std::fflush(stdout);
}

stack_config config_for(std::uint8_t host, std::uint32_t max_sockets = 4096) {
    stack_config c;
    c.mac = link::mac_address{{0x02, 0, 0, 0, 0, host}};
    c.ipv4 = ip::interface_address{ip::address_v4{10, 0, 0, host}, 24};
    c.seed = host;
    c.max_tcp_sockets = max_sockets;
    c.max_syn_backlog = max_sockets;
    c.tx_checksum_offload = csum_offload;
    return c;
}

/// Two stacks on a memory link, with a listener on the server.
struct pair {
    explicit pair(std::uint32_t max_sockets = 4096, std::size_t queue = 4096, tcp::config tcp_cfg = {})
        : wire{[&] {
              link::memory_link_config wc;
              wc.queue_frames = queue;
              wc.checksum_offload = csum_offload;
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
    // The stack's default buffers (what an application gets) unless --buffer says otherwise:
    // the link has no delay, so the window is never the limit, and the rings' size is the
    // working set the copies walk through (1 MiB rings measured ~20% slower than 256 KiB ones).
    tcp::config t;
    if (bulk_buffer != 0) t.send_buffer_size = t.receive_buffer_size = bulk_buffer;
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
    TAPSTACK_COLLECT_TOGGLE();
    flow->pump();
    p.wire.run_until([&] { return flow->eof_; }, p.wire.now() + 3600s);
    TAPSTACK_COLLECT_TOGGLE();
    const double seconds = std::chrono::duration<double>(wall::now() - start).count();
    const auto segs = p.server.stats().tcp.in_segs + p.server.stats().tcp.out_segs - segs_before;
    if (flow->received_ != (mib << 20)) {
        std::fprintf(stderr, "memory_bench: bulk transfer incomplete (%zu of %zu bytes)\n", flow->received_, mib << 20);
        std::exit(1);
    }
    report(named("bulk_tcp_gbit_per_s").c_str(), "Gbit/s", static_cast<double>(flow->received_) * 8 / seconds / 1e9);
    report(named("segments_per_s_through_receiver").c_str(), "seg/s", static_cast<double>(segs) / seconds);
    char extra[96];
    std::snprintf(extra, sizeof extra, "\"segments\":%llu", static_cast<unsigned long long>(segs));
    report(named("segments_in_run").c_str(), "segments", static_cast<double>(segs), extra);
}

void run_connections(std::size_t count) {
    tcp::config t;
    t.msl = 1ms;  // TIME-WAIT would otherwise hold every 4-tuple for a minute of virtual time
    t.send_buffer_size = 16384;
    t.receive_buffer_size = 16384;
    pair p{8192, 4096, t};
    const auto start = wall::now();
    TAPSTACK_COLLECT_TOGGLE();
    for (std::size_t i = 0; i < count; ++i) {
        auto c = p.client.tcp_open().value();
        p.client.tcp_connect(c, p.server_ep, p.wire.now());
        auto s = accept_one(p);
        p.client.tcp_close(c, p.wire.now());
        p.server.tcp_close(s, p.wire.now());
        p.wire.settle();
        if ((i & 1023) == 1023) p.wire.run_for(5ms);  // let TIME-WAIT expire now and then
    }
    TAPSTACK_COLLECT_TOGGLE();
    const double seconds = std::chrono::duration<double>(wall::now() - start).count();
    report(named("connection_open_close_pairs_per_s").c_str(), "pairs/s", static_cast<double>(count) / seconds);
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
        const double per_connection =
            static_cast<double>(after - with_stacks) * 1024.0 / static_cast<double>(2 * servers.size());
        char extra[128];
        std::snprintf(extra, sizeof extra, "\"connections\":%zu,\"stacks_kib\":%ld", servers.size(),
                      with_stacks - before);
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
        // Two traffic patterns: every connection equally (each segment finds a cold connection:
        // the time grows with the cache and TLB misses of a larger working set), and 64 busy
        // connections among the N (the O(1) claim: idle connections cost the busy ones nothing).
        for (const std::uint32_t busy : {static_cast<std::uint32_t>(clients.size()), 64u}) {
            random_source rng{7};
            const std::size_t rounds = 200000;
            const auto start = wall::now();
            for (std::size_t i = 0; i < rounds; ++i) {
                // The busy ones are spread over the table, not the first 64 opened.
                const auto k = busy == clients.size() ? rng.below(busy) : rng.below(busy) * (clients.size() / busy);
                p.client.tcp_send(clients[k], one, p.wire.now());
                p.wire.pump(p.wire.now());
                (void)p.server.tcp_receive(servers[k], buf, p.wire.now());
            }
            const double ns = std::chrono::duration<double, std::nano>(wall::now() - start).count() / rounds;
            char name[64];
            std::snprintf(
                name, sizeof name,
                busy == clients.size() ? "demux_ns_per_segment_at_%zu" : "demux_64_busy_ns_per_segment_at_%zu",
                servers.size());
            report(name, "ns", ns);
        }
    }
}

const std::uint64_t bench_hash_key = 0x5eed5eed12345678;

double time_lookups(std::vector<std::unique_ptr<tcp_socket>>& sockets, const std::vector<ip::four_tuple>& tuples,
                    const std::vector<std::uint32_t>& order, double* mean_chain = nullptr) {
    std::vector<tuple_table::bucket_type> buckets(std::bit_ceil(std::max<std::size_t>(sockets.size(), 16)));
    tuple_table table{tuple_table::bucket_traits(buckets.data(), buckets.size()), tuple_hash{&bench_hash_key}};
    for (auto& s : sockets) table.insert(*s);
    if (mean_chain) {
        // The nodes a successful find() walks, averaged over the present tuples: the O(1) figure.
        std::size_t walked = 0;
        for (std::size_t b = 0; b < table.bucket_count(); ++b) {
            const std::size_t len = table.bucket_size(b);
            walked += len * (len + 1) / 2;
        }
        *mean_chain = static_cast<double>(walked) / static_cast<double>(sockets.size());
    }
    std::size_t found = 0;
    const auto start = wall::now();
    for (const auto k : order) found += table.find(tuples[k]) != table.end();
    const double ns =
        std::chrono::duration<double, std::nano>(wall::now() - start).count() / static_cast<double>(order.size());
    table.clear();
    if (found != order.size()) {
        std::fprintf(stderr, "memory_bench: lookup found %zu of %zu\n", found, order.size());
        std::exit(1);
    }
    return ns;
}

/// Lookup only: the stack's tuple_table (Boost.Intrusive unordered_set, buckets sized as the
/// stack sizes them: the next power of two above the connection count) filled with n real
/// connections, then 1,000,000 find()s of random present 4-tuples. Sockets and connections are
/// allocated one by one, as the stack allocates them, so a find() pays the cache misses a real
/// one pays.
void run_lookup() {
    struct null_sink final : tcp::segment_sink {
        void send_segment(const ip::four_tuple&, const wire::tcp_segment&) override {}
    } sink;
    struct null_observer final : tcp::connection_observer {
        void on_connection_event(tcp::connection&, std::uint8_t) override {}
    } observer;
    tcp::config cfg;
    tcp::tcp_stats stats;
    for (std::size_t n : {100u, 1000u, 10000u, 100000u}) {
        std::vector<std::unique_ptr<tcp_socket>> sockets;
        std::vector<ip::four_tuple> tuples;
        sockets.reserve(n);
        tuples.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            // Clients spread over addresses and ports, as the memory bench's 16 listeners see them.
            const ip::four_tuple t{{ip::address{ip::address_v4{10, 0, 0, 2}}, static_cast<std::uint16_t>(9 + i % 16)},
                                   {ip::address{ip::address_v4{10, 0, static_cast<std::uint8_t>(1 + i / 40000), 1}},
                                    static_cast<std::uint16_t>(1024 + i % 40000)}};
            auto s = std::make_unique<tcp_socket>();
            s->conn.emplace(cfg, stats, sink, observer);
            s->conn->open_active(t, tcp::seq_number{static_cast<std::uint32_t>(i)}, 0, instant{});
            s->tuple = t;
            tuples.push_back(t);
            sockets.push_back(std::move(s));
        }
        random_source rng{11};
        std::vector<std::uint32_t> order(1'000'000);
        for (auto& k : order) k = rng.below(static_cast<std::uint32_t>(n));
        // 64 busy tuples spread over the n: their sockets stay in cache, the table's size is all
        // that changes.
        std::vector<std::uint32_t> busy_order(order.size());
        for (auto& k : busy_order) k = rng.below(64) * static_cast<std::uint32_t>(n / 64);
        char name[64];
        double chain = 0;
        std::snprintf(name, sizeof name, "lookup_ns_at_%zu", n);
        report(name, "ns", time_lookups(sockets, tuples, order, &chain));
        std::snprintf(name, sizeof name, "lookup_64_busy_ns_at_%zu", n);
        report(name, "ns", time_lookups(sockets, tuples, busy_order));
        std::snprintf(name, sizeof name, "lookup_nodes_walked_at_%zu", n);
        report(name, "nodes", chain);
    }
}

/// The machine's own cost of a cold access, for reading the demux figures: one dependent load
/// after another, at random through buffers of the sizes the demux benchmark's working set
/// spans (a cache line each, in one random cycle so no prefetcher helps).
void run_latency() {
    for (const std::size_t mib : {1u, 8u, 32u, 256u}) {
        const std::size_t lines = (mib << 20) / 64;
        struct alignas(64) line {
            std::uint32_t next;
        };
        std::vector<line> ring(lines);
        std::vector<std::uint32_t> order(lines);
        for (std::uint32_t i = 0; i < lines; ++i) order[i] = i;
        random_source rng{5};
        for (std::size_t i = lines - 1; i > 0; --i)
            std::swap(order[i], order[rng.below(static_cast<std::uint32_t>(i + 1))]);
        for (std::size_t i = 0; i < lines; ++i) ring[order[i]].next = order[(i + 1) % lines];
        const std::size_t steps = 2'000'000;
        std::uint32_t at = order[0];
        const auto start = wall::now();
        for (std::size_t i = 0; i < steps; ++i) at = ring[at].next;
        const double ns =
            std::chrono::duration<double, std::nano>(wall::now() - start).count() / static_cast<double>(steps);
        if (at == lines) std::puts("");  // keeps the chase from being optimised away
        char name[64];
        std::snprintf(name, sizeof name, "dependent_load_ns_in_%zu_mib", mib);
        report(name, "ns", ns);
    }
}

}  // namespace

int main(int argc, char** argv) {
    tapstack::tap::tune_allocator_for_connection_churn();
    std::vector<std::string> args(argv + 1, argv + argc);
    for (auto it = args.begin(); it != args.end(); ++it) {
        if (*it != "--buffer") continue;
        char* end = nullptr;
        const auto v = it + 1 != args.end() ? std::strtoull(it[1].c_str(), &end, 10) : 0;
        if (!end || *end || v < 4096 || v > (1u << 30)) {
            std::fprintf(stderr, "memory_bench: --buffer wants a byte count from 4096 to 1073741824\n");
            return 2;
        }
        bulk_buffer = static_cast<std::uint32_t>(v);
        args.erase(it, it + 2);
        break;
    }
    for (bool again = true; again && !args.empty();) {
        again = false;
        if (args.back() == "--json")
            json_output = again = true;
        else if (args.back() == "--wall")
            bench_clock::use_wall = again = true;
        else if (args.back() == "--csum-offload")
            csum_offload = again = true;
        if (again) args.pop_back();
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
    if (what == "bulk")
        run_bulk(number(1024));
    else if (what == "connections")
        run_connections(number(100000));
    else if (what == "idle")
        run_idle(number(100000));
    else if (what == "demux")
        run_demux();
    else if (what == "lookup")
        run_lookup();
    else if (what == "latency")
        run_latency();
    else if (what == "all") {
        // Both checksum figures, each line labelled: software sums first, then offloaded.
        const bool offload_only = csum_offload;
        for (const bool offload : {false, true}) {
            if (offload_only && !offload) continue;
            csum_offload = offload;
            run_bulk(1024);
            run_connections(100000);
        }
        csum_offload = false;
        run_idle(100000);
        run_demux();
        run_lookup();
        run_latency();
    } else {
        std::fprintf(stderr,
                     "memory_bench: unknown benchmark '%s' (bulk, connections, idle, demux, lookup, latency, all)\n",
                     what.c_str());
        return 2;
    }
    return 0;
}
