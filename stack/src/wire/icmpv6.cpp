// ICMPv6 (RFC 4443) and Neighbor Discovery messages (RFC 4861 §4).
#include <tapstack/wire/checksum.hpp>
#include <tapstack/wire/icmpv6.hpp>
#include <tapstack/wire/ipv4.hpp>

namespace tapstack::wire {
namespace {
constexpr auto icmpv6_protocol = static_cast<std::uint8_t>(ip_protocol::icmpv6);

std::uint16_t icmpv6_checksum(bytes message, const ip::address_v6& src, const ip::address_v6& dst) noexcept {
    checksum_accumulator acc;
    add_pseudo_header(acc, ip::address{src}, ip::address{dst}, icmpv6_protocol,
                      static_cast<std::uint32_t>(message.size()));
    acc.add(message);
    return acc.finish();
}

/// Calls fn(type, whole option) for each option; false when an option has length 0 or runs
/// past the message (RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that contains an
/// option with length zero").
template <class Fn>
bool for_each_option(bytes options, Fn&& fn) noexcept {
    std::size_t at = 0;
    while (at < options.size()) {
        if (at + 2 > options.size()) return false;
        const std::size_t length = std::size_t{load_u8(options, at + 1)} * 8;
        if (length == 0 || at + length > options.size()) return false;
        fn(load_u8(options, at), options.subspan(at, length));
        at += length;
    }
    return true;
}

std::optional<link::mac_address> link_layer_of(bytes option) noexcept {
    // RFC 2464 §8: for Ethernet the option is 8 bytes, the address right after type and length.
    if (option.size() != 8) return std::nullopt;
    link::mac_address m;
    for (std::size_t i = 0; i < 6; ++i) m.bytes[i] = load_u8(option, 2 + i);
    return m;
}

void write_link_layer_option(mutable_bytes out, std::size_t at, ndp_option_type type,
                             const link::mac_address& m) noexcept {
    store_u8(out, at, static_cast<std::uint8_t>(type));
    store_u8(out, at + 1, 1);
    for (std::size_t i = 0; i < 6; ++i) store_u8(out, at + 2 + i, m.bytes[i]);
}

ip::address_v6 address_at(bytes b, std::size_t at) noexcept {
    ip::address_v6::bytes_type a{};
    for (std::size_t i = 0; i < 16; ++i) a[i] = load_u8(b, at + i);
    return ip::address_v6{a};
}

void store_address(mutable_bytes out, std::size_t at, const ip::address_v6& a) noexcept {
    for (std::size_t i = 0; i < 16; ++i) store_u8(out, at + i, a.to_bytes()[i]);
}

void finish_checksum(mutable_bytes message, const ip::address_v6& src, const ip::address_v6& dst) noexcept {
    store_be16(message, 2, 0);
    store_be16(message, 2, icmpv6_checksum(bytes{message}, src, dst));
}
}  // namespace

parse_result<icmpv6_view> icmpv6_view::parse(bytes message, const ip::address_v6& src,
                                             const ip::address_v6& dst) noexcept {
    if (message.size() < icmpv6_header_size) return parse_error::truncated;
    if (icmpv6_checksum(message, src, dst) != 0) return parse_error::bad_checksum;
    return icmpv6_view{message};
}

void icmpv6_header::encode(mutable_bytes out, std::size_t body_size, const ip::address_v6& src,
                           const ip::address_v6& dst) const noexcept {
    assert(out.size() >= icmpv6_header_size + body_size);
    store_u8(out, 0, type);
    store_u8(out, 1, code);
    store_be32(out, 4, rest_of_header);
    finish_checksum(out.first(icmpv6_header_size + body_size), src, dst);
}

// ---------------------------------------------------------------- NS / NA / RA / RS

parse_result<neighbor_solicitation> neighbor_solicitation::parse(const icmpv6_view& m) noexcept {
    // RFC 4861 §7.1.1: ICMP code 0, length 24 or more, target not multicast.
    const bytes b = m.message();
    if (m.type() != static_cast<std::uint8_t>(icmpv6_type::neighbor_solicitation)) return parse_error::unsupported;
    if (m.code() != 0) return parse_error::unsupported;
    if (b.size() < 24) return parse_error::truncated;
    neighbor_solicitation ns;
    ns.target = address_at(b, 8);
    if (ns.target.is_multicast()) return parse_error::unsupported;
    const bool ok = for_each_option(b.subspan(24), [&](std::uint8_t type, bytes option) {
        if (type == static_cast<std::uint8_t>(ndp_option_type::source_link_layer))
            ns.source_link_layer = link_layer_of(option);
    });
    if (!ok) return parse_error::bad_option;
    return ns;
}

void neighbor_solicitation::encode(mutable_bytes out, const ip::address_v6& src,
                                   const ip::address_v6& dst) const noexcept {
    const auto message = out.first(encoded_size());
    store_u8(message, 0, static_cast<std::uint8_t>(icmpv6_type::neighbor_solicitation));
    store_u8(message, 1, 0);
    store_be32(message, 4, 0);
    store_address(message, 8, target);
    if (source_link_layer) write_link_layer_option(message, 24, ndp_option_type::source_link_layer, *source_link_layer);
    finish_checksum(message, src, dst);
}

parse_result<neighbor_advertisement> neighbor_advertisement::parse(const icmpv6_view& m) noexcept {
    // RFC 4861 §7.1.2: code 0, length 24 or more, target not multicast.
    const bytes b = m.message();
    if (m.type() != static_cast<std::uint8_t>(icmpv6_type::neighbor_advertisement)) return parse_error::unsupported;
    if (m.code() != 0) return parse_error::unsupported;
    if (b.size() < 24) return parse_error::truncated;
    neighbor_advertisement na;
    const std::uint8_t flags = load_u8(b, 4);
    na.router = (flags & 0x80) != 0;
    na.solicited = (flags & 0x40) != 0;
    na.override_flag = (flags & 0x20) != 0;
    na.target = address_at(b, 8);
    if (na.target.is_multicast()) return parse_error::unsupported;
    const bool ok = for_each_option(b.subspan(24), [&](std::uint8_t type, bytes option) {
        if (type == static_cast<std::uint8_t>(ndp_option_type::target_link_layer))
            na.target_link_layer = link_layer_of(option);
    });
    if (!ok) return parse_error::bad_option;
    return na;
}

void neighbor_advertisement::encode(mutable_bytes out, const ip::address_v6& src,
                                    const ip::address_v6& dst) const noexcept {
    const auto message = out.first(encoded_size());
    store_u8(message, 0, static_cast<std::uint8_t>(icmpv6_type::neighbor_advertisement));
    store_u8(message, 1, 0);
    store_be32(message, 4,
               (router ? 0x80000000u : 0) | (solicited ? 0x40000000u : 0) | (override_flag ? 0x20000000u : 0));
    store_address(message, 8, target);
    if (target_link_layer) write_link_layer_option(message, 24, ndp_option_type::target_link_layer, *target_link_layer);
    finish_checksum(message, src, dst);
}

parse_result<router_advertisement> router_advertisement::parse(const icmpv6_view& m) noexcept {
    // RFC 4861 §6.1.2: code 0, length 16 or more, options with non-zero lengths.
    const bytes b = m.message();
    if (m.type() != static_cast<std::uint8_t>(icmpv6_type::router_advertisement)) return parse_error::unsupported;
    if (m.code() != 0) return parse_error::unsupported;
    if (b.size() < 16) return parse_error::truncated;
    router_advertisement ra;
    ra.cur_hop_limit = load_u8(b, 4);
    ra.managed = (load_u8(b, 5) & 0x80) != 0;
    ra.other = (load_u8(b, 5) & 0x40) != 0;
    ra.router_lifetime_s = load_be16(b, 6);
    ra.reachable_time_ms = load_be32(b, 8);
    ra.retrans_timer_ms = load_be32(b, 12);
    const bool ok = for_each_option(b.subspan(16), [&](std::uint8_t type, bytes option) {
        if (type == static_cast<std::uint8_t>(ndp_option_type::source_link_layer))
            ra.source_link_layer = link_layer_of(option);
        // RFC 4861 §4.6.4: 8 bytes, the MTU in the last four.
        if (type == static_cast<std::uint8_t>(ndp_option_type::mtu) && option.size() == 8)
            ra.mtu = load_be32(option, 4);
    });
    if (!ok) return parse_error::bad_option;
    return ra;
}

void router_solicitation::encode(mutable_bytes out, const ip::address_v6& src,
                                 const ip::address_v6& dst) const noexcept {
    const auto message = out.first(encoded_size());
    store_u8(message, 0, static_cast<std::uint8_t>(icmpv6_type::router_solicitation));
    store_u8(message, 1, 0);
    store_be32(message, 4, 0);
    if (source_link_layer) write_link_layer_option(message, 8, ndp_option_type::source_link_layer, *source_link_layer);
    finish_checksum(message, src, dst);
}

// ---------------------------------------------------------------- addresses

ip::address_v6 solicited_node_multicast(const ip::address_v6& a) noexcept {
    const auto& b = a.to_bytes();
    return ip::address_v6{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, b[13], b[14], b[15]}};
}

ip::address_v6 all_nodes_multicast() noexcept {
    return ip::address_v6{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}};
}

ip::address_v6 all_routers_multicast() noexcept {
    return ip::address_v6{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02}};
}

link::mac_address multicast_mac(const ip::address_v6& group) noexcept {
    const auto& b = group.to_bytes();
    return link::mac_address{{0x33, 0x33, b[12], b[13], b[14], b[15]}};
}

ip::address_v6 link_local_from_mac(const link::mac_address& mac) noexcept {
    const auto& m = mac.bytes;
    // Modified EUI-64: insert ff:fe in the middle and invert the universal/local bit.
    return ip::address_v6{{0xfe, 0x80, 0, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(m[0] ^ 0x02), m[1], m[2], 0xff, 0xfe,
                           m[3], m[4], m[5]}};
}

}  // namespace tapstack::wire
