#include <tapstack/errc.hpp>

namespace tapstack {

std::string_view to_string(errc e) noexcept {
    switch (e) {
    case errc::success: return "success";
    case errc::would_block: return "operation would block";
    case errc::address_in_use: return "address already in use";
    case errc::address_not_available: return "address not available";
    case errc::access_denied: return "permission denied";
    case errc::invalid_argument: return "invalid argument";
    case errc::not_connected: return "not connected";
    case errc::already_connected: return "already connected";
    case errc::already_open: return "already open";
    case errc::connection_refused: return "connection refused";
    case errc::connection_reset: return "connection reset by peer";
    case errc::connection_aborted: return "connection aborted";
    case errc::timed_out: return "connection timed out";
    case errc::host_unreachable: return "host unreachable";
    case errc::no_buffer_space: return "no buffer space available";
    case errc::message_size: return "message too long";
    case errc::bad_descriptor: return "bad descriptor";
    case errc::shut_down: return "cannot send after shutdown";
    }
    return "unknown error";
}

}  // namespace tapstack
