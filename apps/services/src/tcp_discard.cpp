// RFC 863, TCP based discard service: "Once a connection is established any data received is
// thrown away. No response is sent. This continues until the calling user terminates the
// connection." We close after the peer's FIN.
#include <tapstack/services/service.hpp>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tapstack::services {
namespace {

using boost::asio::use_awaitable;

class tcp_discard final : public tcp_service {
public:
    tcp_discard(const service_host& host, std::uint16_t port) : tcp_service{host, port, "discard"} {}

private:
    boost::asio::awaitable<void> session(socket_ptr sock) override {
        auto buf =
            std::make_unique_for_overwrite<std::array<std::byte, 64 * 1024>>();  // no 64 KiB memset per connection
        for (;;) {
            auto [ec, n] =
                co_await sock->async_read_some(boost::asio::buffer(*buf), boost::asio::as_tuple(use_awaitable));
            if (ec) co_return;
            active(sock);
            discarded_ += n;
        }
    }
    std::uint64_t discarded_ = 0;
};

}  // namespace

std::unique_ptr<service> make_tcp_discard(const service_host& host, std::uint16_t port) {
    return std::make_unique<tcp_discard>(host, port);
}

}  // namespace tapstack::services
