// ICMP messages (RFC 792).
#include <tapstack/wire/checksum.hpp>
#include <tapstack/wire/icmp.hpp>

namespace tapstack::wire {

parse_result<icmp_view> icmp_view::parse(bytes message) noexcept {
    if (message.size() < icmp_header_size) return parse_error::truncated;
    // RFC 792: "the 16-bit one's complement of the one's complement sum of the ICMP message".
    if (internet_checksum(message) != 0) return parse_error::bad_checksum;
    return icmp_view{message};
}

void icmp_header::encode(mutable_bytes out, std::size_t body_size) const noexcept {
    assert(out.size() >= icmp_header_size + body_size);
    store_u8(out, 0, type);
    store_u8(out, 1, code);
    store_be16(out, 2, 0);
    store_be32(out, 4, rest_of_header);
    store_be16(out, 2, internet_checksum(bytes{out.first(icmp_header_size + body_size)}));
}

}  // namespace tapstack::wire
