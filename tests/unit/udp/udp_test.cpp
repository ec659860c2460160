#include <gtest/gtest.h>
#include <set>
#include "harness.hpp"

using namespace tapstack;
using namespace tapstack::testing;

namespace {
socket_handle bound_udp(harness& h, ip::port_number port) {
    auto s = h.stack.udp_open();
    EXPECT_TRUE(s);
    EXPECT_EQ(h.stack.udp_bind(*s, {ip::address_v4::any(), port}), errc::success);
    return *s;
}
}  // namespace

TEST(Udp, DatagramIsDeliveredWithItsSender) {
    harness h;
    auto s = bound_udp(h, 7);
    const std::string msg = "hello, udp";
    h.inject(h.udp(40000, 7, as_bytes_of(msg)));
    std::array<std::byte, 64> buf{};
    auto r = h.stack.udp_receive_from(s, buf);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->size, msg.size());
    EXPECT_EQ(r->from.address, h.them());
    EXPECT_EQ(r->from.port, 40000);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), r->size), msg);  // NOLINT
    EXPECT_EQ(h.stack.udp_receive_from(s, buf).error(), errc::would_block);
}

TEST(Udp, EchoThroughTheSocketApiIsByteIdentical) {
    harness h;
    h.learn_peer();
    auto s = bound_udp(h, 7);
    std::string msg(1000, 'z');
    for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>(i * 7);
    h.inject(h.udp(40000, 7, as_bytes_of(msg)));
    std::array<std::byte, 2048> buf{};
    auto r = h.stack.udp_receive_from(s, buf).value();
    ASSERT_TRUE(h.stack.udp_send_to(s, bytes{buf.data(), r.size}, r.from, h.now));
    auto c = h.next();
    ASSERT_TRUE(c.udp);
    EXPECT_EQ(c.udp->source_port(), 7);
    EXPECT_EQ(c.udp->destination_port(), 40000);
    auto p = c.udp->payload();
    ASSERT_EQ(p.size(), msg.size());
    EXPECT_TRUE(std::equal(p.begin(), p.end(), as_bytes_of(msg).begin()));
    EXPECT_NE(c.udp->checksum(), 0) << "we always compute the checksum";
}

TEST(Udp, ClosedPortGetsPortUnreachableQuotingTheDatagram) {
    harness h;
    h.learn_peer();
    const std::string msg = "anyone there?";
    auto f = h.udp(40000, 9999, as_bytes_of(msg));
    h.inject(f);
    ASSERT_EQ(h.pending(), 1u);
    auto c = h.next();
    ASSERT_TRUE(c.icmp);
    EXPECT_EQ(c.icmp->type(), 3);
    EXPECT_EQ(c.icmp->code(), 3);
    auto quote = c.icmp->body();
    ASSERT_EQ(quote.size(), f.size() - 14);  // small enough to quote whole
    EXPECT_TRUE(std::equal(quote.begin(), quote.end(), f.begin() + 14));
    EXPECT_EQ(h.stack.stats().udp.no_ports, 1u);
}

TEST(Udp, ZeroChecksumIsAcceptedOverIpv4) {
    harness h;
    auto s = bound_udp(h, 7);
    const std::string msg = "no checksum";
    h.inject(h.udp(40000, 7, as_bytes_of(msg), true));
    std::array<std::byte, 64> buf{};
    EXPECT_TRUE(h.stack.udp_receive_from(s, buf));
}

TEST(Udp, BadChecksumIsDroppedAndCounted) {
    harness h;
    auto s = bound_udp(h, 7);
    const std::string msg = "corrupt";
    auto f = h.udp(40000, 7, as_bytes_of(msg));
    f.back() ^= std::byte{0x20};
    h.inject(f);
    std::array<std::byte, 64> buf{};
    EXPECT_FALSE(h.stack.udp_receive_from(s, buf));
    EXPECT_EQ(h.stack.stats().udp.in_errors, 1u);
    EXPECT_EQ(h.pending(), 0u) << "no ICMP error for a corrupt datagram";
}

TEST(Udp, SourcePortZeroIsDeliveredButCannotBeAnswered) {
    harness h;
    auto s = bound_udp(h, 7);
    const std::string msg = "from nowhere";
    h.inject(h.udp(0, 7, as_bytes_of(msg)));
    std::array<std::byte, 64> buf{};
    auto r = h.stack.udp_receive_from(s, buf);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->from.port, 0);
    auto reply = h.stack.udp_send_to(s, bytes{buf.data(), r->size}, r->from, h.now);
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error(), errc::invalid_argument);
}

TEST(Udp, TruncatedReadReportsOriginalSize) {
    harness h;
    auto s = bound_udp(h, 7);
    const std::string msg = "0123456789";
    h.inject(h.udp(40000, 7, as_bytes_of(msg)));
    std::array<std::byte, 4> buf{};
    auto r = h.stack.udp_receive_from(s, buf).value();
    EXPECT_EQ(r.size, 4u);
    EXPECT_EQ(r.original_size, 10u);
}

TEST(Udp, ReceiveQueueIsBoundedAndCountsOverflow) {
    auto cfg = harness::default_config();
    cfg.udp_receive_queue_bytes = 4096;
    harness h{cfg};
    auto s = bound_udp(h, 7);
    const std::string msg(1000, 'q');
    for (int i = 0; i < 10; ++i) h.inject(h.udp(40000, 7, as_bytes_of(msg)));
    EXPECT_GT(h.stack.stats().udp.rcvbuf_errors, 0u);
    std::array<std::byte, 1500> buf{};
    int got = 0;
    while (h.stack.udp_receive_from(s, buf)) ++got;
    EXPECT_EQ(static_cast<std::uint64_t>(got) + h.stack.stats().udp.rcvbuf_errors, 10u);
    // After draining, the ring takes datagrams again, wrapping around its end.
    for (int round = 0; round < 20; ++round) {
        h.inject(h.udp(40000, 7, as_bytes_of(msg)));
        h.inject(h.udp(40000, 7, as_bytes_of(msg)));
        ASSERT_TRUE(h.stack.udp_receive_from(s, buf));
        ASSERT_TRUE(h.stack.udp_receive_from(s, buf));
    }
}

TEST(Udp, DatagramLargerThanMtuIsRefused) {
    harness h;
    auto s = h.stack.udp_open().value();
    const std::string big(1473, 'b');  // 1473 + 8 + 20 > 1500
    auto r = h.stack.udp_send_to(s, as_bytes_of(big), {h.them(), 9}, h.now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::message_size);
}

TEST(Udp, SendFromUnboundSocketPicksEphemeralPort) {
    harness h;
    h.learn_peer();
    auto s = h.stack.udp_open().value();
    const std::string msg = "x";
    ASSERT_TRUE(h.stack.udp_send_to(s, as_bytes_of(msg), {h.them(), 9}, h.now));
    auto local = h.stack.udp_local_endpoint(s).value();
    EXPECT_GE(local.port, 49152);
    auto c = h.next();
    ASSERT_TRUE(c.udp);
    EXPECT_EQ(c.udp->source_port(), local.port);
}

TEST(Udp, ClosedHandleIsStale) {
    harness h;
    auto s = bound_udp(h, 7);
    h.stack.udp_close(s);
    std::array<std::byte, 4> buf{};
    EXPECT_EQ(h.stack.udp_receive_from(s, buf).error(), errc::bad_descriptor);
    auto again = bound_udp(h, 7);  // the port is free again
    EXPECT_NE(again, s);
}
