// Asio-style sockets: error mapping, endpoint conversions, and the rules every operation keeps
// (never complete inline, zero-byte reads, UDP).
#include <cerrno>
#include <string>
#include <boost/asio/error.hpp>
#include <gtest/gtest.h>
#include <tapstack/ip/endpoint_conversions.hpp>
#include <tapstack/ip/error.hpp>
#include "asio_fixture.hpp"

namespace tapstack::testing {
namespace {
namespace ae = boost::asio::error;
using boost::system::error_code;

TEST(AsioErrorMapping, EveryCoreErrorMapsToTheAsioValue) {
    EXPECT_FALSE(ip::to_error_code(errc::success));
    EXPECT_EQ(ip::to_error_code(errc::would_block), ae::would_block);
    EXPECT_EQ(ip::to_error_code(errc::connection_refused), ae::connection_refused);
    EXPECT_EQ(ip::to_error_code(errc::connection_reset), ae::connection_reset);
    EXPECT_EQ(ip::to_error_code(errc::connection_aborted), ae::connection_aborted);
    EXPECT_EQ(ip::to_error_code(errc::timed_out), ae::timed_out);
    EXPECT_EQ(ip::to_error_code(errc::address_in_use), ae::address_in_use);
    EXPECT_EQ(ip::to_error_code(errc::access_denied), ae::access_denied);
    EXPECT_EQ(ip::to_error_code(errc::invalid_argument), ae::invalid_argument);
    EXPECT_EQ(ip::to_error_code(errc::not_connected), ae::not_connected);
    EXPECT_EQ(ip::to_error_code(errc::already_connected), ae::already_connected);
    EXPECT_EQ(ip::to_error_code(errc::already_open), ae::already_open);
    EXPECT_EQ(ip::to_error_code(errc::host_unreachable), ae::host_unreachable);
    EXPECT_EQ(ip::to_error_code(errc::no_buffer_space), ae::no_buffer_space);
    EXPECT_EQ(ip::to_error_code(errc::message_size), ae::message_size);
    EXPECT_EQ(ip::to_error_code(errc::bad_descriptor), ae::bad_descriptor);
    EXPECT_EQ(ip::to_error_code(errc::shut_down), ae::broken_pipe);
    const error_code na = ip::to_error_code(errc::address_not_available);
    EXPECT_EQ(na.value(), EADDRNOTAVAIL);
    EXPECT_EQ(na.category(), boost::system::system_category());
}

TEST(AsioEndpoint, ConvertsBothWays) {
    const ip::endpoint e{ip::address_v4{10, 0, 0, 2}, 8080};
    const auto a = ip::to_asio_tcp(e);
    EXPECT_EQ(a.address().to_string(), "10.0.0.2");
    EXPECT_EQ(a.port(), 8080);
    EXPECT_EQ(ip::from_asio(a), e);
    const auto u = ip::to_asio_udp(e);
    EXPECT_EQ(ip::from_asio(u), e);
    const boost::asio::ip::tcp::endpoint v6{boost::asio::ip::make_address("fe80::1"), 9};
    const auto back = ip::from_asio(v6);
    EXPECT_TRUE(back.address.is_v6());
    EXPECT_EQ(ip::to_asio_tcp(back), v6);
}

using AsioSocket = asio_test;

TEST_F(AsioSocket, ConnectionRefusedWhenNobodyListens) {
    ip::tcp::socket s{rt.a()};
    bool done = false;
    error_code result;
    s.async_connect(ip::endpoint{rt.b_address(), 4444}, [&](error_code ec) {
        result = ec;
        done = true;
    });
    EXPECT_FALSE(done);  // never inside the initiating function
    ASSERT_TRUE(run_until([&] { return done; }));
    EXPECT_EQ(result, ae::connection_refused) << result.message();
}

TEST_F(AsioSocket, AcceptorBindConflictIsAddressInUse) {
    ip::tcp::acceptor first{rt.b(), ip::endpoint{rt.b_address(), 80}, false};
    ip::tcp::acceptor second{rt.b()};
    second.open();
    error_code ec;
    second.bind(ip::endpoint{rt.b_address(), 80}, ec);
    EXPECT_EQ(ec, ae::address_in_use) << ec.message();
    second.bind(ip::endpoint{ip::address_v4{10, 9, 9, 9}, 80}, ec);
    EXPECT_EQ(ec.value(), EADDRNOTAVAIL);
}

TEST_F(AsioSocket, AcceptCompletesWithOperationAbortedOnClose) {
    ip::tcp::acceptor acc{rt.b(), ip::endpoint{rt.b_address(), 7}};
    bool done = false;
    error_code result;
    acc.async_accept([&](error_code ec, ip::tcp::socket s) {
        result = ec;
        EXPECT_FALSE(s.is_open());
        done = true;
    });
    run_for(std::chrono::milliseconds{10});
    EXPECT_FALSE(done);
    acc.close();
    EXPECT_FALSE(done);  // posted, not inline
    ASSERT_TRUE(run_until([&] { return done; }));
    EXPECT_EQ(result, ae::operation_aborted);
}

TEST_F(AsioSocket, UdpSendToAndReceiveFrom) {
    ip::udp::socket server{rt.b(), ip::endpoint{rt.b_address(), 5353}};
    ip::udp::socket client{rt.a()};
    std::string in(64, '\0');
    ip::endpoint from;
    std::size_t got = 0;
    bool received = false, sent = false;
    error_code rx_ec, tx_ec;
    server.async_receive_from(boost::asio::buffer(in), from, [&](error_code ec, std::size_t n) {
        rx_ec = ec;
        got = n;
        received = true;
    });
    const std::string msg = "ping over udp";
    client.async_send_to(boost::asio::buffer(msg), ip::endpoint{rt.b_address(), 5353},
                         [&](error_code ec, std::size_t n) {
                             tx_ec = ec;
                             EXPECT_EQ(n, msg.size());
                             sent = true;
                         });
    EXPECT_FALSE(sent);
    ASSERT_TRUE(run_until([&] { return received && sent; }));
    EXPECT_FALSE(tx_ec) << tx_ec.message();
    ASSERT_FALSE(rx_ec) << rx_ec.message();
    EXPECT_EQ(in.substr(0, got), msg);
    EXPECT_EQ(from.address, rt.a_address());
    EXPECT_EQ(from.port, client.local_endpoint().port);

    // And back, gathering two buffers into one datagram.
    std::string reply_in(64, '\0');
    ip::endpoint reply_from;
    bool replied = false;
    client.async_receive_from(boost::asio::buffer(reply_in), reply_from, [&](error_code ec, std::size_t n) {
        EXPECT_FALSE(ec);
        reply_in.resize(n);
        replied = true;
    });
    const std::string p1 = "po", p2 = "ng";
    const std::array<boost::asio::const_buffer, 2> parts{boost::asio::buffer(p1), boost::asio::buffer(p2)};
    server.async_send_to(parts, from, [](error_code ec, std::size_t n) {
        EXPECT_FALSE(ec);
        EXPECT_EQ(n, 4u);
    });
    ASSERT_TRUE(run_until([&] { return replied; }));
    EXPECT_EQ(reply_in, "pong");
    EXPECT_EQ(reply_from, (ip::endpoint{rt.b_address(), 5353}));
}

TEST_F(AsioSocket, UdpReceiveCancelledByClose) {
    ip::udp::socket server{rt.b(), ip::endpoint{rt.b_address(), 5353}};
    std::array<char, 16> buf{};
    ip::endpoint from;
    error_code result;
    bool done = false;
    server.async_receive_from(boost::asio::buffer(buf), from, [&](error_code ec, std::size_t) {
        result = ec;
        done = true;
    });
    run_for(std::chrono::milliseconds{5});
    EXPECT_FALSE(done);
    server.close();
    ASSERT_TRUE(run_until([&] { return done; }));
    EXPECT_EQ(result, ae::operation_aborted);
}

}  // namespace
}  // namespace tapstack::testing
