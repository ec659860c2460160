#include <tapstack/ip/error.hpp>

#include <cerrno>
#include <boost/asio/error.hpp>

namespace tapstack::ip {

boost::system::error_code to_error_code(errc e) noexcept {
    namespace ae = boost::asio::error;
    switch (e) {
    case errc::success: return {};
    case errc::would_block: return ae::would_block;
    case errc::address_in_use: return ae::address_in_use;
    // Asio has no enumerator for EADDRNOTAVAIL; its sockets report the system category value.
    case errc::address_not_available: return {EADDRNOTAVAIL, boost::system::system_category()};
    case errc::access_denied: return ae::access_denied;
    case errc::invalid_argument: return ae::invalid_argument;
    case errc::not_connected: return ae::not_connected;
    case errc::already_connected: return ae::already_connected;
    case errc::already_open: return ae::already_open;
    case errc::connection_refused: return ae::connection_refused;
    case errc::connection_reset: return ae::connection_reset;
    case errc::connection_aborted: return ae::connection_aborted;
    case errc::timed_out: return ae::timed_out;
    case errc::host_unreachable: return ae::host_unreachable;
    case errc::no_buffer_space: return ae::no_buffer_space;
    case errc::message_size: return ae::message_size;
    case errc::bad_descriptor: return ae::bad_descriptor;
    // Linux send() after shutdown(SHUT_WR) fails with EPIPE, which Asio reports as broken_pipe.
    case errc::shut_down: return ae::broken_pipe;
    }
    return ae::invalid_argument;
}

}  // namespace tapstack::ip
