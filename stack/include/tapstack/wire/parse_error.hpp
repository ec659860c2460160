#pragma once
#include <cstdint>
#include <string_view>
#include <boost/assert/source_location.hpp>

namespace tapstack::wire {

/// Why a view refused its bytes. Each value is also a drop reason in the stats.
enum class parse_error : std::uint8_t {
    truncated,  // fewer bytes than the header (or a declared length) needs
    bad_version,  // IPv4 version field is not 4
    bad_header_length,  // IHL < 5, TCP data offset < 5, or beyond the buffer
    bad_total_length,  // IPv4 total length / UDP length inconsistent with the buffer
    bad_checksum,  // header or pseudo-header checksum does not verify
    bad_option,  // an option's length byte is missing, < 2, or runs past the options
    unsupported,  // well-formed but not something we handle (ARP hardware type, ...)
};

std::string_view to_string(parse_error e) noexcept;

/// Found by ADL from boost::system::result<T, parse_error>::value(): throws std::runtime_error
/// naming the error (the packet path uses has_value()/operator* and never gets here).
[[noreturn]] void throw_exception_from_error(parse_error e, const boost::source_location& loc);

}  // namespace tapstack::wire
