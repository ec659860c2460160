// RFC 864, TCP based character generator: "Once a connection is established the server shall
// send a stream of data. Any data received is thrown away. This continues until the calling
// user terminates the connection." The stream is the RFC's pattern: 72 printable characters
// per line, each line starting one character further along the 95 printable ASCII
// characters (space to tilde), then CR LF.
#include "service.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace echo_server {
namespace {

using boost::asio::use_awaitable;

constexpr std::size_t line_chars = 72;
constexpr std::size_t line_bytes = line_chars + 2;
constexpr std::size_t printable = 95;

/// The pattern repeats after 95 lines: build that period once and send it over and over.
std::array<std::byte, printable * line_bytes> make_period() {
    std::array<std::byte, printable * line_bytes> out{};
    std::size_t i = 0;
    for (std::size_t line = 0; line < printable; ++line) {
        for (std::size_t c = 0; c < line_chars; ++c) out[i++] = static_cast<std::byte>(' ' + (line + c) % printable);
        out[i++] = std::byte{'\r'};
        out[i++] = std::byte{'\n'};
    }
    return out;
}

const std::array<std::byte, printable * line_bytes> period = make_period();

class tcp_chargen final : public tcp_service {
public:
    tcp_chargen(tapstack::app::app_context& ctx, std::uint16_t port) : tcp_service{ctx, port, "chargen"} {}

private:
    boost::asio::awaitable<void> session(socket_ptr sock) override {
        // The reader throws input away and, at the peer's FIN or a reset, closes the socket,
        // which aborts the writer's pending write.
        boost::asio::co_spawn(co_await boost::asio::this_coro::executor, drain(sock), boost::asio::detached);
        for (;;) {
            auto [ec, n] = co_await boost::asio::async_write(*sock, boost::asio::buffer(period), boost::asio::as_tuple(use_awaitable));
            if (ec) co_return;
        }
    }

    static boost::asio::awaitable<void> drain(socket_ptr sock) {
        std::array<std::byte, 2048> buf{};
        for (;;) {
            auto [ec, n] = co_await sock->async_read_some(boost::asio::buffer(buf), boost::asio::as_tuple(use_awaitable));
            if (ec) break;
        }
        sock->close();
    }
};

}  // namespace

std::unique_ptr<service> make_tcp_chargen(tapstack::app::app_context& ctx, std::uint16_t port) {
    return std::make_unique<tcp_chargen>(ctx, port);
}

}  // namespace echo_server
