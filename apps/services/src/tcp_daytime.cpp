// RFC 867, TCP based daytime service: "Once a connection is established the current date and
// time is sent out the connection as a ascii character string (and any data received is
// thrown away). The service closes the connection after sending the quote." We close first,
// so this side goes FIN-WAIT-1, FIN-WAIT-2 (or CLOSING) and TIME-WAIT (RFC 9293 §3.6).
// "There is no specific syntax for the daytime": the RFC's example style, in UTC.
#include <tapstack/services/service.hpp>

#include <ctime>
#include <string>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace tapstack::services {
namespace {

using boost::asio::use_awaitable;

std::string daytime_now() {
    // The wall clock belongs to the app, never to the stack (which only sees `now`).
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[64];
    const auto n = std::strftime(text, sizeof text, "%A, %B %d, %Y %H:%M:%S-UTC\r\n", &tm);
    return std::string{text, n};
}

class tcp_daytime final : public tcp_service {
public:
    tcp_daytime(const service_host& host, std::uint16_t port) : tcp_service{host, port, "daytime"} {}

private:
    boost::asio::awaitable<void> session(socket_ptr sock) override {
        const std::string text = daytime_now();
        co_await boost::asio::async_write(*sock, boost::asio::buffer(text), boost::asio::as_tuple(use_awaitable));
        // run_session closes the socket: FIN after the queued text.
    }
};

}  // namespace

std::unique_ptr<service> make_tcp_daytime(const service_host& host, std::uint16_t port) {
    return std::make_unique<tcp_daytime>(host, port);
}

}  // namespace tapstack::services
