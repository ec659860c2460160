// Two stacks joined in memory through the seeded fault injector move data both ways at once;
// every byte must arrive intact and in order (RFC 9293 reliability, RFC 6298/5681/6675 recovery).
#include <gtest/gtest.h>
#include <cstdio>
#include <cstdlib>
#include <tapstack/link/fault_injector.hpp>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/stack.hpp>
#include "bulk_transfer.hpp"

using namespace tapstack;
using namespace tapstack::testing;
using namespace std::chrono_literals;

namespace {

std::size_t transfer_mib() {
    if (const char* v = std::getenv("TAPSTACK_TRANSFER_MIB")) return static_cast<std::size_t>(std::atoi(v));
    return 50;
}

struct transfer_result {
    stack_stats client, server;
    link::fault_stats faults_a, faults_b;
};

void run_bulk_both_ways(const link::fault_config& faults, std::size_t bytes_each_way, transfer_result& result) {
    link::memory_link_config wc;
    wc.queue_frames = 4096;
    link::memory_link wire{wc};
    auto fa = faults;
    auto fb = faults;
    fb.seed = faults.seed * 7919 + 1;
    link::fault_injector inject_a{fa, wire.side_a()};
    link::fault_injector inject_b{fb, wire.side_b()};
    tapstack::stack client{bulk_config_for(1, 11), inject_a};
    tapstack::stack server{bulk_config_for(2, 22), inject_b};
    wire.attach(client, server);

    bulk_endpoint c{client, wire, 1, 2, bytes_each_way};
    bulk_endpoint s{server, wire, 2, 1, bytes_each_way};
    ASSERT_TRUE(run_bulk_pair(client, server, wire, c, s,
                              [&](instant now) {
                                  inject_a.flush(now);
                                  inject_b.flush(now);
                              }))
        << "client sent " << c.sent << " received " << c.received << "; server sent " << s.sent << " received "
        << s.received;
    EXPECT_EQ(c.failure, errc::success) << to_string(c.failure);
    EXPECT_EQ(s.failure, errc::success) << to_string(s.failure);
    EXPECT_EQ(c.received, bytes_each_way);
    EXPECT_EQ(s.received, bytes_each_way);
    EXPECT_EQ(c.mismatches, 0u);
    EXPECT_EQ(s.mismatches, 0u);
    EXPECT_EQ(c.received_hash.value, s.sent_hash.value);
    EXPECT_EQ(s.received_hash.value, c.sent_hash.value);
    result.client = client.stats();
    result.server = server.stats();
    result.faults_a = inject_a.stats();
    result.faults_b = inject_b.stats();
}

void print_counters(const char* name, const stack_stats& st) {
    std::printf(
        "%s: segs out %llu, retrans %llu, fast retransmits %llu, RTO timeouts %llu, sack recoveries %llu, "
        "out-of-order %llu, duplicates %llu, bad segments %llu, ip header errors %llu\n",
        name, static_cast<unsigned long long>(st.tcp.out_segs), static_cast<unsigned long long>(st.tcp.retrans_segs),
        static_cast<unsigned long long>(st.tcp.fast_retransmits), static_cast<unsigned long long>(st.tcp.timeouts),
        static_cast<unsigned long long>(st.tcp.sack_recoveries),
        static_cast<unsigned long long>(st.tcp.out_of_order_segs),
        static_cast<unsigned long long>(st.tcp.duplicate_segs), static_cast<unsigned long long>(st.tcp.in_errs),
        static_cast<unsigned long long>(st.ip.in_hdr_errors));
}

}  // namespace

TEST(TcpTransfer, CleanLinkBothWays) {
    transfer_result r;
    run_bulk_both_ways(link::fault_config{}, 4u << 20, r);
    EXPECT_EQ(r.client.tcp.retrans_segs, 0u);
    EXPECT_EQ(r.server.tcp.retrans_segs, 0u);
}

TEST(TcpTransfer, SurvivesDropReorderDuplicateAndCorruption) {
    link::fault_config f;
    f.drop = 0.05;
    f.reorder = 0.05;
    f.duplicate = 0.01;
    f.corrupt = 0.005;
    if (const char* v = std::getenv("TAPSTACK_FAULTS"))
        std::sscanf(v, "%lf,%lf,%lf,%lf", &f.drop, &f.reorder, &f.duplicate, &f.corrupt);
    f.seed = 2026;
    transfer_result r;
    const std::size_t mib = transfer_mib();
    run_bulk_both_ways(f, mib << 20, r);
    std::printf(
        "moved %zu MiB each way; link a: %llu dropped, %llu reordered, %llu duplicated, %llu corrupted\n", mib,
        static_cast<unsigned long long>(r.faults_a.dropped), static_cast<unsigned long long>(r.faults_a.reordered),
        static_cast<unsigned long long>(r.faults_a.duplicated), static_cast<unsigned long long>(r.faults_a.corrupted));
    print_counters("client", r.client);
    print_counters("server", r.server);
    EXPECT_GT(r.faults_a.dropped, 0u);
    EXPECT_GT(r.faults_a.corrupted, 0u);
    EXPECT_GT(r.client.tcp.retrans_segs + r.server.tcp.retrans_segs, 0u);
}
