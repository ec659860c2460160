// The TCP half of echo-server: one listener per service, one coroutine per connection.
#include "service.hpp"

#include <exception>
#include <iostream>
#include <stdexcept>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace echo_server {

using namespace tapstack;
using boost::asio::use_awaitable;

tcp_service::tcp_service(app::app_context& ctx, std::uint16_t port, std::string name)
    : ctx_{ctx}, port_{port}, name_{std::move(name)}, acceptor_{ctx.runtime()} {
    boost::system::error_code ec;
    acceptor_.open(ip::tcp::v4(), ec);
    if (!ec) acceptor_.set_option(socket_base::reuse_address{true}, ec);
    if (!ec) acceptor_.bind(ip::endpoint{app::wildcard_address(ctx_.options()), port_}, ec);
    if (!ec) acceptor_.listen(socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error{name_ + ": cannot listen on TCP port " + std::to_string(port_) + ": " + ec.message()};
    boost::asio::co_spawn(ctx_.io(), accept_loop(), boost::asio::detached);
}

tcp_service::~tcp_service() { stop(); }

std::string tcp_service::describe() const { return name_ + " tcp/" + std::to_string(port_); }

void tcp_service::stop() {
    if (stopped_) return;
    stopped_ = true;
    acceptor_.close();
    // Closing completes every pending operation with operation_aborted; the coroutines see it
    // when the io_context next runs them. Closed sockets no longer touch the stack.
    auto sessions = std::move(sessions_);
    sessions_.clear();
    for (auto& [id, sock] : sessions) sock->close();
}

boost::asio::awaitable<void> tcp_service::accept_loop() {
    auto ex = co_await boost::asio::this_coro::executor;
    for (;;) {
        auto [ec, s] = co_await acceptor_.async_accept(boost::asio::as_tuple(use_awaitable));
        if (stopped_ || ec == boost::asio::error::operation_aborted) co_return;
        if (ec) {
            // A handshake that failed before we accepted it: nothing to serve.
            std::cerr << "echo-server: " << describe() << ": accept: " << ec.message() << '\n';
            continue;
        }
        auto sock = std::make_shared<ip::tcp::socket>(std::move(s));
        const auto id = next_id_++;
        sessions_.emplace(id, sock);
        boost::asio::co_spawn(ex, run_session(id, std::move(sock)), boost::asio::detached);
    }
}

boost::asio::awaitable<void> tcp_service::run_session(std::uint64_t id, socket_ptr sock) {
    try {
        co_await session(sock);
    } catch (const std::exception&) {
        // The peer reset or went away; its connection is simply over.
    }
    // Only reached when the coroutine runs to its end, so the service is alive. A frame the
    // io_context destroys without resuming touches nothing but its closed socket.
    sock->close();
    sessions_.erase(id);
}

}  // namespace echo_server
