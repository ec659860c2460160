// IPv4 input (RFC 791, RFC 1122 3.2.1 and 3.3): address checks, then delivery to ICMP, UDP and
// TCP; the IPv4 state's set-up and timers.
#include "../stack/stack_impl.hpp"
#include "ipv4.hpp"

namespace tapstack {

ipv4_state::ipv4_state(const stack_config& cfg) : arp_entries(cfg.arp_max_entries), pending(cfg.arp_max_pending) {
    // Parked frames are at most one MTU: a super-frame is never parked (finish_ipv4).
    for (auto& p : pending) p.bytes.resize(std::size_t{cfg.mtu} + wire::ethernet_header_size);
}

void on_ipv4(stack::impl& s, bytes packet, instant t) {
    ++s.stats.ip.in_receives;
    auto ip = wire::ipv4_view::parse(packet);
    if (!ip) {
        ++s.stats.ip.in_hdr_errors;
        return;
    }
    const auto src = ip->source();
    const auto to = ip->destination();
    const bool to_us = to == s.cfg.ipv4.addr;
    const bool to_broadcast = to.is_broadcast() || to == s.cfg.ipv4.directed_broadcast();
    if (!to_us && !to_broadcast) {
        ++s.stats.ip.in_addr_errors;  // RFC 1122 3.3.4.2: we do not forward
        return;
    }
    // RFC 1122 3.2.1.3: a source address that is broadcast, multicast or ours is discarded.
    if (src.is_broadcast() || src.is_multicast() || src == s.cfg.ipv4.directed_broadcast() ||
        (src == s.cfg.ipv4.addr && !src.is_unspecified())) {
        ++s.stats.ip.in_martians;
        return;
    }
    if (ip->is_fragment()) {
        ++s.stats.ip.in_fragments_dropped;  // no IPv4 reassembly: we never send fragments either
        return;
    }
    switch (ip->protocol()) {
    case static_cast<std::uint8_t>(wire::ip_protocol::icmp):
        ++s.stats.ip.in_delivers;
        on_icmp(s, *ip, t);
        return;
    case static_cast<std::uint8_t>(wire::ip_protocol::udp):
        ++s.stats.ip.in_delivers;
        s.on_udp(*ip, t);
        return;
    case static_cast<std::uint8_t>(wire::ip_protocol::tcp):
        if (!to_us) {
            ++s.stats.ip.in_addr_errors;  // TCP is never broadcast
            return;
        }
        ++s.stats.ip.in_delivers;
        s.on_tcp(*ip, t);
        return;
    default:
        ++s.stats.ip.in_unknown_protos;
        // RFC 1122 3.2.2.1: protocol unreachable, but never in answer to a broadcast.
        if (to_us) send_unreachable(s, *ip, wire::icmp_unreachable_code::protocol, t);
        return;
    }
}

void ipv4_poll(stack::impl& s, instant t) { arp_poll(s, t); }

std::optional<instant> ipv4_deadline(const stack::impl& s) { return arp_deadline(s); }

}  // namespace tapstack
