// RFC 864, UDP based character generator: "When a datagram is received, an answering datagram
// is sent containing a random number (between 0 and 512) of characters (the data in the
// received datagram is ignored)." The characters follow the RFC's rotating 72-column pattern
// of the 95 printable ASCII characters, one line after another.
#include <tapstack/services/service.hpp>

#include <array>
#include <tapstack/base/random.hpp>

namespace tapstack::services {
namespace {

class udp_chargen final : public udp_service {
public:
    udp_chargen(const service_host& host, std::uint16_t port)
        : udp_service{host, port, "chargen"}, rng_{host.context.stack().config().seed ^ 0x636867656eULL} {}

private:
    void on_datagram(bytes, const ip::endpoint& from) override {
        const std::size_t n = rng_.below(513);
        std::size_t i = 0;
        while (i < n) {
            // One line: 72 characters starting at `line_` in the printable set, then CR LF.
            for (std::size_t c = 0; c < 72 && i < n; ++c, ++i) out_[i] = static_cast<std::byte>(' ' + (line_ + c) % 95);
            if (i < n) out_[i++] = std::byte{'\r'};
            if (i < n) out_[i++] = std::byte{'\n'};
            line_ = (line_ + 1) % 95;
        }
        send_to(bytes{out_.data(), n}, from);
    }
    random_source rng_;
    std::array<std::byte, 512> out_{};
    std::size_t line_ = 0;
};

}  // namespace

std::unique_ptr<service> make_udp_chargen(const service_host& host, std::uint16_t port) {
    return std::make_unique<udp_chargen>(host, port);
}

}  // namespace tapstack::services
