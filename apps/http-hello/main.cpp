// http-hello: a small HTTP/1.1 server (Boost.Beast, C++20 coroutines) on tapstack's TCP
// socket over a TAP device. GET or HEAD of / (or /index.html) returns a greeting page; any
// other path is 404, any other method 405. Keep-alive is honoured (RFC 9112 §9.3): requests
// on one connection are answered in order until the client asks to close or goes away.
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <unordered_map>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <tapstack/ip/tcp.hpp>
#include "app.hpp"
#include "options.hpp"

namespace {

using namespace tapstack;
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

class http_server {
public:
    http_server(app::app_context& ctx, std::uint16_t port) : ctx_{ctx}, acceptor_{ctx.runtime()} {
        boost::system::error_code ec;
        acceptor_.open(ip::tcp::v4(), ec);
        if (!ec) acceptor_.set_option(socket_base::reuse_address{true}, ec);
        if (!ec) acceptor_.bind(ip::endpoint{app::wildcard_address(ctx_.options()), port}, ec);
        if (!ec) acceptor_.listen(socket_base::max_listen_connections, ec);
        if (ec) throw std::runtime_error{"cannot listen on TCP port " + std::to_string(port) + ": " + ec.message()};
        asio::co_spawn(ctx_.io(), accept_loop(), asio::detached);
    }
    ~http_server() { stop(); }

    /// Closes the listener and every connection (pending operations: operation_aborted).
    void stop() {
        if (stopped_) return;
        stopped_ = true;
        acceptor_.close();
        auto open = std::move(sessions_);
        sessions_.clear();
        for (auto& [id, sock] : open) sock->close();
    }

private:
    using socket_ptr = std::shared_ptr<ip::tcp::socket>;

    asio::awaitable<void> accept_loop() {
        auto ex = co_await asio::this_coro::executor;
        for (;;) {
            auto [ec, s] = co_await acceptor_.async_accept(asio::as_tuple(use_awaitable));
            if (stopped_ || ec == asio::error::operation_aborted) co_return;
            if (ec) continue;
            auto sock = std::make_shared<ip::tcp::socket>(std::move(s));
            const auto id = next_id_++;
            sessions_.emplace(id, sock);
            asio::co_spawn(ex, session(id, std::move(sock)), asio::detached);
        }
    }

    asio::awaitable<void> session(std::uint64_t id, socket_ptr sock) {
        boost::beast::flat_buffer buffer;
        for (std::uint64_t n = 1;; ++n) {
            http::request<http::string_body> req;
            auto [ec, bytes] = co_await http::async_read(*sock, buffer, req, asio::as_tuple(use_awaitable));
            if (ec) {
                // end_of_stream: the client closed between requests. A malformed request gets
                // a 400 and the connection ends (RFC 9112 §2.2).
                if (ec != http::error::end_of_stream && ec != asio::error::operation_aborted && sock->is_open() &&
                    ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
                    http::response<http::string_body> bad{http::status::bad_request, 11};
                    bad.set(http::field::content_type, "text/plain");
                    bad.body() = "bad request\n";
                    bad.keep_alive(false);
                    bad.prepare_payload();
                    co_await http::async_write(*sock, bad, asio::as_tuple(use_awaitable));
                }
                break;
            }
            auto res = respond(req, n);
            auto [wec, written] = co_await http::async_write(*sock, res, asio::as_tuple(use_awaitable));
            if (wec || !res.keep_alive()) break;
        }
        // FIN after everything written; the client may still be reading.
        if (!stopped_) {
            sock->close();
            sessions_.erase(id);
        }
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

    app::app_context& ctx_;
    ip::tcp::acceptor acceptor_;
    std::unordered_map<std::uint64_t, socket_ptr> sessions_;
    std::uint64_t next_id_ = 0;
    bool stopped_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    std::uint16_t port = 80;
    app::option_parser parser{"http-hello",
                              "http-hello --tap NAME --ip A.B.C.D/N [--host-ip A.B.C.D/N] [--port 80] [--pcap FILE]",
                              "Serves a greeting page over HTTP/1.1 (Boost.Beast) on tapstack until SIGINT or\n"
                              "SIGTERM: GET / returns it, other paths 404. Keep-alive is honoured. Prints\n"
                              "'ready ...' once it answers."};
    parser.add_port("--port", "HTTP port", port);
    parser.require("--tap");
    parser.require("--ip");
    parser.parse(argc, argv);
    if (port == 0) {
        std::cerr << "http-hello: bad --port '0': the server needs a port\n";
        return 2;
    }

    return app::run_main("http-hello", [&] {
        app::app_context ctx{"http-hello", parser.common()};
        http_server server{ctx, port};
        ctx.on_shutdown([&] { server.stop(); });
        const int status = ctx.run();
        server.stop();
        ctx.io().restart();
        ctx.io().poll();
        return status;
    });
}
