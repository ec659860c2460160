// The TCP half of the services: one listener per service, one coroutine per connection.
#include <tapstack/services/service.hpp>

#include <exception>
#include <stdexcept>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tapstack::services {

using boost::asio::use_awaitable;

tcp_service::tcp_service(const service_host& host, std::uint16_t port, std::string name,
                         std::optional<std::string> error_prefix)
    : host_{host}, port_{port}, name_{std::move(name)}, acceptor_{host.context} {
    boost::system::error_code ec;
    acceptor_.open(ip::tcp::v4(), ec);
    if (!ec) acceptor_.set_option(socket_base::reuse_address{true}, ec);
    if (!ec) acceptor_.bind(ip::endpoint{host_.bind_address, port_}, ec);
    if (!ec) acceptor_.listen(socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error{error_prefix.value_or(name_ + ": ") + "cannot listen on TCP port " +
                                 std::to_string(port_) + ": " + ec.message()};
    boost::asio::co_spawn(host_.executor, accept_loop(), boost::asio::detached);
}

tcp_service::~tcp_service() { stop(); }

std::string tcp_service::describe() const { return name_ + " tcp/" + std::to_string(port_); }

void tcp_service::stop() {
    if (stopped_) return;
    stopped_ = true;
    acceptor_.close();
    // Closing completes every pending operation with operation_aborted; the coroutines see it
    // when the executor next runs them. Closed sockets no longer touch the stack.
    auto sessions = std::move(sessions_);
    sessions_.clear();
    last_activity_.clear();
    for (auto& [id, sock] : sessions) sock->close();
}

void tcp_service::active(const socket_ptr& sock) {
    // Only for a session still tracked: a chargen reader may outlive its writer's session.
    if (auto it = last_activity_.find(sock.get()); it != last_activity_.end()) it->second = host_.context.now();
}

std::optional<instant> tcp_service::idle_deadline(duration idle) const {
    std::optional<instant> d;
    for (const auto& [sock, at] : last_activity_)
        if (!d || at + idle < *d) d = at + idle;
    return d;
}

void tcp_service::close_idle(instant now, duration idle) {
    std::vector<std::uint64_t> expired;
    for (const auto& [id, sock] : sessions_) {
        const auto at = last_activity_.find(sock.get());
        if (at != last_activity_.end() && at->second + idle <= now) expired.push_back(id);
    }
    for (auto id : expired) {
        auto it = sessions_.find(id);
        const auto sock = it->second;
        last_activity_.erase(sock.get());
        sessions_.erase(it);
        sock->close();  // the session's pending operation ends with operation_aborted
    }
}

boost::asio::awaitable<void> tcp_service::accept_loop() {
    auto ex = co_await boost::asio::this_coro::executor;
    for (;;) {
        auto [ec, s] = co_await acceptor_.async_accept(boost::asio::as_tuple(use_awaitable));
        if (stopped_ || ec == boost::asio::error::operation_aborted) co_return;
        if (ec) {
            // A handshake that failed before we accepted it: nothing to serve.
            if (host_.log != nullptr)
                *host_.log << host_.program << ": " << describe() << ": accept: " << ec.message() << '\n';
            continue;
        }
        auto sock = std::make_shared<ip::tcp::socket>(std::move(s));
        const auto id = next_id_++;
        sessions_.emplace(id, sock);
        last_activity_.emplace(sock.get(), host_.context.now());
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
    // executor destroys without resuming touches nothing but its closed socket.
    sock->close();
    last_activity_.erase(sock.get());
    sessions_.erase(id);
}

}  // namespace tapstack::services
