#pragma once
#include <tapstack/ip/address.hpp>
#include <tapstack/wire/ethernet.hpp>

namespace tapstack::wire {

constexpr std::size_t arp_packet_size = 28;  // Ethernet/IPv4 ARP (RFC 826)

enum class arp_operation : std::uint16_t { request = 1, reply = 2 };

class arp_view {
public:
    /// Accepts only hardware type 1 (Ethernet, hlen 6) with protocol 0x0800 (plen 4): anything
    /// else is `unsupported`; fewer than 28 bytes is `truncated`. Trailing padding is ignored.
    static parse_result<arp_view> parse(bytes packet) noexcept;
    std::uint16_t operation() const noexcept { return load_be16(bytes_, 6); }
    link::mac_address sender_mac() const noexcept;
    ip::address_v4 sender_ip() const noexcept { return ip::address_v4{load_be32(bytes_, 14)}; }
    link::mac_address target_mac() const noexcept;
    ip::address_v4 target_ip() const noexcept { return ip::address_v4{load_be32(bytes_, 24)}; }

private:
    explicit arp_view(bytes b) noexcept : bytes_{b} {}
    bytes bytes_;
};

struct arp_packet {
    arp_operation operation = arp_operation::request;
    link::mac_address sender_mac;
    ip::address_v4 sender_ip;
    link::mac_address target_mac;
    ip::address_v4 target_ip;
    /// Writes exactly 28 bytes.
    void encode(mutable_bytes out) const noexcept;
};

}  // namespace tapstack::wire
