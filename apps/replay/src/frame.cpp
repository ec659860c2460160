#include "frame.hpp"

namespace tapstack::tap::detail {

std::string_view kind_name(flow_kind k) {
    switch (k) {
    case flow_kind::arp: return "arp";
    case flow_kind::icmp: return "icmp";
    case flow_kind::udp: return "udp";
    case flow_kind::tcp: return "tcp";
    case flow_kind::other: return "other";
    case flow_kind::ndp: return "ndp";
    case flow_kind::mld: return "mld";
    }
    return "other";
}

namespace {

link::mac_address mac_at(bytes b, std::size_t off) {
    link::mac_address m;
    for (std::size_t i = 0; i < 6; ++i) m.bytes[i] = load_u8(b, off + i);
    return m;
}

}  // namespace

void parse_l4(bytes f, parsed_frame& p, std::uint8_t proto);
parsed_frame parse_ipv6(bytes f, parsed_frame& p);

parsed_frame parse_frame(bytes f) {
    parsed_frame p;
    if (f.size() < eth_size) return p;
    p.dst_mac = mac_at(f, 0);
    p.src_mac = mac_at(f, 6);
    p.ethertype = load_be16(f, 12);
    if (p.ethertype == 0x0806) {
        if (f.size() < eth_size + 28 || load_be16(f, 14) != 1 || load_be16(f, 16) != 0x0800 || load_u8(f, 18) != 6 ||
            load_u8(f, 19) != 4)
            return p;
        p.kind = flow_kind::arp;
        p.arp_op = load_be16(f, 20);
        p.arp_sha = mac_at(f, 22);
        p.arp_sip = load_be32(f, 28);
        p.arp_tha = mac_at(f, 32);
        p.arp_tip = load_be32(f, 38);
        return p;
    }
    if (p.ethertype == 0x86dd) return parse_ipv6(f, p);
    if (p.ethertype != 0x0800 || f.size() < eth_size + 20) return p;
    const std::size_t ihl = (load_u8(f, 14) & 0x0fu) * 4u;
    const std::size_t total = load_be16(f, 16);
    if ((load_u8(f, 14) >> 4) != 4 || ihl < 20 || total < ihl || eth_size + total > f.size()) return p;
    p.ipv4 = true;
    p.ip_off = eth_size;
    p.dscp = load_u8(f, 15);
    p.df = (load_u8(f, 20) & 0x40) != 0;
    p.ttl = load_u8(f, 22);
    p.src_ip = load_be32(f, 26);
    p.dst_ip = load_be32(f, 30);
    p.src = ip::address_v4{p.src_ip};
    p.dst = ip::address_v4{p.dst_ip};
    p.l4_off = eth_size + ihl;
    p.l4_len = total - ihl;
    const bool fragment = (load_be16(f, 20) & 0x3fffu) != 0;
    if (fragment) return p;  // kind other: never reassembled, compared as a whole
    parse_l4(f, p, load_u8(f, 23));
    return p;
}

/// The transport header after the IP header(s): ICMP, ICMPv6 (echo and errors as "icmp",
/// RFC 4861 NDP as "ndp", RFC 3810 MLD as "mld"), UDP, TCP.
void parse_l4(bytes f, parsed_frame& p, std::uint8_t proto) {
    switch (proto) {
    case 1:
        if (p.l4_len >= 8 && p.ipv4) p.kind = flow_kind::icmp;
        break;
    case 58:
        if (p.l4_len >= 8 && p.ipv6) {
            const std::uint8_t type = load_u8(f, p.l4_off);
            if (type >= 133 && type <= 137)
                p.kind = flow_kind::ndp;
            else if ((type >= 130 && type <= 132) || type == 143)
                p.kind = flow_kind::mld;
            else
                p.kind = flow_kind::icmp;
        }
        break;
    case 17:
        if (p.l4_len >= 8) {
            p.kind = flow_kind::udp;
            p.sport = load_be16(f, p.l4_off);
            p.dport = load_be16(f, p.l4_off + 2);
        }
        break;
    case 6:
        if (p.l4_len >= 20) {
            const std::size_t doff = (load_u8(f, p.l4_off + 12) >> 4) * 4u;
            if (doff >= 20 && doff <= p.l4_len) {
                p.kind = flow_kind::tcp;
                p.sport = load_be16(f, p.l4_off);
                p.dport = load_be16(f, p.l4_off + 2);
                p.tcp_hdr_len = doff;
            }
        }
        break;
    default: break;
    }
}

/// IPv6 (RFC 8200 §3): hop-by-hop, routing and destination options headers are skipped by
/// their length (§4.3-4.6); a fragment (§4.5) is never reassembled: kind other, compared whole.
/// The flow label is never compared (Linux hashes one per flow, RFC 6437; tapstack sends 0).
parsed_frame parse_ipv6(bytes f, parsed_frame& p) {
    if (f.size() < eth_size + 40 || (load_u8(f, 14) >> 4) != 6) return p;
    const std::size_t end = eth_size + 40 + load_be16(f, 18);
    if (end > f.size()) return p;
    p.ipv6 = true;
    p.ip_off = eth_size;
    p.dscp = static_cast<std::uint8_t>((load_be16(f, 14) >> 4) & 0xffu);
    p.ttl = load_u8(f, 21);
    ip::address_v6::bytes_type a{}, b{};
    for (std::size_t i = 0; i < 16; ++i) {
        a[i] = load_u8(f, 22 + i);
        b[i] = load_u8(f, 38 + i);
    }
    p.src = ip::address_v6{a};
    p.dst = ip::address_v6{b};
    std::uint8_t next = load_u8(f, 20);
    std::size_t off = eth_size + 40;
    while (next == 0 || next == 43 || next == 60) {
        if (off + 8 > end) return p;
        const std::size_t len = (load_u8(f, off + 1) + 1u) * 8u;
        if (off + len > end) return p;
        next = load_u8(f, off);
        off += len;
    }
    p.l4_off = off;
    p.l4_len = end - off;
    if (next == 44) return p;
    parse_l4(f, p, next);
    return p;
}

}  // namespace tapstack::tap::detail
