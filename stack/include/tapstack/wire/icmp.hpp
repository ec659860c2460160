#pragma once
#include <tapstack/wire/ethernet.hpp>

namespace tapstack::wire {

constexpr std::size_t icmp_header_size = 8;

enum class icmp_type : std::uint8_t {
    echo_reply = 0,
    destination_unreachable = 3,
    echo_request = 8,
    time_exceeded = 11
};

enum class icmp_unreachable_code : std::uint8_t {
    net = 0,
    host = 1,
    protocol = 2,
    port = 3,
    fragmentation_needed = 4,
};

class icmp_view {
public:
    /// Needs 8 bytes and a verifying checksum over the whole message.
    static parse_result<icmp_view> parse(bytes message) noexcept;
    std::uint8_t type() const noexcept { return load_u8(bytes_, 0); }
    std::uint8_t code() const noexcept { return load_u8(bytes_, 1); }
    /// Echo: identifier and sequence number.
    std::uint16_t identifier() const noexcept { return load_be16(bytes_, 4); }
    std::uint16_t sequence() const noexcept { return load_be16(bytes_, 6); }
    /// Bytes 4..7 as one word (the "rest of header": unused, next-hop MTU, ...).
    std::uint32_t rest_of_header() const noexcept { return load_be32(bytes_, 4); }
    /// Echo data, or for errors the quoted IP header plus at least 8 bytes.
    bytes body() const noexcept { return bytes_.subspan(icmp_header_size); }

private:
    explicit icmp_view(bytes b) noexcept : bytes_{b} {}
    bytes bytes_;
};

struct icmp_header {
    std::uint8_t type = 0;
    std::uint8_t code = 0;
    std::uint32_t rest_of_header = 0;
    /// Writes the 8-byte header at out[0..8) and then computes the checksum over out[0..8+body_size),
    /// where the body must already be in place at out[8..).
    void encode(mutable_bytes out, std::size_t body_size) const noexcept;
};

}  // namespace tapstack::wire
