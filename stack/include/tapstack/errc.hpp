#pragma once
#include <cstdint>
#include <string_view>
#include <boost/assert/source_location.hpp>

namespace tapstack {

/// Errors the core's socket API reports. The edge (tap/) maps them to the boost::asio::error
/// values Asio's own sockets report, in one function.
enum class errc : std::uint8_t {
    success = 0,
    would_block,  // nothing to read / no space / no pending connection yet
    address_in_use,
    address_not_available,  // no such local address, or the ephemeral range is exhausted
    access_denied,  // a port below 1024 on an unprivileged stack
    invalid_argument,  // wrong state for the call, bad endpoint, port 0 as a destination
    not_connected,
    already_connected,
    already_open,
    connection_refused,
    connection_reset,
    connection_aborted,
    timed_out,
    host_unreachable,  // ARP gave up
    no_buffer_space,  // a resource bound was hit
    message_size,  // datagram larger than the link allows
    bad_descriptor,  // stale or closed handle
    shut_down,  // send after shutdown
};

std::string_view to_string(errc e) noexcept;

/// Lets result<T, errc>::value() throw (std::system_error-like runtime_error with the message).
[[noreturn]] void throw_exception_from_error(errc e, const boost::source_location& loc);

}  // namespace tapstack
