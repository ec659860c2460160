// IPv4 output (RFC 791, RFC 1122 3.3.1): next hop on-link or via the gateway, then ARP.
#include "../stack/stack_impl.hpp"
#include "ipv4.hpp"

namespace tapstack {

mutable_bytes begin_ipv4(stack::impl& s, ip::address_v4 dst, std::uint8_t protocol, std::size_t payload_size) {
    (void)dst;
    // A TSO super-segment (tx_gso_size, set by send_segment) may exceed the MTU: the link cuts it.
    const bool super = s.tx_gso_size != 0 && protocol == static_cast<std::uint8_t>(wire::ip_protocol::tcp) &&
        payload_size <= s.gso_ip_payload_limit();
    if (payload_size + wire::ipv4_min_header_size > s.cfg.mtu && !super) {
        ++s.stats.ip.out_too_big;
        return {};
    }
    wire::ipv4_header h;
    h.source = s.cfg.ipv4.addr;
    h.destination = dst;
    h.protocol = protocol;
    h.ttl = s.cfg.ttl;
    // RFC 6864: with DF set the ID has no meaning for reassembly; a counter is still what
    // Linux sends for unconnected traffic and it helps reading captures.
    h.identification = s.v4.next_ip_id++;
    h.dont_fragment = true;
    h.encode(mutable_bytes{s.tx}.subspan(wire::ethernet_header_size), payload_size);
    return mutable_bytes{s.tx}.subspan(wire::ethernet_header_size + wire::ipv4_min_header_size, payload_size);
}

bool finish_ipv4(stack::impl& s, ip::address_v4 dst, std::size_t payload_size, instant t) {
    ++s.stats.ip.out_requests;
    const std::size_t frame_size = wire::ethernet_header_size + wire::ipv4_min_header_size + payload_size;
    const auto eth_type = static_cast<std::uint16_t>(wire::ether_type::ipv4);
    if (dst.is_broadcast() || dst == s.cfg.ipv4.directed_broadcast()) {
        wire::ethernet_header{link::mac_address::broadcast(), s.cfg.mac, eth_type}.encode(s.tx);
        s.emit(bytes{s.tx.data(), frame_size}, t);
        return true;
    }
    ip::address_v4 next_hop = dst;
    if (!s.cfg.ipv4.contains(dst)) {
        if (!s.cfg.gateway) {
            ++s.stats.ip.out_no_routes;
            return false;
        }
        next_hop = *s.cfg.gateway;
    }
    arp_entry* e = arp_lookup(s, next_hop);
    if (e && e->resolved && t < e->expires_at) {
        wire::ethernet_header{e->mac, s.cfg.mac, eth_type}.encode(s.tx);
        s.emit(bytes{s.tx.data(), frame_size}, t);
        return true;
    }
    if (e && e->resolved) {  // expired: ask again, park the packet meanwhile
        e->resolved = false;
        ++s.v4.arp_unresolved;
        e->retries = 0;
        e->next_retry_at = t;
    }
    if (!e) {
        arp_entry* slot = nullptr;
        for (auto& c : s.v4.arp_entries)
            if (!c.in_use) {
                slot = &c;
                break;
            }
        if (!slot)
            for (auto& c : s.v4.arp_entries)
                if (c.resolved && c.pending_count == 0 && (!slot || c.expires_at < slot->expires_at)) slot = &c;
        if (!slot) {
            ++s.stats.arp.cache_full_drops;
            return false;
        }
        *slot = arp_entry{};
        slot->in_use = true;
        slot->address = next_hop;
        slot->next_retry_at = t;
        ++s.v4.arp_unresolved;
        e = slot;
    }
    // Park the frame (RFC 1122 2.3.2.2) with the MAC left to fill in. A TSO super-frame is not
    // parked (a slot holds one MTU and no offload request): it is dropped like a full queue's,
    // TCP resends it.
    pending_frame* p = nullptr;
    if (s.tx_gso_size == 0 && e->pending_count < s.cfg.arp_max_pending_per_address &&
        frame_size <= s.v4.pending.front().bytes.size())
        for (auto& c : s.v4.pending)
            if (!c.in_use) {
                p = &c;
                break;
            }
    if (!p) {
        ++s.stats.arp.pending_drops;
    } else {
        wire::ethernet_header{link::mac_address{}, s.cfg.mac, eth_type}.encode(s.tx);
        std::copy_n(s.tx.begin(), frame_size, p->bytes.begin());
        p->in_use = true;
        p->length = static_cast<std::uint16_t>(frame_size);
        p->entry = static_cast<std::uint16_t>(e - s.v4.arp_entries.data());
        ++e->pending_count;
    }
    if (t >= e->next_retry_at) {
        ++e->retries;
        e->next_retry_at = t + s.cfg.arp_retry_interval;
        arp_send_request(s, next_hop, t);
    }
    return true;
}

}  // namespace tapstack
