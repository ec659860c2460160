#pragma once
// The demo services: echo (RFC 862), discard (RFC 863), chargen (RFC 864) over UDP and TCP,
// daytime (RFC 867) over TCP, and http-hello (HTTP/1.1, Boost.Beast). One small file each,
// written once over tap::stack_context and tapstack's Asio-style sockets, so that they run the
// same on the TAP runtime (echo-server, http-hello) and on the replay engine's virtual clock
// (apps/replay). A service owns its sockets and lives as long as the host it was made with.
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <tapstack/base/bytes.hpp>
#include <tapstack/base/time.hpp>
#include <tapstack/ip/address.hpp>
#include <tapstack/ip/tcp.hpp>
#include <tapstack/stack.hpp>
#include <tapstack/tap/stack_context.hpp>

namespace tapstack::services {

/// What a service runs on.
struct service_host {
    /// The stack's driver: the TAP runtime, or the replay's virtual clock.
    tap::stack_context& context;
    /// Where the TCP services' coroutines run (echo-server: its io_context's executor).
    boost::asio::any_io_executor executor;
    /// The address the services bind: a wildcard (the IPv6 one takes IPv4 too).
    ip::address bind_address;
    /// Failed accepts are reported here as "PROGRAM: SERVICE: accept: MESSAGE" (null: silent).
    std::ostream* log = nullptr;
    std::string program;
};

class service {
public:
    virtual ~service() = default;
    /// "udp echo 7" and the like, for the start-up log.
    virtual std::string describe() const = 0;
    /// Closes every socket the service holds (pending operations complete with
    /// operation_aborted). Called on shutdown, while the stack is still alive.
    virtual void stop() {}
    /// The earliest instant at which a connection will have been idle for `idle` (nullopt:
    /// none open). A driver that closes idle connections (replay --idle-close, as socat -T)
    /// calls close_idle() then.
    virtual std::optional<instant> idle_deadline(duration /*idle*/) const { return std::nullopt; }
    /// Closes the connections idle for `idle` or longer at `now`.
    virtual void close_idle(instant /*now*/, duration /*idle*/) {}
};

/// A UDP service on one port: reads every datagram as the stack reports readiness and hands
/// it to on_datagram(). The buffer is allocated once.
class udp_service : public service, private socket_waiter {
public:
    udp_service(const service_host& host, std::uint16_t port, std::string name);
    ~udp_service() override;
    std::string describe() const override;

protected:
    virtual void on_datagram(bytes payload, const ip::endpoint& from) = 0;
    /// Sends from this service's port.
    void send_to(bytes payload, const ip::endpoint& to);
    service_host host_;

private:
    void on_socket_event(socket_handle h, std::uint8_t events) override;
    void drain();

    std::uint16_t port_;
    std::string name_;
    socket_handle socket_;
    std::vector<std::byte> buffer_;
};

std::unique_ptr<service> make_udp_echo(const service_host& host, std::uint16_t port);  // RFC 862
std::unique_ptr<service> make_udp_discard(const service_host& host, std::uint16_t port);  // RFC 863
std::unique_ptr<service> make_udp_chargen(const service_host& host, std::uint16_t port);  // RFC 864

/// A TCP service on one port: accepts forever and runs session() as one coroutine per
/// connection (boost::asio::co_spawn on the host's executor). Sessions are tracked so stop()
/// can close them all before the stack goes away, and so idle ones can be closed.
class tcp_service : public service {
public:
    /// `error_prefix` starts the message of a failure to listen (default "NAME: ").
    tcp_service(const service_host& host, std::uint16_t port, std::string name,
                std::optional<std::string> error_prefix = std::nullopt);
    ~tcp_service() override;
    std::string describe() const override;
    void stop() override;
    std::optional<instant> idle_deadline(duration idle) const override;
    void close_idle(instant now, duration idle) override;

protected:
    using socket_ptr = std::shared_ptr<ip::tcp::socket>;
    /// Serves one connection; returning (or throwing) ends it. The socket is closed afterwards
    /// unless the session moved on with it elsewhere.
    virtual boost::asio::awaitable<void> session(socket_ptr sock) = 0;
    /// A session calls this when it read or wrote something (for close_idle()).
    void active(const socket_ptr& sock);
    service_host host_;

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> run_session(std::uint64_t id, socket_ptr sock);

    std::uint16_t port_;
    std::string name_;
    ip::tcp::acceptor acceptor_;
    std::unordered_map<std::uint64_t, socket_ptr> sessions_;
    std::unordered_map<const ip::tcp::socket*, instant> last_activity_;
    std::uint64_t next_id_ = 0;
    bool stopped_ = false;
};

std::unique_ptr<service> make_tcp_echo(const service_host& host, std::uint16_t port);  // RFC 862
std::unique_ptr<service> make_tcp_discard(const service_host& host, std::uint16_t port);  // RFC 863
std::unique_ptr<service> make_tcp_chargen(const service_host& host, std::uint16_t port);  // RFC 864
std::unique_ptr<service> make_tcp_daytime(const service_host& host, std::uint16_t port);  // RFC 867
/// GET or HEAD of / (or /index.html) returns a greeting page; any other path is 404, any
/// other method 405. Keep-alive is honoured (RFC 9112 §9.3).
std::unique_ptr<service> make_http_hello(const service_host& host, std::uint16_t port);

}  // namespace tapstack::services
