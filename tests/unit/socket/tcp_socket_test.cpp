// The TCP socket layer against a scripted peer: connect (ephemeral ports, ISNs, refused
// destinations) and the socket table. Listeners are in tests/unit/tcp/listen_test.cpp.
#include <gtest/gtest.h>
#include <algorithm>
#include <set>
#include "harness.hpp"

using namespace tapstack;
using namespace tapstack::testing;
using namespace std::chrono_literals;
using tcp::seq_number;

TEST(TcpConnect, SynLeavesFromAnEphemeralPortAndRstMeansRefused) {
    harness h;
    h.learn_peer();
    auto s = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_connect(s, {h.them(), 5555}, h.now), errc::success);
    auto syn = h.next();
    ASSERT_TRUE(syn.tcp);
    EXPECT_TRUE(syn.tcp->flags.syn);
    EXPECT_FALSE(syn.tcp->flags.ack);
    EXPECT_GE(syn.tcp->source_port, 49152);
    EXPECT_TRUE(syn.tcp->options.mss.has_value());
    auto rst = peer_segment(5555, syn.tcp->source_port, seq_number{0});
    rst.flags.rst = true;
    rst.flags.ack = true;
    rst.ack = syn.tcp->seq + 1;
    h.inject(h.tcp(rst));
    EXPECT_EQ(h.stack.tcp_error(s), errc::connection_refused);
    std::array<std::byte, 8> buf{};
    EXPECT_EQ(h.stack.tcp_receive(s, buf, h.now).error(), errc::connection_refused);
}

TEST(TcpConnect, EstablishesAndExchangesData) {
    harness h;
    h.learn_peer();
    auto s = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_connect(s, {h.them(), 5555}, h.now), errc::success);
    auto syn = h.next();
    ASSERT_TRUE(syn.tcp);
    const auto port = syn.tcp->source_port;
    auto synack = peer_segment(5555, port, seq_number{9000});
    synack.flags.syn = synack.flags.ack = true;
    synack.ack = syn.tcp->seq + 1;
    synack.options.mss = 1460;
    h.inject(h.tcp(synack));
    EXPECT_EQ(h.stack.tcp_info(s).value().state, tcp::state::established);
    auto ack = h.next();
    ASSERT_TRUE(ack.tcp);
    EXPECT_EQ(ack.tcp->ack, seq_number{9001});
    const std::string msg = "ping over tcp";
    ASSERT_EQ(h.stack.tcp_send(s, as_bytes_of(msg), h.now).value(), msg.size());
    auto data = h.next();
    ASSERT_TRUE(data.tcp);
    EXPECT_EQ(data.tcp->payload.size(), msg.size());
    auto reply = peer_segment(5555, port, seq_number{9001});
    const std::string back = "pong";
    reply.flags.ack = reply.flags.psh = true;
    reply.ack = data.tcp->seq + static_cast<std::uint32_t>(msg.size());
    reply.payload = as_bytes_of(back);
    h.inject(h.tcp(reply));
    std::array<std::byte, 16> buf{};
    auto n = h.stack.tcp_receive(s, buf, h.now);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, back.size());
}

TEST(TcpConnect, EphemeralPortsAreSpreadNotSequential) {
    harness h;
    h.learn_peer();
    std::vector<std::uint16_t> ports;
    for (int i = 0; i < 1000; ++i) {
        auto s = h.stack.tcp_open().value();
        ASSERT_EQ(h.stack.tcp_connect(s, {h.them(), 5555}, h.now), errc::success);
        ports.push_back(h.stack.tcp_info(s).value().local.port);
    }
    std::set<std::uint16_t> distinct(ports.begin(), ports.end());
    EXPECT_EQ(distinct.size(), ports.size());
    int consecutive = 0;
    std::array<int, 16> buckets{};
    for (std::size_t i = 0; i < ports.size(); ++i) {
        EXPECT_GE(ports[i], 49152);
        if (i && ports[i] == ports[i - 1] + 1) ++consecutive;
        ++buckets[(ports[i] - 49152) / 1024];
    }
    EXPECT_LT(consecutive, 20);
    for (int b : buckets) EXPECT_GT(b, 20) << "ports should cover the whole range";
}

TEST(TcpConnect, RangeExhaustedForADestinationIsAddressNotAvailable) {
    auto cfg = harness::default_config();
    cfg.ephemeral_low = 60000;
    cfg.ephemeral_high = 60009;
    harness h{cfg};
    h.learn_peer();
    for (int i = 0; i < 10; ++i) {
        auto s = h.stack.tcp_open().value();
        ASSERT_EQ(h.stack.tcp_connect(s, {h.them(), 5555}, h.now), errc::success);
    }
    auto s = h.stack.tcp_open().value();
    EXPECT_EQ(h.stack.tcp_connect(s, {h.them(), 5555}, h.now), errc::address_not_available);
    // Another destination port is another 4-tuple: the same local ports serve again.
    EXPECT_EQ(h.stack.tcp_connect(s, {h.them(), 5556}, h.now), errc::success);
}

namespace {

/// The ISN of a SYN the stack sends from local port `lport` to the peer's `rport`.
std::uint32_t connect_isn(harness& h, std::uint16_t lport, std::uint16_t rport) {
    auto s = h.stack.tcp_open().value();
    EXPECT_EQ(h.stack.tcp_bind(s, {ip::address_v4::any(), lport}), errc::success);
    EXPECT_EQ(h.stack.tcp_connect(s, {h.them(), rport}, h.now), errc::success);
    auto syn = h.next();
    EXPECT_TRUE(syn.tcp);
    return syn.tcp ? syn.tcp->seq.value() : 0;
}

/// The ISN of 10.0.0.2:40000 -> 10.0.0.1:6000 on a fresh stack with `seed`, connecting at `at`.
std::uint32_t isn_at(std::uint64_t seed, instant at) {
    auto cfg = harness::default_config();
    cfg.seed = seed;
    harness h{cfg};
    h.now = at;
    h.learn_peer();
    return connect_isn(h, 40000, 6000);
}

}  // namespace

