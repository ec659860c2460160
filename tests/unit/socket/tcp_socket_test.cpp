// The TCP socket layer against a scripted peer: listeners, accept, connect, demux, port rules.
#include <gtest/gtest.h>
#include <algorithm>
#include <set>
#include "harness.hpp"

using namespace tapstack;
using namespace tapstack::testing;
using namespace std::chrono_literals;
using tcp::seq_number;

namespace {

wire::tcp_segment peer_segment(std::uint16_t sport, std::uint16_t dport, seq_number seq) {
    wire::tcp_segment s;
    s.source_port = sport;
    s.destination_port = dport;
    s.seq = seq;
    s.window = 65535;
    return s;
}

/// Drives a three-way handshake from the peer to a listener; returns the stack's ISN.
seq_number handshake(harness& h, std::uint16_t sport, std::uint16_t dport, seq_number iss) {
    auto syn = peer_segment(sport, dport, iss);
    syn.flags.syn = true;
    syn.options.mss = 1460;
    h.inject(h.tcp(syn));
    auto synack = h.next();
    EXPECT_TRUE(synack.tcp);
    if (!synack.tcp) return {};
    EXPECT_TRUE(synack.tcp->flags.syn && synack.tcp->flags.ack);
    EXPECT_EQ(synack.tcp->ack, iss + 1);
    auto ack = peer_segment(sport, dport, iss + 1);
    ack.flags.ack = true;
    ack.ack = synack.tcp->seq + 1;
    h.inject(h.tcp(ack));
    return synack.tcp->seq;
}

socket_handle listen_on(harness& h, std::uint16_t port, std::uint32_t backlog = 16, bool reuse = false) {
    auto l = h.stack.tcp_open().value();
    EXPECT_EQ(h.stack.tcp_set_reuse_address(l, reuse), errc::success);
    EXPECT_EQ(h.stack.tcp_bind(l, {ip::address_v4::any(), port}), errc::success);
    EXPECT_EQ(h.stack.tcp_listen(l, backlog), errc::success);
    return l;
}

}  // namespace

TEST(TcpListen, HandshakeCompletesAndAcceptDeliversTheConnection) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 80);
    EXPECT_EQ(h.stack.tcp_accept(l, h.now).error(), errc::would_block);
    handshake(h, 40000, 80, seq_number{1000});
    auto c = h.stack.tcp_accept(l, h.now);
    ASSERT_TRUE(c);
    auto info = h.stack.tcp_info(*c).value();
    EXPECT_EQ(info.state, tcp::state::established);
    EXPECT_EQ(info.remote.port, 40000);
    EXPECT_EQ(info.local.port, 80);
    EXPECT_EQ(h.stack.stats().tcp.passive_opens, 1u);
}

TEST(TcpListen, AckWithoutSynIsAnsweredWithRst) {
    harness h;
    h.learn_peer();
    listen_on(h, 80);
    auto ack = peer_segment(40000, 80, seq_number{1000});
    ack.flags.ack = true;
    ack.ack = seq_number{5555};
    h.inject(h.tcp(ack));
    auto rst = h.next();
    ASSERT_TRUE(rst.tcp);
    EXPECT_TRUE(rst.tcp->flags.rst);
    EXPECT_EQ(rst.tcp->seq, seq_number{5555});  // RFC 9293 §3.10.7.2: <SEQ=SEG.ACK><CTL=RST>
}

TEST(TcpListen, RstAndBareSegmentsAreIgnored) {
    harness h;
    h.learn_peer();
    listen_on(h, 80);
    auto rst = peer_segment(40000, 80, seq_number{1000});
    rst.flags.rst = true;
    h.inject(h.tcp(rst));
    auto bare = peer_segment(40000, 80, seq_number{1000});
    h.inject(h.tcp(bare));
    EXPECT_EQ(h.pending(), 0u);
}

