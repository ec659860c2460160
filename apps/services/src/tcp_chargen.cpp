// RFC 864, TCP based character generator: "Once a connection is established the server shall
// send a stream of data. Any data received is thrown away. This continues until the calling
// user terminates the connection." The stream is the RFC's pattern: 72 printable characters
// per line, each line starting one character further along the 95 printable ASCII
// characters (space to tilde), then CR LF.
#include <tapstack/services/service.hpp>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tapstack::services {
namespace {

using boost::asio::use_awaitable;

constexpr std::size_t line_chars = 72;
constexpr std::size_t line_bytes = line_chars + 2;
constexpr std::size_t printable = 95;

/// The pattern repeats after 95 lines (7,030 bytes). Writes start anywhere in it and take up to
/// `chunk_periods` periods at once, so the buffer holds one period more than that: any offset
/// into the first period plus a whole chunk stays inside it.
constexpr std::size_t period_bytes = printable * line_bytes;
constexpr std::size_t chunk_periods = 9;  // 63,270 bytes: about one TSO super-segment per write
using pattern_buffer = std::array<std::byte, (chunk_periods + 1) * period_bytes>;

pattern_buffer make_pattern() {
    pattern_buffer out{};
    std::size_t i = 0;
    for (std::size_t rep = 0; rep <= chunk_periods; ++rep) {
        for (std::size_t line = 0; line < printable; ++line) {
            for (std::size_t c = 0; c < line_chars; ++c)
                out[i++] = static_cast<std::byte>(' ' + (line + c) % printable);
            out[i++] = std::byte{'\r'};
            out[i++] = std::byte{'\n'};
        }
    }
    return out;
}

const pattern_buffer pattern = make_pattern();

class tcp_chargen final : public tcp_service {
public:
    tcp_chargen(const service_host& host, std::uint16_t port) : tcp_service{host, port, "chargen"} {}

private:
    boost::asio::awaitable<void> session(socket_ptr sock) override {
        // The reader throws input away and, at the peer's FIN or a reset, closes the socket,
        // which aborts the writer's pending write.
        boost::asio::co_spawn(co_await boost::asio::this_coro::executor, drain(sock), boost::asio::detached);
        // write_some, not async_write: each write takes all the send buffer has room for (up to
        // a chunk) and the stream goes on from wherever it stopped. One completion per ~64 KiB
        // rather than one per 7,030-byte period (each a trip through the io_context), and no
        // composed operation's per-step completions.
        std::size_t offset = 0;  // into the period: where the stream goes on
        for (;;) {
            auto [ec, n] = co_await sock->async_write_some(
                boost::asio::buffer(pattern.data() + offset, chunk_periods * period_bytes),
                boost::asio::as_tuple(use_awaitable));
            if (ec) co_return;
            active(sock);
            offset = (offset + n) % period_bytes;
        }
    }

    boost::asio::awaitable<void> drain(socket_ptr sock) {
        std::array<std::byte, 2048> buf{};
        for (;;) {
            auto [ec, n] =
                co_await sock->async_read_some(boost::asio::buffer(buf), boost::asio::as_tuple(use_awaitable));
            if (ec) break;
            active(sock);
        }
        sock->close();
    }
};

}  // namespace

std::unique_ptr<service> make_tcp_chargen(const service_host& host, std::uint16_t port) {
    return std::make_unique<tcp_chargen>(host, port);
}

}  // namespace tapstack::services
