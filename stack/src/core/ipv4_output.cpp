// IPv4 output (RFC 791, RFC 1122 3.3.1): next hop on-link or via the gateway, then ARP.
#include "stack_impl.hpp"

namespace tapstack {

mutable_bytes stack::impl::begin_ipv4(ip::address_v4 dst, std::uint8_t protocol, std::size_t payload_size) {
    (void)dst;
    // A TSO super-segment (tx_gso_size, set by send_segment) may exceed the MTU: the link cuts it.
    const bool super = tx_gso_size != 0 && protocol == static_cast<std::uint8_t>(wire::ip_protocol::tcp) &&
        payload_size <= gso_ip_payload_limit();
    if (payload_size + wire::ipv4_min_header_size > cfg.mtu && !super) {
        ++stats.ip.out_too_big;
        return {};
    }
    wire::ipv4_header h;
    h.source = cfg.ipv4.addr;
    h.destination = dst;
    h.protocol = protocol;
    h.ttl = cfg.ttl;
    // RFC 6864: with DF set the ID has no meaning for reassembly; a counter is still what
    // Linux sends for unconnected traffic and it helps reading captures.
    h.identification = next_ip_id++;
    h.dont_fragment = true;
    h.encode(mutable_bytes{tx}.subspan(wire::ethernet_header_size), payload_size);
    return mutable_bytes{tx}.subspan(wire::ethernet_header_size + wire::ipv4_min_header_size, payload_size);
}

bool stack::impl::finish_ipv4(ip::address_v4 dst, std::size_t payload_size, instant t) {
    ++stats.ip.out_requests;
    const std::size_t frame_size = wire::ethernet_header_size + wire::ipv4_min_header_size + payload_size;
    const auto eth_type = static_cast<std::uint16_t>(wire::ether_type::ipv4);
    if (dst.is_broadcast() || dst == cfg.ipv4.directed_broadcast()) {
        wire::ethernet_header{link::mac_address::broadcast(), cfg.mac, eth_type}.encode(tx);
        emit(bytes{tx.data(), frame_size}, t);
        return true;
    }
    ip::address_v4 next_hop = dst;
    if (!cfg.ipv4.contains(dst)) {
        if (!cfg.gateway) {
            ++stats.ip.out_no_routes;
            return false;
        }
        next_hop = *cfg.gateway;
    }
    arp_entry* e = arp_lookup(next_hop);
    if (e && e->resolved && t < e->expires_at) {
        wire::ethernet_header{e->mac, cfg.mac, eth_type}.encode(tx);
        emit(bytes{tx.data(), frame_size}, t);
        return true;
    }
    if (e && e->resolved) {  // expired: ask again, park the packet meanwhile
        e->resolved = false;
        ++arp_unresolved;
        e->retries = 0;
        e->next_retry_at = t;
    }
    if (!e) {
        arp_entry* slot = nullptr;
        for (auto& c : arp_entries)
            if (!c.in_use) {
                slot = &c;
                break;
            }
        if (!slot)
            for (auto& c : arp_entries)
                if (c.resolved && c.pending_count == 0 && (!slot || c.expires_at < slot->expires_at)) slot = &c;
        if (!slot) {
            ++stats.arp.cache_full_drops;
            return false;
        }
        *slot = arp_entry{};
        slot->in_use = true;
        slot->address = next_hop;
        slot->next_retry_at = t;
        ++arp_unresolved;
        e = slot;
    }
    // Park the frame (RFC 1122 2.3.2.2) with the MAC left to fill in. A TSO super-frame is not
    // parked (a slot holds one MTU and no offload request): it is dropped like a full queue's,
    // TCP resends it.
    pending_frame* p = nullptr;
    if (tx_gso_size == 0 && e->pending_count < cfg.arp_max_pending_per_address &&
        frame_size <= pending.front().bytes.size())
        for (auto& c : pending)
            if (!c.in_use) {
                p = &c;
                break;
            }
    if (!p) {
        ++stats.arp.pending_drops;
    } else {
        wire::ethernet_header{link::mac_address{}, cfg.mac, eth_type}.encode(tx);
        std::copy_n(tx.begin(), frame_size, p->bytes.begin());
        p->in_use = true;
        p->length = static_cast<std::uint16_t>(frame_size);
        p->entry = static_cast<std::uint16_t>(e - arp_entries.data());
        ++e->pending_count;
    }
    if (t >= e->next_retry_at) {
        ++e->retries;
        e->next_retry_at = t + cfg.arp_retry_interval;
        arp_send_request(next_hop, t);
    }
    return true;
}

namespace {
/// Where the TCP header starts in an IPv4 or IPv6 frame the stack built (it adds no IPv6
/// extension headers); 0 when the frame carries no TCP.
std::size_t tcp_header_offset(bytes frame) noexcept {
    constexpr std::size_t l3 = wire::ethernet_header_size;
    const std::uint16_t type = load_be16(frame, 12);
    std::size_t l4 = 0;
    if (type == static_cast<std::uint16_t>(wire::ether_type::ipv4) && frame.size() >= l3 + wire::ipv4_min_header_size &&
        load_u8(frame, l3 + 9) == static_cast<std::uint8_t>(wire::ip_protocol::tcp))
        l4 = l3 + std::size_t{load_u8(frame, l3) & 0x0fu} * 4;
    else if (type == static_cast<std::uint16_t>(wire::ether_type::ipv6) &&
             frame.size() >= l3 + wire::ipv6_header_size &&
             load_u8(frame, l3 + 6) == static_cast<std::uint8_t>(wire::ip_protocol::tcp))
        l4 = l3 + wire::ipv6_header_size;
    return l4 != 0 && frame.size() >= l4 + wire::tcp_min_header_size ? l4 : 0;
}
}  // namespace

void stack::impl::emit(bytes frame, instant t) {
    ++stats.link.out_frames;
    // A TSO super-segment, or any TCP segment under tx_checksum_offload: encode_tcp left the
    // pseudo-header sum in the checksum field, and the link is told where the sum goes (Linux's
    // CHECKSUM_PARTIAL, link/offload.hpp). Frames parked for ARP/ND come back through here too.
    // A super-segment is one whose payload exceeds gso_size (send_segment sets tx_gso_size only
    // then), whatever its size: one below the MTU must be cut by the link too.
    const bool super = tx_gso_size != 0;
    if (super || cfg.tx_checksum_offload) {
        if (const std::size_t l4 = tcp_header_offset(frame); l4 != 0) {
            link::tx_offload off;
            off.needs_csum = true;
            off.csum_start = static_cast<std::uint16_t>(l4);
            off.csum_offset = 16;  // TCP's checksum field (RFC 9293 §3.1)
            if (super) {
                const bool v4 = load_be16(frame, 12) == static_cast<std::uint16_t>(wire::ether_type::ipv4);
                off.gso = v4 ? link::gso_kind::tcpv4 : link::gso_kind::tcpv6;
                off.gso_size = tx_gso_size;
                off.hdr_len =
                    static_cast<std::uint16_t>(l4 + static_cast<std::size_t>(load_u8(frame, l4 + 12) >> 4) * 4);
                if (v4)
                    next_ip_id =
                        static_cast<std::uint16_t>(next_ip_id + (frame.size() - off.hdr_len - 1) / off.gso_size);
                ++stats.link.out_gso_frames;
            }
            out->send_offloaded(frame, t, off);
            return;
        }
    }
    out->send_frame(frame, t);
}

}  // namespace tapstack
