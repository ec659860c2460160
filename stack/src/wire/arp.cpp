// ARP for Ethernet and IPv4 (RFC 826).
#include <tapstack/wire/arp.hpp>

namespace tapstack::wire {
namespace {
namespace off {
constexpr std::size_t hardware_type = 0, protocol_type = 2, hardware_length = 4, protocol_length = 5, operation = 6,
                      sender_mac = 8, sender_ip = 14, target_mac = 18, target_ip = 24;
}
constexpr std::uint16_t hardware_ethernet = 1;  // ar$hrd, "Ethernet (10Mb)"

link::mac_address load_mac(bytes b, std::size_t at) noexcept {
    link::mac_address m;
    for (std::size_t i = 0; i < m.bytes.size(); ++i) m.bytes[i] = load_u8(b, at + i);
    return m;
}
void store_mac(mutable_bytes b, std::size_t at, const link::mac_address& m) noexcept {
    for (std::size_t i = 0; i < m.bytes.size(); ++i) store_u8(b, at + i, m.bytes[i]);
}
}  // namespace

parse_result<arp_view> arp_view::parse(bytes packet) noexcept {
    if (packet.size() < arp_packet_size) return parse_error::truncated;
    if (load_be16(packet, off::hardware_type) != hardware_ethernet ||
        load_be16(packet, off::protocol_type) != static_cast<std::uint16_t>(ether_type::ipv4) ||
        load_u8(packet, off::hardware_length) != 6 || load_u8(packet, off::protocol_length) != 4)
        return parse_error::unsupported;
    // Ethernet pads short frames to 60 bytes: keep only the 28 that are ARP.
    return arp_view{packet.first(arp_packet_size)};
}

link::mac_address arp_view::sender_mac() const noexcept { return load_mac(bytes_, off::sender_mac); }
link::mac_address arp_view::target_mac() const noexcept { return load_mac(bytes_, off::target_mac); }

void arp_packet::encode(mutable_bytes out) const noexcept {
    assert(out.size() >= arp_packet_size);
    store_be16(out, off::hardware_type, hardware_ethernet);
    store_be16(out, off::protocol_type, static_cast<std::uint16_t>(ether_type::ipv4));
    store_u8(out, off::hardware_length, 6);
    store_u8(out, off::protocol_length, 4);
    store_be16(out, off::operation, static_cast<std::uint16_t>(operation));
    store_mac(out, off::sender_mac, sender_mac);
    store_be32(out, off::sender_ip, sender_ip.to_uint());
    store_mac(out, off::target_mac, target_mac);
    store_be32(out, off::target_ip, target_ip.to_uint());
}

}  // namespace tapstack::wire
