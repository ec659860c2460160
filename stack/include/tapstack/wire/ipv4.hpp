#pragma once
#include <tapstack/ip/address.hpp>
#include <tapstack/wire/ethernet.hpp>

namespace tapstack::wire {

constexpr std::size_t ipv4_min_header_size = 20;

enum class ip_protocol : std::uint8_t { icmp = 1, tcp = 6, udp = 17, icmpv6 = 58 };

class ipv4_view {
public:
    /// Checks version 4, IHL >= 5, IHL*4 <= total length <= buffer, and the header checksum.
    /// Bytes after total length (Ethernet padding) are excluded from payload().
    static parse_result<ipv4_view> parse(bytes packet) noexcept;
    std::uint8_t header_length() const noexcept { return static_cast<std::uint8_t>((load_u8(bytes_, 0) & 0x0f) * 4); }
    std::uint8_t dscp_ecn() const noexcept { return load_u8(bytes_, 1); }
    std::uint16_t total_length() const noexcept { return load_be16(bytes_, 2); }
    std::uint16_t identification() const noexcept { return load_be16(bytes_, 4); }
    bool dont_fragment() const noexcept { return (load_u8(bytes_, 6) & 0x40) != 0; }
    bool more_fragments() const noexcept { return (load_u8(bytes_, 6) & 0x20) != 0; }
    std::uint16_t fragment_offset() const noexcept { return load_be16(bytes_, 6) & 0x1fff; }  // 8-byte units
    bool is_fragment() const noexcept { return more_fragments() || fragment_offset() != 0; }
    std::uint8_t ttl() const noexcept { return load_u8(bytes_, 8); }
    std::uint8_t protocol() const noexcept { return load_u8(bytes_, 9); }
    ip::address_v4 source() const noexcept { return ip::address_v4{load_be32(bytes_, 12)}; }
    ip::address_v4 destination() const noexcept { return ip::address_v4{load_be32(bytes_, 16)}; }
    bytes options() const noexcept { return bytes_.subspan(20, header_length() - 20u); }
    /// The whole header, options included (ICMP errors quote it).
    bytes header() const noexcept { return bytes_.first(header_length()); }
    bytes payload() const noexcept {
        return bytes_.subspan(header_length(), std::size_t{total_length()} - header_length());
    }
    /// Header plus payload, without link padding.
    bytes packet() const noexcept { return bytes_.first(total_length()); }

private:
    explicit ipv4_view(bytes b) noexcept : bytes_{b} {}
    bytes bytes_;
};

/// What we put in the headers we send: no options, so always 20 bytes.
struct ipv4_header {
    ip::address_v4 source;
    ip::address_v4 destination;
    std::uint8_t protocol = 0;
    std::uint8_t ttl = 64;
    std::uint16_t identification = 0;
    bool dont_fragment = true;
    std::uint8_t dscp_ecn = 0;
    /// Writes 20 bytes with total length 20 + payload_length and a correct header checksum.
    void encode(mutable_bytes out, std::size_t payload_length) const noexcept;
};

}  // namespace tapstack::wire
