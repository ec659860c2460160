#pragma once
// The one place the core's errc becomes the boost::system::error_code Asio's sockets report.
#include <boost/system/error_code.hpp>
#include <tapstack/errc.hpp>

namespace tapstack::ip {

/// Maps a core error to the value a boost::asio::ip socket reports for the same condition, so
/// `ec == boost::asio::error::connection_refused` (and eof, timed_out, ...) hold.
/// success -> a default (false) error_code; address_not_available -> system-category
/// EADDRNOTAVAIL (Asio has no enumerator for it); shut_down (send after shutdown) ->
/// broken_pipe, as Linux reports EPIPE.
boost::system::error_code to_error_code(errc e) noexcept;

}  // namespace tapstack::ip
