// Boost.Beast works unchanged over tapstack::ip::tcp::socket (an AsyncReadStream/AsyncWriteStream).
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include "asio_fixture.hpp"

namespace tapstack::testing {
namespace {
namespace http = boost::beast::http;
using boost::system::error_code;

static_assert(boost::beast::is_async_read_stream<ip::tcp::socket>::value);
static_assert(boost::beast::is_async_write_stream<ip::tcp::socket>::value);

using AsioBeast = asio_test;

TEST_F(AsioBeast, HttpRequestAndResponse) {
    ip::tcp::socket client{rt.a()}, server{rt.b()};
    connect_pair(client, server, 80);

    // Server: read one request, answer it, then half-close.
    boost::beast::flat_buffer server_buf;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    bool served = false;
    http::async_read(server, server_buf, req, [&](error_code ec, std::size_t) {
        ASSERT_FALSE(ec) << ec.message();
        res.version(11);
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain");
        res.body() = "you asked for " + std::string(req.target()) + " with " + req.body();
        res.prepare_payload();
        http::async_write(server, res, [&](error_code wec, std::size_t) {
            ASSERT_FALSE(wec) << wec.message();
            served = true;
        });
    });

    // Client: a POST with a body, then read the response.
    http::request<http::string_body> out{http::verb::post, "/index.html", 11};
    out.set(http::field::host, "10.0.0.2");
    out.body() = std::string(5000, 'x');  // more than one segment
    out.prepare_payload();
    boost::beast::flat_buffer client_buf;
    http::response<http::string_body> in;
    bool got = false;
    http::async_write(client, out, [&](error_code ec, std::size_t) {
        ASSERT_FALSE(ec) << ec.message();
        http::async_read(client, client_buf, in, [&](error_code rec, std::size_t) {
            ASSERT_FALSE(rec) << rec.message();
            got = true;
        });
    });
    ASSERT_TRUE(run_until([&] { return served && got; }));
    EXPECT_EQ(req.method(), http::verb::post);
    EXPECT_EQ(req.body().size(), 5000u);
    EXPECT_EQ(in.result(), http::status::ok);
    EXPECT_EQ(in.body(), "you asked for /index.html with " + std::string(5000, 'x'));
    EXPECT_EQ(in[http::field::content_type], "text/plain");
}

}  // namespace
}  // namespace tapstack::testing
