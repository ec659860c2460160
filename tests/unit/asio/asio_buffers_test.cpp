// Issue 14 at the Asio edge: socket_base::send_buffer_size / receive_buffer_size (shaped like
// Asio's integer options), and a write of a buffer sequence entering the stack in one call: a
// Beast response (header and body, two buffers) leaves as one segment, Nagle on, so keep-alive
// requests do not wait for the client's delayed ACK.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <tapstack/wire/ethernet.hpp>
#include <tapstack/wire/ipv4.hpp>
#include <tapstack/wire/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include "asio_fixture.hpp"

namespace tapstack::testing {
namespace {
namespace http = boost::beast::http;
using boost::system::error_code;

using AsioBuffers = asio_test;

/// The payload sizes of the data segments B (10.0.0.2) sends.
struct data_from_b final : link::frame_sink {
    void send_frame(bytes frame, instant) override {
        auto eth = wire::ethernet_view::parse(frame);
        if (!eth || eth->type() != static_cast<std::uint16_t>(wire::ether_type::ipv4)) return;
        auto ip4 = wire::ipv4_view::parse(eth->payload());
        if (!ip4 || ip4->source() != ip::address_v4{10, 0, 0, 2}) return;
        auto view = wire::tcp_view::parse_unchecked(ip4->payload());
        if (!view) return;
        auto seg = view->decode();
        if (seg && !seg->payload.empty()) sizes.push_back(seg->payload.size());
    }
    std::vector<std::size_t> sizes;
};

TEST_F(AsioBuffers, BufferSizeOptionsSetGetAndInherit) {
    ip::tcp::socket s{rt.a()};
    s.open();
    tapstack::socket_base::send_buffer_size sb;
    s.get_option(sb);
    EXPECT_EQ(sb.value(), static_cast<int>(rt.a().stack().config().tcp.send_buffer_size));
    s.set_option(tapstack::socket_base::send_buffer_size{32768});
    s.set_option(tapstack::socket_base::receive_buffer_size{16384});
    s.get_option(sb);
    EXPECT_EQ(sb.value(), 32768);
    tapstack::socket_base::receive_buffer_size rb;
    s.get_option(rb);
    EXPECT_EQ(rb.value(), 16384);
    error_code ec;
    s.set_option(tapstack::socket_base::send_buffer_size{0}, ec);
    EXPECT_TRUE(ec);

    // An acceptor's sizes pass to the sockets it accepts.
    ip::tcp::acceptor acc{rt.b(), ip::endpoint{rt.b_address(), 81}};
    acc.set_option(tapstack::socket_base::send_buffer_size{20000});
    ip::tcp::socket client{rt.a()}, server{rt.b()};
    bool accepted = false, connected = false;
    acc.async_accept(server, [&](error_code e) { accepted = !e; });
    client.async_connect(ip::endpoint{rt.b_address(), 81}, [&](error_code e) { connected = !e; });
    ASSERT_TRUE(run_until([&] { return accepted && connected; }));
    server.get_option(sb);
    EXPECT_EQ(sb.value(), 20000);
    EXPECT_EQ(rt.b().stack().tcp_send_buffer_size(server.native_handle()).value(), 20000u);
}

TEST_F(AsioBuffers, KeepAliveBeastResponsesLeaveAsOneSegmentEach) {
    ip::tcp::socket client{rt.a()}, server{rt.b()};
    connect_pair(client, server, 80);
    data_from_b watch;
    rt.link().set_observer(&watch);

    constexpr int requests = 3;
    boost::beast::flat_buffer server_buf, client_buf;
    int served = 0, answered = 0;
    std::function<void()> serve = [&] {
        auto req = std::make_shared<http::request<http::string_body>>();
        http::async_read(server, server_buf, *req, [&, req](error_code ec, std::size_t) {
            ASSERT_FALSE(ec) << ec.message();
            auto res = std::make_shared<http::response<http::string_body>>(http::status::ok, 11);
            res->set(http::field::content_type, "text/plain");
            res->keep_alive(true);
            res->body() = "hello " + std::string(req->target());
            res->prepare_payload();
            http::async_write(server, *res, [&, res](error_code wec, std::size_t) {
                ASSERT_FALSE(wec) << wec.message();
                if (++served < requests) serve();
            });
        });
    };
    serve();
    std::function<void()> ask = [&] {
        auto out =
            std::make_shared<http::request<http::string_body>>(http::verb::get, "/" + std::to_string(answered), 11);
        out->set(http::field::host, "10.0.0.2");
        out->keep_alive(true);
        http::async_write(client, *out, [&, out](error_code ec, std::size_t) {
            ASSERT_FALSE(ec) << ec.message();
            auto in = std::make_shared<http::response<http::string_body>>();
            http::async_read(client, client_buf, *in, [&, in](error_code rec, std::size_t) {
                ASSERT_FALSE(rec) << rec.message();
                EXPECT_EQ(in->body(), "hello /" + std::to_string(answered));
                if (++answered < requests) ask();
            });
        });
    };
    ask();
    ASSERT_TRUE(run_until([&] { return served == requests && answered == requests; }));
    rt.link().set_observer(nullptr);
    // One data segment per response: the header did not leave alone with the body held back
    // by Nagle until the client's delayed ACK.
    EXPECT_EQ(watch.sizes.size(), static_cast<std::size_t>(requests));
}

}  // namespace
}  // namespace tapstack::testing