TEST(TcpListen, ManyClientsOnOnePortAreToldApartByTheirTuple) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 7, 128);
    for (std::uint16_t i = 0; i < 100; ++i)
        handshake(h, static_cast<std::uint16_t>(30000 + i), 7, seq_number{1000u * i});
    std::set<std::uint16_t> remotes;
    while (auto c = h.stack.tcp_accept(l, h.now)) remotes.insert(h.stack.tcp_info(*c).value().remote.port);
    EXPECT_EQ(remotes.size(), 100u);
}

TEST(TcpListen, SynBacklogIsBoundedAndCounted) {
    auto cfg = harness::default_config();
    cfg.max_syn_backlog = 4;
    cfg.syn_backlog_random_drop = false;  // refusal; random drop: tests/unit/hardening/
    cfg.syn_cookies = false;  // cookies: syn_cookie_test.cpp
    harness h{cfg};
    h.learn_peer();
    listen_on(h, 80, 64);
    for (std::uint16_t i = 0; i < 10; ++i) {
        auto syn = peer_segment(static_cast<std::uint16_t>(20000 + i), 80, seq_number{7});
        syn.flags.syn = true;
        h.inject(h.tcp(syn));
    }
    EXPECT_EQ(h.stack.stats().tcp.syn_backlog_drops, 6u);
    std::size_t synacks = 0;
    while (h.pending()) synacks += h.next().tcp.has_value();
    EXPECT_EQ(synacks, 4u);
    // Half-open connections time out and free their places.
    h.advance(5min);
    EXPECT_LE(h.stack.stats().tcp.syn_backlog_drops, 6u);
    auto syn = peer_segment(29999, 80, seq_number{7});
    syn.flags.syn = true;
    h.clear();
    h.inject(h.tcp(syn));
    EXPECT_EQ(h.stack.stats().tcp.syn_backlog_drops, 6u);
    EXPECT_EQ(h.pending(), 1u);
}

TEST(TcpListen, AcceptQueueIsBounded) {
    harness h;
    h.learn_peer();
    listen_on(h, 80, 2);
    for (std::uint16_t i = 0; i < 2; ++i) handshake(h, static_cast<std::uint16_t>(20000 + i), 80, seq_number{7});
    auto syn = peer_segment(20009, 80, seq_number{7});
    syn.flags.syn = true;
    h.inject(h.tcp(syn));
    EXPECT_EQ(h.stack.stats().tcp.accept_queue_drops, 1u);
}

TEST(TcpListen, ClosingTheListenerResetsUnacceptedConnections) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 80);
    handshake(h, 40000, 80, seq_number{1000});
    h.clear();
    h.stack.tcp_close(l, h.now);
    auto rst = h.next();
    ASSERT_TRUE(rst.tcp);
    EXPECT_TRUE(rst.tcp->flags.rst);
    // The 4-tuple is gone: a segment for it now gets a fresh RST from "no socket".
    auto data = peer_segment(40000, 80, seq_number{1001});
    data.flags.ack = true;
    data.ack = rst.tcp->seq;
    h.inject(h.tcp(data));
    auto again = h.next();
    ASSERT_TRUE(again.tcp);
    EXPECT_TRUE(again.tcp->flags.rst);
}

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

