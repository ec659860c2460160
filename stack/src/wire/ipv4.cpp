// IPv4 headers (RFC 791).
#include <tapstack/wire/checksum.hpp>
#include <tapstack/wire/ipv4.hpp>

namespace tapstack::wire {
namespace {
namespace off {
constexpr std::size_t version_ihl = 0, dscp_ecn = 1, total_length = 2, identification = 4, flags_fragment = 6, ttl = 8,
                      protocol = 9, checksum = 10, source = 12, destination = 16;
}
constexpr std::uint16_t flag_dont_fragment = 0x4000;
}  // namespace

parse_result<ipv4_view> ipv4_view::parse(bytes packet) noexcept {
    if (packet.size() < ipv4_min_header_size) return parse_error::truncated;
    const std::uint8_t version_ihl = load_u8(packet, off::version_ihl);
    if ((version_ihl >> 4) != 4) return parse_error::bad_version;
    const std::size_t header_length = std::size_t{version_ihl & 0x0fu} * 4;
    if (header_length < ipv4_min_header_size || header_length > packet.size()) return parse_error::bad_header_length;
    // RFC 1122 §3.2.1.2: a host MUST verify the header checksum and silently discard on failure.
    if (internet_checksum(packet.first(header_length)) != 0) return parse_error::bad_checksum;
    const std::size_t total_length = load_be16(packet, off::total_length);
    if (total_length < header_length || total_length > packet.size()) return parse_error::bad_total_length;
    // Bytes beyond total length are link padding; keeping them out of the view makes
    // packet()/payload() exact without a second bound.
    return ipv4_view{packet.first(total_length)};
}

void ipv4_header::encode(mutable_bytes out, std::size_t payload_length) const noexcept {
    assert(out.size() >= ipv4_min_header_size);
    assert(payload_length <= 0xffff - ipv4_min_header_size);
    store_u8(out, off::version_ihl, 0x45);
    store_u8(out, off::dscp_ecn, dscp_ecn);
    store_be16(out, off::total_length, static_cast<std::uint16_t>(ipv4_min_header_size + payload_length));
    store_be16(out, off::identification, identification);
    store_be16(out, off::flags_fragment, dont_fragment ? flag_dont_fragment : 0);
    store_u8(out, off::ttl, ttl);
    store_u8(out, off::protocol, protocol);
    store_be16(out, off::checksum, 0);
    store_be32(out, off::source, source.to_uint());
    store_be32(out, off::destination, destination.to_uint());
    store_be16(out, off::checksum, internet_checksum(bytes{out.first(ipv4_min_header_size)}));
}

}  // namespace tapstack::wire
