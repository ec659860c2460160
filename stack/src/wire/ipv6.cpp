// IPv6 headers (RFC 8200) and the extension-header walk.
#include <tapstack/wire/ipv6.hpp>

namespace tapstack::wire {
namespace {
namespace off {
constexpr std::size_t version_class_flow = 0, payload_length = 4, next_header = 6, hop_limit = 7, source = 8,
                      destination = 24;
}
constexpr std::uint8_t pad1 = 0, padn = 1;
}  // namespace

parse_result<ipv6_view> ipv6_view::parse(bytes packet) noexcept {
    if (packet.size() < ipv6_header_size) return parse_error::truncated;
    if ((load_u8(packet, off::version_class_flow) >> 4) != 6) return parse_error::bad_version;
    const std::size_t payload_length = load_be16(packet, off::payload_length);
    // RFC 2675: a zero payload length announces a jumbo payload option; no Ethernet carries one.
    if (payload_length == 0 && packet.size() > ipv6_header_size &&
        load_u8(packet, off::next_header) == static_cast<std::uint8_t>(ipv6_next_header::hop_by_hop))
        return parse_error::unsupported;
    if (ipv6_header_size + payload_length > packet.size()) return parse_error::bad_total_length;
    return ipv6_view{packet.first(ipv6_header_size + payload_length)};
}

ip::address_v6 ipv6_view::address_at(std::size_t at) const noexcept {
    ip::address_v6::bytes_type b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = load_u8(bytes_, at + i);
    return ip::address_v6{b};
}

void ipv6_header::encode(mutable_bytes out, std::size_t payload_length) const noexcept {
    assert(out.size() >= ipv6_header_size);
    assert(payload_length <= 0xffff);
    store_be32(out, off::version_class_flow,
               (std::uint32_t{6} << 28) | (std::uint32_t{traffic_class} << 20) | (flow_label & 0xfffff));
    store_be16(out, off::payload_length, static_cast<std::uint16_t>(payload_length));
    store_u8(out, off::next_header, next_header);
    store_u8(out, off::hop_limit, hop_limit);
    const auto& s = source.to_bytes();
    const auto& d = destination.to_bytes();
    for (std::size_t i = 0; i < 16; ++i) {
        store_u8(out, off::source + i, s[i]);
        store_u8(out, off::destination + i, d[i]);
    }
}

void ipv6_fragment::encode(mutable_bytes out) const noexcept {
    assert(out.size() >= ipv6_fragment_header_size);
    assert(offset % 8 == 0);
    store_u8(out, 0, next_header);
    store_u8(out, 1, 0);
    store_be16(out, 2, static_cast<std::uint16_t>(offset | (more_fragments ? 1 : 0)));
    store_be32(out, 4, identification);
}

namespace {
/// The fragment header at `at` (RFC 8200 §4.5) ends the walk: the upper layer follows it.
ipv6_walk end_at_fragment(bytes p, std::size_t at, ipv6_walk w) noexcept {
    if (at + ipv6_fragment_header_size > p.size()) {
        w.result = ipv6_walk::outcome::truncated;
        return w;
    }
    ipv6_fragment f;
    f.next_header = load_u8(p, at);
    const std::uint16_t word = load_be16(p, at + 2);
    f.offset = static_cast<std::uint16_t>(word & 0xfff8);
    f.more_fragments = (word & 1) != 0;
    f.identification = load_be32(p, at + 4);
    f.header_offset = at;
    ++w.headers;
    w.fragment = f;
    w.result = ipv6_walk::outcome::upper_layer;
    w.protocol = f.next_header;
    w.offset = at + ipv6_fragment_header_size;
    w.next_header_pointer = at;
    return w;
}

/// §4.2: the options of the hop-by-hop or destination options header at `at` are TLVs; the two
/// high bits of an unknown type say what to do. False when the walk ends here (`w` says why).
bool walk_options(bytes p, std::size_t at, std::size_t length, ipv6_walk& w) noexcept {
    using outcome = ipv6_walk::outcome;
    const auto problem = [&](outcome o, std::size_t pointer) {
        w.result = o;
        w.code = ipv6_problem::unrecognized_option;
        w.pointer = static_cast<std::uint32_t>(pointer);
        return false;
    };
    std::size_t o = at + 2;
    const std::size_t end = at + length;
    while (o < end) {
        const std::uint8_t type = load_u8(p, o);
        if (type == pad1) {
            ++o;
            continue;
        }
        if (o + 2 > end || o + 2 + load_u8(p, o + 1) > end) {
            w.result = outcome::truncated;
            return false;
        }
        if (type != padn) {
            switch (type >> 6) {
            case 0: break;  // skip over this option
            case 1: w.result = outcome::discard; return false;
            case 2: return problem(outcome::problem, o);
            default: return problem(outcome::problem_unless_multicast, o);
            }
        }
        o += 2 + std::size_t{load_u8(p, o + 1)};
    }
    return true;
}
}  // namespace

ipv6_walk walk_extension_headers(const ipv6_view& packet, std::uint8_t max_headers) noexcept {
    using outcome = ipv6_walk::outcome;
    const bytes p = packet.packet();
    ipv6_walk w;
    std::uint8_t next = packet.next_header();
    std::size_t at = ipv6_header_size;
    std::size_t next_pointer = off::next_header;
    const auto problem = [&](outcome o, ipv6_problem code, std::size_t pointer) {
        w.result = o;
        w.code = code;
        w.pointer = static_cast<std::uint32_t>(pointer);
        return w;
    };
    while (true) {
        const auto kind = static_cast<ipv6_next_header>(next);
        const bool extension = kind == ipv6_next_header::hop_by_hop || kind == ipv6_next_header::destination_options ||
            kind == ipv6_next_header::routing || kind == ipv6_next_header::fragment;
        if (!extension) {
            w.result = kind == ipv6_next_header::no_next_header ? outcome::no_next_header : outcome::upper_layer;
            w.protocol = next;
            w.offset = at;
            w.next_header_pointer = next_pointer;
            return w;
        }
        // RFC 8200 §4.1: the hop-by-hop header "is restricted to appear immediately after an
        // IPv6 header only"; elsewhere it is an unrecognized next header (§4, last paragraph).
        if (kind == ipv6_next_header::hop_by_hop && at != ipv6_header_size)
            return problem(outcome::problem, ipv6_problem::unrecognized_next_header, next_pointer);
        if (w.headers >= max_headers) {
            w.result = outcome::discard;
            return w;
        }
        if (at + 2 > p.size()) {
            w.result = outcome::truncated;
            return w;
        }
        if (kind == ipv6_next_header::fragment) return end_at_fragment(p, at, w);
        // Hdr Ext Len: "in 8-octet units, not including the first 8 octets" (§4.3, §4.4, §4.6).
        const std::size_t length = (std::size_t{load_u8(p, at + 1)} + 1) * 8;
        if (at + length > p.size()) {
            w.result = outcome::truncated;
            return w;
        }
        if (kind == ipv6_next_header::routing) {
            // §4.4: with Segments Left non-zero and a routing type we do not recognize (we
            // recognize none: no forwarding, and type 0 is deprecated by RFC 5095), "send an
            // ICMP Parameter Problem, Code 0, ... pointing to the unrecognized Routing Type".
            // With Segments Left zero the header is ignored.
            if (load_u8(p, at + 3) != 0) return problem(outcome::problem, ipv6_problem::erroneous_header_field, at + 2);
        } else if (!walk_options(p, at, length, w)) {
            return w;
        }
        ++w.headers;
        next = load_u8(p, at);
        next_pointer = at;
        at += length;
    }
}

}  // namespace tapstack::wire
