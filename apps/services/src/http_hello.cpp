// http-hello: a small HTTP/1.1 server (Boost.Beast, C++20 coroutines) on tapstack's TCP socket.
// GET or HEAD of / (or /index.html) returns a greeting page; any other path is 404, any other
// method 405. Keep-alive is honoured (RFC 9112 §9.3): requests on one connection are answered
// in order until the client asks to close or goes away.
#include <tapstack/services/service.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace tapstack::services {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::use_awaitable;

constexpr const char* page =
    "<!DOCTYPE html>\n"
    "<html>\n"
    "<head><title>Hello from tapstack</title></head>\n"
    "<body>\n"
    "<h1>Hello from tapstack</h1>\n"
    "<p>This page came over a userspace TCP/IP stack speaking Ethernet on a TAP device.</p>\n"
    "</body>\n"
    "</html>\n";

class http_hello final : public tcp_service {
public:
    http_hello(const service_host& host, std::uint16_t port) : tcp_service{host, port, "http-hello", ""} {}

private:
    asio::awaitable<void> session(socket_ptr sock) override {
        boost::beast::flat_buffer buffer;
        for (std::uint64_t n = 1;; ++n) {
            http::request<http::string_body> req;
            auto [ec, bytes] = co_await http::async_read(*sock, buffer, req, asio::as_tuple(use_awaitable));
            if (ec) {
                // end_of_stream: the client closed between requests. A malformed request gets
                // a 400 and the connection ends (RFC 9112 §2.2).
                if (ec != http::error::end_of_stream && ec != asio::error::operation_aborted && sock->is_open() &&
                    ec.category() == http::make_error_code(http::error::end_of_stream).category())
                    co_await http::async_write(*sock, bad_request(), asio::as_tuple(use_awaitable));
                break;
            }
            active(sock);
            auto res = respond(req, n);
            auto [wec, written] = co_await http::async_write(*sock, res, asio::as_tuple(use_awaitable));
            if (wec || !res.keep_alive()) break;
            active(sock);
        }
        // tcp_service closes the socket: FIN after everything written; the client may still
        // be reading.
    }

    static http::response<http::string_body> bad_request() {
        http::response<http::string_body> bad{http::status::bad_request, 11};
        bad.set(http::field::content_type, "text/plain");
        bad.body() = "bad request\n";
        bad.keep_alive(false);
        bad.prepare_payload();
        return bad;
    }

    static http::response<http::string_body> respond(const http::request<http::string_body>& req, std::uint64_t n) {
        http::response<http::string_body> res;
        res.version(req.version());
        res.keep_alive(req.keep_alive());
        res.set(http::field::server, "tapstack http-hello");
        res.set("X-Request-On-Connection", std::to_string(n));
        const bool get_or_head = req.method() == http::verb::get || req.method() == http::verb::head;
        const auto target = req.target();
        if (!get_or_head) {
            res.result(http::status::method_not_allowed);
            res.set(http::field::allow, "GET, HEAD");
            res.set(http::field::content_type, "text/plain");
            res.body() = "method not allowed\n";
        } else if (target == "/" || target == "/index.html") {
            res.result(http::status::ok);
            res.set(http::field::content_type, "text/html; charset=utf-8");
            res.body() = page;
        } else {
            res.result(http::status::not_found);
            res.set(http::field::content_type, "text/plain");
            res.body() = "not found: " + std::string{target} + "\n";
        }
        res.prepare_payload();  // Content-Length, so keep-alive works
        if (req.method() == http::verb::head) res.body().clear();  // the length stays
        return res;
    }
};

}  // namespace

std::unique_ptr<service> make_http_hello(const service_host& host, std::uint16_t port) {
    return std::make_unique<http_hello>(host, port);
}

}  // namespace tapstack::services
