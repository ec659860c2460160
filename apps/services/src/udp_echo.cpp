// RFC 862: "When a datagram is received, the data from it is sent back in an answering
// datagram."
#include <tapstack/services/service.hpp>

namespace tapstack::services {
namespace {

class udp_echo final : public udp_service {
public:
    udp_echo(const service_host& host, std::uint16_t port) : udp_service{host, port, "echo"} {}

private:
    void on_datagram(bytes payload, const ip::endpoint& from) override { send_to(payload, from); }
};

}  // namespace

std::unique_ptr<service> make_udp_echo(const service_host& host, std::uint16_t port) {
    return std::make_unique<udp_echo>(host, port);
}

}  // namespace tapstack::services
