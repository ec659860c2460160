#pragma once
// echo-server's services: one small file each, all started from main.cpp. A service owns its
// sockets and lives as long as the app_context it was made with.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include <tapstack/base/bytes.hpp>
#include <tapstack/ip/address.hpp>
#include <tapstack/stack.hpp>
#include "app.hpp"

namespace echo_server {

class service {
public:
    virtual ~service() = default;
    /// "udp echo 7" and the like, for the start-up log.
    virtual std::string describe() const = 0;
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

std::unique_ptr<service> make_udp_echo(tapstack::app::app_context& ctx, std::uint16_t port);     // RFC 862
std::unique_ptr<service> make_udp_discard(tapstack::app::app_context& ctx, std::uint16_t port);  // RFC 863
std::unique_ptr<service> make_udp_chargen(tapstack::app::app_context& ctx, std::uint16_t port);  // RFC 864

}  // namespace echo_server
