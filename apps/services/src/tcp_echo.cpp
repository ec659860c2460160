// RFC 862, TCP based echo service: "Once a connection is established any data received is
// sent back. This continues until the calling user terminates the connection."
//
// Bounded chunks: read up to 64 KiB, write it all back, repeat. The stack's send buffer is
// bounded too, so a peer that never reads stalls only its own connection (our receive window
// closes behind it); a peer that reads while it writes (socat, the e2e tests' clients) streams
// any amount. After the peer's FIN (eof) we finish writing, then close: FIN in turn.
#include <tapstack/services/service.hpp>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace tapstack::services {
namespace {

using boost::asio::use_awaitable;

class tcp_echo final : public tcp_service {
public:
    tcp_echo(const service_host& host, std::uint16_t port) : tcp_service{host, port, "echo"} {}

private:
    boost::asio::awaitable<void> session(socket_ptr sock) override {
        // One buffer per connection, allocated once (not per read).
        auto buf =
            std::make_unique_for_overwrite<std::array<std::byte, 64 * 1024>>();  // no 64 KiB memset per connection
        for (;;) {
            auto [ec, n] =
                co_await sock->async_read_some(boost::asio::buffer(*buf), boost::asio::as_tuple(use_awaitable));
            if (ec) co_return;  // eof: the peer is done; anything else: the connection is gone
            active(sock);
            auto [wec, written] = co_await boost::asio::async_write(*sock, boost::asio::buffer(buf->data(), n),
                                                                    boost::asio::as_tuple(use_awaitable));
            if (wec) co_return;
            active(sock);
        }
    }
};

}  // namespace

std::unique_ptr<service> make_tcp_echo(const service_host& host, std::uint16_t port) {
    return std::make_unique<tcp_echo>(host, port);
}

}  // namespace tapstack::services
