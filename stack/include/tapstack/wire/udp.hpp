#pragma once
#include <tapstack/ip/address.hpp>
#include <tapstack/wire/ethernet.hpp>

namespace tapstack::wire {

constexpr std::size_t udp_header_size = 8;

class udp_view {
public:
    /// Checks 8 <= length field <= buffer (the rest is padding) and, unless the checksum field is
    /// 0 over IPv4 (RFC 768: no checksum), the pseudo-header checksum. Over IPv6 zero is invalid.
    static parse_result<udp_view> parse(bytes datagram, const ip::address& src, const ip::address& dst) noexcept;
    std::uint16_t source_port() const noexcept { return load_be16(bytes_, 0); }
    std::uint16_t destination_port() const noexcept { return load_be16(bytes_, 2); }
    std::uint16_t length() const noexcept { return load_be16(bytes_, 4); }
    std::uint16_t checksum() const noexcept { return load_be16(bytes_, 6); }
    bytes payload() const noexcept { return bytes_.subspan(udp_header_size, length() - udp_header_size); }

private:
    explicit udp_view(bytes b) noexcept : bytes_{b} {}
    bytes bytes_;
};

struct udp_header {
    std::uint16_t source_port = 0;
    std::uint16_t destination_port = 0;
    /// Writes the header at out[0..8); the payload must already be at out[8..8+payload_size).
    /// Always computes the checksum (a computed 0 is sent as 0xffff, RFC 768).
    void encode(mutable_bytes out, std::size_t payload_size, const ip::address& src,
                const ip::address& dst) const noexcept;
};

}  // namespace tapstack::wire
