#pragma once
// echo-server's services: one small file each, all started from main.cpp. A service owns its
// sockets and lives as long as the app_context it was made with.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
#include <boost/asio/awaitable.hpp>
#include <tapstack/base/bytes.hpp>
#include <tapstack/ip/tcp.hpp>
#include <tapstack/ip/address.hpp>
#include <tapstack/stack.hpp>
#include "app.hpp"

namespace echo_server {

class service {
public:
    virtual ~service() = default;
    /// "udp echo 7" and the like, for the start-up log.
    virtual std::string describe() const = 0;
    /// Closes every socket the service holds (pending operations complete with
    /// operation_aborted). Called on shutdown, while the stack is still alive.
    virtual void stop() {}
};

/// A UDP service on one port: reads every datagram as the stack reports readiness and hands
/// it to on_datagram(). The buffer is allocated once.
class udp_service : public service, private tapstack::socket_waiter {
public:
    udp_service(tapstack::app::app_context& ctx, std::uint16_t port, std::string name);
    ~udp_service() override;
    std::string describe() const override;

protected:
    virtual void on_datagram(tapstack::bytes payload, const tapstack::ip::endpoint& from) = 0;
    /// Sends from this service's port.
    void send_to(tapstack::bytes payload, const tapstack::ip::endpoint& to);
    tapstack::app::app_context& ctx_;

private:
    void on_socket_event(tapstack::socket_handle h, std::uint8_t events) override;
    void drain();

    std::uint16_t port_;
    std::string name_;
    tapstack::socket_handle socket_;
    std::vector<std::byte> buffer_;
};

std::unique_ptr<service> make_udp_echo(tapstack::app::app_context& ctx, std::uint16_t port);  // RFC 862
std::unique_ptr<service> make_udp_discard(tapstack::app::app_context& ctx, std::uint16_t port);  // RFC 863
std::unique_ptr<service> make_udp_chargen(tapstack::app::app_context& ctx, std::uint16_t port);  // RFC 864

/// A TCP service on one port: accepts forever and runs session() as one coroutine per
/// connection (boost::asio::co_spawn on the app's io_context). Sessions are tracked so stop()
/// can close them all before the stack goes away.
class tcp_service : public service {
public:
    tcp_service(tapstack::app::app_context& ctx, std::uint16_t port, std::string name);
    ~tcp_service() override;
    std::string describe() const override;
    void stop() override;

protected:
    using socket_ptr = std::shared_ptr<tapstack::ip::tcp::socket>;
    /// Serves one connection; returning (or throwing) ends it. The socket is closed afterwards
    /// unless the session moved on with it elsewhere.
    virtual boost::asio::awaitable<void> session(socket_ptr sock) = 0;
    tapstack::app::app_context& ctx_;

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> run_session(std::uint64_t id, socket_ptr sock);

    std::uint16_t port_;
    std::string name_;
    tapstack::ip::tcp::acceptor acceptor_;
    std::unordered_map<std::uint64_t, socket_ptr> sessions_;
    std::uint64_t next_id_ = 0;
    bool stopped_ = false;
};

std::unique_ptr<service> make_tcp_echo(tapstack::app::app_context& ctx, std::uint16_t port);  // RFC 862
std::unique_ptr<service> make_tcp_discard(tapstack::app::app_context& ctx, std::uint16_t port);  // RFC 863
std::unique_ptr<service> make_tcp_chargen(tapstack::app::app_context& ctx, std::uint16_t port);  // RFC 864
std::unique_ptr<service> make_tcp_daytime(tapstack::app::app_context& ctx, std::uint16_t port);  // RFC 867

}  // namespace echo_server
