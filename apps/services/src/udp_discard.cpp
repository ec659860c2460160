// RFC 863: "When a datagram is received, it is thrown away. No response is sent."
#include <tapstack/services/service.hpp>

namespace tapstack::services {
namespace {

class udp_discard final : public udp_service {
public:
    udp_discard(const service_host& host, std::uint16_t port) : udp_service{host, port, "discard"} {}

private:
    void on_datagram(bytes, const ip::endpoint&) override { ++discarded_; }
    std::uint64_t discarded_ = 0;
};

}  // namespace

std::unique_ptr<service> make_udp_discard(const service_host& host, std::uint16_t port) {
    return std::make_unique<udp_discard>(host, port);
}

}  // namespace tapstack::services
