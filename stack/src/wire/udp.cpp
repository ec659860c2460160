// UDP datagrams (RFC 768; over IPv6, RFC 8200 §8.1).
#include <tapstack/wire/checksum.hpp>
#include <tapstack/wire/ipv4.hpp>
#include <tapstack/wire/udp.hpp>

namespace tapstack::wire {

parse_result<udp_view> udp_view::parse(bytes datagram, const ip::address& src, const ip::address& dst) noexcept {
    if (datagram.size() < udp_header_size) return parse_error::truncated;
    const std::size_t length = load_be16(datagram, 4);
    if (length < udp_header_size || length > datagram.size()) return parse_error::bad_total_length;
    const bytes exact = datagram.first(length);
    if (load_be16(exact, 6) == 0) {
        // RFC 768: "An all zero transmitted checksum value means that the transmitter generated
        // no checksum". RFC 8200 §8.1: over IPv6 such a datagram MUST be discarded.
        if (src.is_v4() && dst.is_v4()) return udp_view{exact};
        return parse_error::bad_checksum;
    }
    checksum_accumulator acc;
    add_pseudo_header(acc, src, dst, static_cast<std::uint8_t>(ip_protocol::udp), static_cast<std::uint32_t>(length));
    acc.add(exact);
    if (acc.folded() != 0xffff) return parse_error::bad_checksum;
    return udp_view{exact};
}

void udp_header::encode(mutable_bytes out, std::size_t payload_size, const ip::address& src,
                        const ip::address& dst) const noexcept {
    const std::size_t length = udp_header_size + payload_size;
    assert(out.size() >= length);
    assert(length <= 0xffff);
    store_be16(out, 0, source_port);
    store_be16(out, 2, destination_port);
    store_be16(out, 4, static_cast<std::uint16_t>(length));
    store_be16(out, 6, 0);
    checksum_accumulator acc;
    add_pseudo_header(acc, src, dst, static_cast<std::uint8_t>(ip_protocol::udp), static_cast<std::uint32_t>(length));
    acc.add(bytes{out.first(length)});
    std::uint16_t sum = acc.finish();
    // RFC 768: "If the computed checksum is zero, it is transmitted as all ones".
    if (sum == 0) sum = 0xffff;
    store_be16(out, 6, sum);
}

}  // namespace tapstack::wire