// RFC 6528 §3: ISN = M + F(4-tuple, secret). Across tuples at one instant only F varies, and a
// keyed PRF has no linear relation between neighbouring tuples: a counter (or a clock plus a
// counter, or any function affine in the ports) gives every consecutive pair the same difference.
TEST(TcpConnect, IsnsAreUnpredictableAcrossTuples) {
    harness h;
    h.learn_peer();
    std::set<std::uint32_t> isns;
    std::vector<std::uint32_t> in_order;
    for (int i = 0; i < 50; ++i) {
        const auto isn = connect_isn(h, static_cast<std::uint16_t>(40000 + i), static_cast<std::uint16_t>(6000 + i));
        isns.insert(isn);
        in_order.push_back(isn);
    }
    EXPECT_EQ(isns.size(), 50u);
    std::set<std::uint32_t> steps;
    for (std::size_t i = 1; i < in_order.size(); ++i) steps.insert(in_order[i] - in_order[i - 1]);
    EXPECT_GT(steps.size(), 45u) << "consecutive tuples' ISNs differ by a near-constant step";
}

// RFC 9293 MUST-8: the clock component M ticks every 4 µs, so one 4-tuple's ISN advances by the
// time elapsed / 4 µs (mod 2^32) whatever the secret part is.
TEST(TcpConnect, IsnOfOneTupleAdvancesWithA4MicrosecondClock) {
    const instant t0 = instant_from_us(1'000'000);
    const std::uint32_t base = isn_at(42, t0);
    EXPECT_EQ(isn_at(42, t0), base);  // the same stack, tuple and instant: the same ISN
    EXPECT_EQ(isn_at(42, t0 + std::chrono::microseconds{4}) - base, 1u);
    EXPECT_EQ(isn_at(42, t0 + 4ms) - base, 1000u);
    EXPECT_EQ(isn_at(42, t0 + 1s) - base, 250'000u);
    EXPECT_EQ(isn_at(42, t0 + 5h) - base, static_cast<std::uint32_t>(5ull * 3600 * 250'000));  // wraps mod 2^32
}

// RFC 6528 §3 (RFC 9293 SHLD-1): F is keyed with a secret, here drawn from the stack's seed: another
// secret gives the same tuple at the same instant another ISN.
TEST(TcpConnect, IsnDependsOnTheSecret) {
    const instant t0 = instant_from_us(1'000'000);
    std::set<std::uint32_t> isns;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        const auto isn = isn_at(seed, t0);
        EXPECT_EQ(isn_at(seed, t0), isn) << "the secret, not the order of the calls, makes the difference";
        isns.insert(isn);
    }
    EXPECT_EQ(isns.size(), 20u);
}

TEST(TcpConnect, InvalidDestinationsAreRefused) {
    harness h;
    auto s = h.stack.tcp_open().value();
    EXPECT_EQ(h.stack.tcp_connect(s, {h.them(), 0}, h.now), errc::invalid_argument);
    EXPECT_EQ(h.stack.tcp_connect(s, {ip::address_v4::any(), 80}, h.now), errc::invalid_argument);
    EXPECT_EQ(h.stack.tcp_connect(s, {ip::address{ip::address_v4::broadcast()}, 80}, h.now), errc::invalid_argument);
    EXPECT_EQ(h.stack.tcp_connect(s, {ip::address{ip::address_v4{10, 0, 0, 255}}, 80}, h.now), errc::invalid_argument)
        << "RFC 9293 MUST-46: the subnet's directed broadcast";
    EXPECT_EQ(h.stack.tcp_connect(s, {ip::address{ip::address_v4{224, 0, 0, 1}}, 80}, h.now), errc::invalid_argument);
}

TEST(TcpSocket, StaleHandlesAreRejected) {
    harness h;
    auto s = h.stack.tcp_open().value();
    h.stack.tcp_close(s, h.now);
    EXPECT_EQ(h.stack.tcp_bind(s, {ip::address_v4::any(), 1234}), errc::bad_descriptor);
    std::array<std::byte, 4> buf{};
    EXPECT_EQ(h.stack.tcp_receive(s, buf, h.now).error(), errc::bad_descriptor);
}

TEST(TcpSocket, ConnectionLimitRefusesNewSockets) {
    auto cfg = harness::default_config();
    cfg.max_tcp_sockets = 3;
    harness h{cfg};
    h.learn_peer();
    auto l = listen_on(h, 80);
    handshake(h, 40000, 80, seq_number{1});
    handshake(h, 40001, 80, seq_number{1});
    auto syn = peer_segment(40002, 80, seq_number{1});
    syn.flags.syn = true;
    h.inject(h.tcp(syn));
    EXPECT_EQ(h.stack.stats().tcp.connection_limit_drops, 1u);
    EXPECT_EQ(h.stack.tcp_open().error(), errc::no_buffer_space);
    (void)l;
}

TEST(TcpSocket, ConnectionTableListsListenersAndConnections) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 7);
    handshake(h, 40000, 7, seq_number{1000});
    const std::string table = format_connections(h.stack);
    EXPECT_NE(table.find("LISTEN"), std::string::npos) << table;
    EXPECT_NE(table.find("ESTABLISHED"), std::string::npos) << table;
    EXPECT_NE(table.find("10.0.0.1:40000"), std::string::npos) << table;
    EXPECT_NE(table.find("0.0.0.0:7"), std::string::npos) << table;
    (void)l;
}
