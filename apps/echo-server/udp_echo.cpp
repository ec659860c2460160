// RFC 862: "When a datagram is received, the data from it is sent back in an answering
// datagram."
#include "service.hpp"

namespace echo_server {
namespace {

class udp_echo final : public udp_service {
public:
    udp_echo(tapstack::app::app_context& ctx, std::uint16_t port) : udp_service{ctx, port, "echo"} {}

private:
    void on_datagram(tapstack::bytes payload, const tapstack::ip::endpoint& from) override { send_to(payload, from); }
};

}  // namespace

std::unique_ptr<service> make_udp_echo(tapstack::app::app_context& ctx, std::uint16_t port) {
    return std::make_unique<udp_echo>(ctx, port);
}

}  // namespace echo_server
