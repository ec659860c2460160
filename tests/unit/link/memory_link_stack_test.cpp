// Two real stacks joined by link::memory_link on the virtual clock, with and without the
// fault injector between them.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>
#include <tapstack/link/fault_injector.hpp>
#include <tapstack/link/memory_link.hpp>
#include <tapstack/stack.hpp>

namespace {

using namespace tapstack;
using namespace std::chrono_literals;

stack_config config_for(std::uint8_t host, std::uint64_t seed) {
    stack_config cfg;
    cfg.mac = link::mac_address{{0x02, 0, 0, 0, 0, host}};
    cfg.ipv4 = ip::interface_address{ip::address_v4{10, 0, 0, host}, 24};
    cfg.seed = seed;
    return cfg;
}

struct readiness final : socket_waiter {
    int readable = 0;
    std::uint8_t all = 0;
    void on_socket_event(socket_handle, std::uint8_t events) override {
        all |= events;
        if ((events & socket_event::readable) != 0) ++readable;
    }
};

struct StacksOverMemoryLink : ::testing::Test {
    link::memory_link wire;
    tapstack::stack a{config_for(1, 11), wire.side_a()};
    tapstack::stack b{config_for(2, 22), wire.side_b()};
    void SetUp() override { wire.attach(a, b); }

    socket_handle udp_on(tapstack::stack& s, ip::port_number port) {
        auto h = s.udp_open();
        EXPECT_TRUE(h);
        EXPECT_EQ(s.udp_bind(*h, {ip::address_v4::any(), port}), errc::success);
        return *h;
    }
};

TEST_F(StacksOverMemoryLink, UdpEchoAcrossTheWireIncludingArp) {
    auto server = udp_on(b, 7);
    auto client = udp_on(a, 40000);
    readiness server_ready;
    b.set_waiter(server, &server_ready);

    const std::string msg = "over the memory link";
    ASSERT_TRUE(a.udp_send_to(client, as_bytes_of(msg), {ip::address_v4{10, 0, 0, 2}, 7}, wire.now()));
    ASSERT_TRUE(wire.run_until([&] { return b.udp_bytes_readable(server) > 0; }, wire.now() + 1s));
    EXPECT_GE(server_ready.readable, 1);
    EXPECT_EQ(wire.now(), instant{}) << "ARP and delivery take no virtual time";

    std::array<std::byte, 256> buf{};
    auto got = b.udp_receive_from(server, buf);
    ASSERT_TRUE(got);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), got->size), msg);  // NOLINT
    EXPECT_EQ(got->from, (ip::endpoint{ip::address_v4{10, 0, 0, 1}, 40000}));

    ASSERT_TRUE(b.udp_send_to(server, bytes{buf.data(), got->size}, got->from, wire.now()));
    ASSERT_TRUE(wire.run_until([&] { return a.udp_bytes_readable(client) > 0; }, wire.now() + 1s));
    auto back = a.udp_receive_from(client, buf);
    ASSERT_TRUE(back);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), back->size), msg);  // NOLINT

    EXPECT_EQ(a.stats().arp.out_requests, 1u);
    EXPECT_EQ(b.stats().arp.out_replies, 1u);
    EXPECT_EQ(a.stats().udp.out_datagrams, 1u);
    EXPECT_EQ(b.stats().udp.in_datagrams, 1u);
    EXPECT_EQ(wire.stats().delivered_to_a + wire.stats().delivered_to_b, 4u);
}

TEST_F(StacksOverMemoryLink, UnansweredArpGivesUpOnTheVirtualClock) {
    auto client = udp_on(a, 40000);
    const std::string msg = "to nobody";
    // 10.0.0.3 does not exist: a retries ARP on its timer, then gives up. Virtual time moves
    // through each retry without sleeping.
    ASSERT_TRUE(a.udp_send_to(client, as_bytes_of(msg), {ip::address_v4{10, 0, 0, 3}, 7}, wire.now()));
    EXPECT_TRUE(wire.run_until([&] { return a.stats().arp.resolution_failures > 0; }, wire.now() + 60s));
    EXPECT_GE(wire.now() - instant{}, duration{a.config().arp_retry_interval});
    EXPECT_LE(wire.now() - instant{}, 10s);
    EXPECT_GE(a.stats().arp.out_requests, 2u);
}

TEST(StacksWithFaults, CorruptedFramesAreCountedNotDelivered) {
    link::memory_link wire;
    link::fault_injector corrupt_all{{.corrupt = 1.0, .seed = 5}, wire.side_a()};
    tapstack::stack a{config_for(1, 11), corrupt_all};
    tapstack::stack b{config_for(2, 22), wire.side_b()};
    wire.attach(a, b);
    auto server = b.udp_open().value();
    ASSERT_EQ(b.udp_bind(server, {ip::address_v4::any(), 7}), errc::success);
    auto client = a.udp_open().value();
    // Teach a b's MAC first, through an honest exchange, so the UDP datagram itself is sent.
    corrupt_all.set_probabilities(0, 0, 0, 0);
    const std::string hello = "hello";
    ASSERT_TRUE(a.udp_send_to(client, as_bytes_of(hello), {ip::address_v4{10, 0, 0, 2}, 7}, wire.now()));
    ASSERT_TRUE(wire.run_until([&] { return b.udp_bytes_readable(server) > 0; }, wire.now() + 1s));
    std::array<std::byte, 64> buf{};
    ASSERT_TRUE(b.udp_receive_from(server, buf));

    corrupt_all.set_probabilities(0, 0, 0, 1.0);
    const std::string msg(200, 'x');
    for (int i = 0; i < 20; ++i)
        ASSERT_TRUE(a.udp_send_to(client, as_bytes_of(msg), {ip::address_v4{10, 0, 0, 2}, 7}, wire.now()));
    wire.run_for(1s);
    EXPECT_EQ(corrupt_all.stats().corrupted, 20u);
    EXPECT_EQ(b.udp_bytes_readable(server), 0u) << "a flipped byte must never reach the application";
    const auto& s = b.stats();
    EXPECT_EQ(s.ip.in_hdr_errors + s.udp.in_errors + s.link.in_not_for_us + s.link.in_unknown_ethertype +
                  s.ip.in_addr_errors + s.ip.in_unknown_protos + s.udp.no_ports + s.ip.in_fragments_dropped +
                  s.ip.in_martians,
              20u)
        << "every corrupted frame is dropped under some counted reason";
}

TEST(StacksWithFaults, DuplicatesReachTheApplicationTwice) {
    // UDP has no duplicate detection (RFC 768): a duplicated frame is a second datagram.
    link::memory_link wire;
    link::fault_injector dup{{.duplicate = 1.0}, wire.side_a()};
    tapstack::stack a{config_for(1, 11), dup};
    tapstack::stack b{config_for(2, 22), wire.side_b()};
    wire.attach(a, b);
    auto server = b.udp_open().value();
    ASSERT_EQ(b.udp_bind(server, {ip::address_v4::any(), 7}), errc::success);
    auto client = a.udp_open().value();
    const std::string msg = "twice";
    ASSERT_TRUE(a.udp_send_to(client, as_bytes_of(msg), {ip::address_v4{10, 0, 0, 2}, 7}, wire.now()));
    wire.run_for(1s);
    std::array<std::byte, 64> buf{};
    EXPECT_TRUE(b.udp_receive_from(server, buf));
    EXPECT_TRUE(b.udp_receive_from(server, buf));
    EXPECT_FALSE(b.udp_receive_from(server, buf));
}

}  // namespace
