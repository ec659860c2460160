// IPv6 output (RFC 8200, RFC 4861 §5.2 "Conceptual Sending Algorithm"): the next hop is the
// destination when it is on-link (link-local, or inside our prefix), else the default router;
// then the neighbor cache gives the MAC, or the frame waits while we solicit it.
#include "../stack/stack_impl.hpp"
#include "ipv6.hpp"

namespace tapstack {

mutable_bytes begin_ipv6(stack::impl& s, const ip::address_v6& src, const ip::address_v6& dst, std::uint8_t next_header,
                         std::size_t payload_size, std::uint8_t hop_limit) {
    // A TSO super-segment (tx_gso_size, set by send_segment_v6) may exceed the MTU: the link cuts it.
    const bool super = s.tx_gso_size != 0 && next_header == static_cast<std::uint8_t>(wire::ip_protocol::tcp) &&
        payload_size + wire::ipv6_header_size <= s.gso_ip_payload_limit() + wire::ipv4_min_header_size;
    if (payload_size + wire::ipv6_header_size > s.cfg.mtu && !super) {
        ++s.stats.ip6.out_too_big;  // we never fragment what we send
        return {};
    }
    wire::ipv6_header h;
    h.source = src;
    h.destination = dst;
    h.next_header = next_header;
    h.hop_limit = hop_limit != 0 ? hop_limit : s.v6.hop_limit;
    h.encode(mutable_bytes{s.tx}.subspan(wire::ethernet_header_size), payload_size);
    return mutable_bytes{s.tx}.subspan(wire::ethernet_header_size + wire::ipv6_header_size, payload_size);
}

namespace {
neighbor_entry* nd_victim(stack::impl& s) {
    // A free entry, else the least recently used one with nothing waiting on it.
    neighbor_entry* oldest = nullptr;
    for (auto& e : s.v6.neighbors) {
        if (!e.in_use) return &e;
        if (e.state != nd_state::incomplete && e.pending_count == 0 && (!oldest || e.last_used < oldest->last_used))
            oldest = &e;
    }
    return oldest;
}
}  // namespace

bool finish_ipv6(stack::impl& s, const ip::address_v6& dst, std::size_t payload_size, instant t) {
    ++s.stats.ip6.out_requests;
    const std::size_t frame_size = wire::ethernet_header_size + wire::ipv6_header_size + payload_size;
    const auto eth_type = static_cast<std::uint16_t>(wire::ether_type::ipv6);
    if (dst.is_multicast()) {
        wire::ethernet_header{wire::multicast_mac(dst), s.cfg.mac, eth_type}.encode(s.tx);
        s.emit(bytes{s.tx.data(), frame_size}, t);
        return true;
    }
    ip::address_v6 next_hop = dst;
    const bool on_link = dst.is_link_local() ||
        (s.v6.global && s.v6.global->prefix_length > 0 &&
         ip::interface_address_v6{s.v6.global->addr, s.v6.global->prefix_length}.contains(dst));
    if (!on_link) {
        // RFC 4943: without a default router nothing is assumed on-link.
        if (!s.v6.default_router) {
            ++s.stats.ip6.out_no_routes;
            return false;
        }
        next_hop = *s.v6.default_router;
    }
    neighbor_entry* e = nd_lookup(s, next_hop);
    if (e && e->state != nd_state::incomplete) {
        e->last_used = t;
        // RFC 4861 §7.3.3: "the first time a node sends a packet to a neighbor whose entry is
        // STALE, the sender changes the state to DELAY and sets a timer to expire in
        // DELAY_FIRST_PROBE_TIME seconds."
        if (e->state == nd_state::stale) {
            e->state = nd_state::delay;
            e->timer_at = t + s.cfg.nd_delay_first_probe;
        }
        wire::ethernet_header{e->mac, s.cfg.mac, eth_type}.encode(s.tx);
        s.emit(bytes{s.tx.data(), frame_size}, t);
        return true;
    }
    if (!e) {
        e = nd_victim(s);
        if (!e) {
            ++s.stats.icmp6.nd_cache_full_drops;
            return false;
        }
        *e = neighbor_entry{};
        e->in_use = true;
        e->address = next_hop;
        e->state = nd_state::incomplete;
        e->timer_at = t;
        e->last_used = t;
    }
    // §7.2.2: queue the packet while resolution is in progress (a bounded number per neighbor).
    pending_frame6* p = nullptr;
    // A TSO super-frame is not parked (a slot holds one MTU and no offload request): dropped, TCP resends it.
    if (s.tx_gso_size == 0 && e->pending_count < s.cfg.nd_max_pending_per_address &&
        frame_size <= s.v6.pending.front().bytes.size())
        for (auto& c : s.v6.pending)
            if (!c.in_use) {
                p = &c;
                break;
            }
    if (!p) {
        ++s.stats.icmp6.nd_pending_drops;
    } else {
        wire::ethernet_header{link::mac_address{}, s.cfg.mac, eth_type}.encode(s.tx);
        std::copy_n(s.tx.begin(), frame_size, p->bytes.begin());
        p->in_use = true;
        p->length = static_cast<std::uint16_t>(frame_size);
        p->entry = static_cast<std::uint16_t>(e - s.v6.neighbors.data());
        ++e->pending_count;
    }
    if (e->timer_at && t >= *e->timer_at) {
        ++e->probes;
        e->timer_at = t + s.v6.retrans_timer;
        nd_send_solicitation(s, next_hop, nullptr, t);
    }
    return true;
}

}  // namespace tapstack
