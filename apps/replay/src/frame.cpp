// Frames are read with the core's wire views (<tapstack/wire/...>), the ones the stack itself
// parses with, minus the transport checksums a capture may hold partial (see parse_frame).
#include "frame.hpp"

#include <tapstack/wire/arp.hpp>
#include <tapstack/wire/ethernet.hpp>
#include <tapstack/wire/icmp.hpp>
#include <tapstack/wire/icmpv6.hpp>
#include <tapstack/wire/ipv4.hpp>
#include <tapstack/wire/ipv6.hpp>
#include <tapstack/wire/tcp.hpp>
#include <tapstack/wire/udp.hpp>

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

/// Where `part` starts in `frame` (a view's span always lies inside the frame it came from).
std::size_t offset_in(bytes frame, bytes part) { return static_cast<std::size_t>(part.data() - frame.data()); }

void parse_arp(bytes payload, parsed_frame& p) {
    const auto arp = wire::arp_view::parse(payload);
    if (!arp) return;
    p.kind = flow_kind::arp;
    p.arp_op = arp->operation();
    p.arp_sha = arp->sender_mac();
    p.arp_sip = arp->sender_ip().to_uint();
    p.arp_tha = arp->target_mac();
    p.arp_tip = arp->target_ip().to_uint();
}

/// ICMPv6 (echo and errors as "icmp", RFC 4861 NDP as "ndp", RFC 3810 MLD as "mld").
flow_kind icmpv6_kind(std::uint8_t type) {
    if (type >= 133 && type <= 137) return flow_kind::ndp;
    if ((type >= 130 && type <= 132) || type == 143) return flow_kind::mld;
    return flow_kind::icmp;
}

/// The transport header after the IP header(s): ICMP, ICMPv6, UDP, TCP. ICMP and ICMPv6 are
/// checksummed in software, so their views verify. TCP and UDP checksums may be partial in a
/// capture taken on a sending host with checksum offload: TCP is read with the unchecked view;
/// UDP has none in the core (udp_view::parse verifies), so its two ports are read directly
/// from the 8-byte header RFC 768 defines.
void parse_l4(bytes f, parsed_frame& p, std::uint8_t proto) {
    const bytes l4 = f.subspan(p.l4_off, p.l4_len);
    switch (proto) {
    case 1:
        if (p.ipv4 && wire::icmp_view::parse(l4)) p.kind = flow_kind::icmp;
        break;
    case 58:
        if (p.ipv6) {
            if (const auto m = wire::icmpv6_view::parse(l4, p.src.to_v6(), p.dst.to_v6()))
                p.kind = icmpv6_kind(m->type());
        }
        break;
    case 17:
        if (l4.size() >= wire::udp_header_size) {
            p.kind = flow_kind::udp;
            p.sport = load_be16(l4, 0);
            p.dport = load_be16(l4, 2);
        }
        break;
    case 6:
        if (const auto t = wire::tcp_view::parse_unchecked(l4)) {
            p.kind = flow_kind::tcp;
            p.sport = t->source_port();
            p.dport = t->destination_port();
            p.tcp_hdr_len = t->header_length();
        }
        break;
    default: break;
    }
}

/// IPv4: a fragment is never reassembled (kind other: compared as a whole).
void parse_ipv4(bytes f, bytes payload, parsed_frame& p) {
    const auto ip = wire::ipv4_view::parse(payload);
    if (!ip) return;
    p.ipv4 = true;
    p.ip_off = offset_in(f, payload);
    p.dscp = ip->dscp_ecn();
    p.df = ip->dont_fragment();
    p.ttl = ip->ttl();
    p.src_ip = ip->source().to_uint();
    p.dst_ip = ip->destination().to_uint();
    p.src = ip->source();
    p.dst = ip->destination();
    p.l4_off = offset_in(f, ip->payload());
    p.l4_len = ip->payload().size();
    if (ip->is_fragment()) return;
    parse_l4(f, p, ip->protocol());
}

/// IPv6 (RFC 8200 §3): the extension headers are walked as the stack walks them (§4); a
/// fragment (§4.5) is never reassembled: kind other, compared whole. The flow label is never
/// compared (Linux hashes one per flow, RFC 6437; tapstack sends 0).
void parse_ipv6(bytes f, bytes payload, parsed_frame& p) {
    const auto ip = wire::ipv6_view::parse(payload);
    if (!ip) return;
    p.ipv6 = true;
    p.ip_off = offset_in(f, payload);
    p.dscp = ip->traffic_class();
    p.ttl = ip->hop_limit();
    p.src = ip->source();
    p.dst = ip->destination();
    const auto walk = wire::walk_extension_headers(*ip, 255);
    if (walk.result != wire::ipv6_walk::outcome::upper_layer) return;
    p.l4_off = p.ip_off + walk.offset;
    p.l4_len = ip->packet().size() - walk.offset;
    if (walk.fragment) return;
    parse_l4(f, p, walk.protocol);
}

}  // namespace

parsed_frame parse_frame(bytes f) {
    parsed_frame p;
    const auto eth = wire::ethernet_view::parse(f);
    if (!eth) return p;
    p.dst_mac = eth->destination();
    p.src_mac = eth->source();
    p.ethertype = eth->type();
    switch (static_cast<wire::ether_type>(p.ethertype)) {
    case wire::ether_type::arp: parse_arp(eth->payload(), p); break;
    case wire::ether_type::ipv4: parse_ipv4(f, eth->payload(), p); break;
    case wire::ether_type::ipv6: parse_ipv6(f, eth->payload(), p); break;
    case wire::ether_type::vlan: break;
    }
    return p;
}

}  // namespace tapstack::tap::detail
