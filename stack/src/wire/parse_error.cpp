#include <tapstack/wire/parse_error.hpp>

#include <stdexcept>
#include <string>

namespace tapstack::wire {

std::string_view to_string(parse_error e) noexcept {
    switch (e) {
    case parse_error::truncated: return "truncated";
    case parse_error::bad_version: return "bad version";
    case parse_error::bad_header_length: return "bad header length";
    case parse_error::bad_total_length: return "bad total length";
    case parse_error::bad_checksum: return "bad checksum";
    case parse_error::bad_option: return "bad option";
    case parse_error::unsupported: return "unsupported";
    }
    return "unknown parse error";
}

// Declared in parse_error.hpp (owned here); base/throw_from_error.cpp has the errc twin.
void throw_exception_from_error(parse_error e, const boost::source_location& loc) {
    throw std::runtime_error(std::string{"parse error: "} + std::string{to_string(e)} + " at " + loc.to_string());
}

}  // namespace tapstack::wire