TEST(TcpConnect, IsnsAreUnpredictableAcrossTuples) {
    harness h;
    h.learn_peer();
    std::set<std::uint32_t> isns;
    for (int i = 0; i < 50; ++i) {
        auto s = h.stack.tcp_open().value();
        ASSERT_EQ(h.stack.tcp_connect(s, {h.them(), static_cast<std::uint16_t>(6000 + i)}, h.now), errc::success);
        auto syn = h.next();
        ASSERT_TRUE(syn.tcp);
        isns.insert(syn.tcp->seq.value());
    }
    EXPECT_EQ(isns.size(), 50u);
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

TEST(TcpListen, SynFromImpossibleSourceIsDropped) {
    harness h;
    h.learn_peer();
    listen_on(h, 80);
    for (auto src : {ip::address_v4{0, 0, 0, 0}, ip::address_v4{127, 0, 0, 1}}) {
        h.peer.ip = src;
        auto syn = peer_segment(40000, 80, seq_number{1});
        syn.flags.syn = true;
        h.inject(h.tcp(syn));
    }
    EXPECT_EQ(h.pending(), 0u) << "RFC 9293 MUST-63: no SYN-ACK to 0.0.0.0 or 127/8";
}

TEST(TcpListen, TcpToBroadcastIsDropped) {
    harness h;
    h.learn_peer();
    listen_on(h, 80);
    auto syn = peer_segment(40000, 80, seq_number{1});
    syn.flags.syn = true;
    frame t(syn.encoded_size());
    wire::encode_tcp(syn, t, h.them(), ip::address{ip::address_v4::broadcast()});
    h.inject(h.ipv4(6, t, ip::address_v4::broadcast()));
    EXPECT_EQ(h.pending(), 0u) << "RFC 9293 MUST-57";
    EXPECT_EQ(h.stack.stats().ip.in_addr_errors, 1u);
}

TEST(TcpClose, ReuseAddressLetsAListenerBindOverTimeWait) {
    auto cfg = harness::default_config();
    harness h{cfg};
    h.learn_peer();
    auto l = listen_on(h, 8080);
    const auto server_isn = handshake(h, 40000, 8080, seq_number{1000});
    auto c = h.stack.tcp_accept(l, h.now).value();
    h.clear();
    // We close first: FIN-WAIT-1 -> (ACK) FIN-WAIT-2 -> (FIN) TIME-WAIT.
    h.stack.tcp_close(c, h.now);
    auto fin = h.next();
    ASSERT_TRUE(fin.tcp);
    ASSERT_TRUE(fin.tcp->flags.fin);
    auto finack = peer_segment(40000, 8080, seq_number{1001});
    finack.flags.ack = finack.flags.fin = true;
    finack.ack = server_isn + 2;
    h.inject(h.tcp(finack));
    h.stack.tcp_close(l, h.now);
    bool in_time_wait = false;
    h.stack.for_each_tcp([&](const tcp_socket_info& i) { in_time_wait |= i.state == tcp::state::time_wait; });
    ASSERT_TRUE(in_time_wait);
    auto plain = h.stack.tcp_open().value();
    EXPECT_EQ(h.stack.tcp_bind(plain, {ip::address_v4::any(), 8080}), errc::address_in_use);
    auto reuse = h.stack.tcp_open().value();
    ASSERT_EQ(h.stack.tcp_set_reuse_address(reuse, true), errc::success);
    EXPECT_EQ(h.stack.tcp_bind(reuse, {ip::address_v4::any(), 8080}), errc::success);
    EXPECT_EQ(h.stack.tcp_listen(reuse, 8), errc::success);
    // TIME-WAIT ends after 2*MSL and the connection is freed.
    h.advance(2 * cfg.tcp.msl + 1s);
    std::size_t left = 0;
    h.stack.for_each_tcp([&](const tcp_socket_info& i) { left += i.state != tcp::state::listen; });
    EXPECT_EQ(left, 0u);
}

TEST(TcpClose, NewSynWithHigherSequenceReusesTimeWaitTuple) {
    harness h;
    h.learn_peer();
    auto l = listen_on(h, 8080);
    const auto server_isn = handshake(h, 40000, 8080, seq_number{1000});
    auto c = h.stack.tcp_accept(l, h.now).value();
    h.clear();
    h.stack.tcp_close(c, h.now);
    h.next();
    auto finack = peer_segment(40000, 8080, seq_number{1001});
    finack.flags.ack = finack.flags.fin = true;
    finack.ack = server_isn + 2;
    h.inject(h.tcp(finack));
    h.clear();
    auto syn = peer_segment(40000, 8080, seq_number{100000});
    syn.flags.syn = true;
    h.inject(h.tcp(syn));
    auto synack = h.next();
    ASSERT_TRUE(synack.tcp);
    EXPECT_TRUE(synack.tcp->flags.syn && synack.tcp->flags.ack);
    EXPECT_EQ(synack.tcp->ack, seq_number{100001});
    EXPECT_EQ(h.stack.stats().tcp.time_wait_reuses, 1u);
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
