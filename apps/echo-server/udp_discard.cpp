// RFC 863: "When a datagram is received, it is thrown away. No response is sent."
#include "service.hpp"

namespace echo_server {
namespace {

class udp_discard final : public udp_service {
public:
    udp_discard(tapstack::app::app_context& ctx, std::uint16_t port) : udp_service{ctx, port, "discard"} {}

private:
    void on_datagram(tapstack::bytes, const tapstack::ip::endpoint&) override { ++discarded_; }
    std::uint64_t discarded_ = 0;
};

}  // namespace

std::unique_ptr<service> make_udp_discard(tapstack::app::app_context& ctx, std::uint16_t port) {
    return std::make_unique<udp_discard>(ctx, port);
}

}  // namespace echo_server
