// What both address families share on the way out: the one frame output (emit), which tells
// the link about checksum and segmentation offload, and the ICMP error budget.
#include "stack_impl.hpp"
#include <algorithm>

namespace tapstack {

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
                const bool is_v4 = load_be16(frame, 12) == static_cast<std::uint16_t>(wire::ether_type::ipv4);
                off.gso = is_v4 ? link::gso_kind::tcpv4 : link::gso_kind::tcpv6;
                off.gso_size = tx_gso_size;
                off.hdr_len =
                    static_cast<std::uint16_t>(l4 + static_cast<std::size_t>(load_u8(frame, l4 + 12) >> 4) * 4);
                if (is_v4)
                    v4.next_ip_id =
                        static_cast<std::uint16_t>(v4.next_ip_id + (frame.size() - off.hdr_len - 1) / off.gso_size);
                ++stats.link.out_gso_frames;
            }
            out->send_offloaded(frame, t, off);
            return;
        }
    }
    out->send_frame(frame, t);
}

bool stack::impl::icmp_error_allowed(instant t) {
    // Token bucket: icmp_error_rate per second, burst of the same size.
    const double rate = static_cast<double>(cfg.icmp_error_rate);
    if (t > icmp_refill_at) {
        const double elapsed = std::chrono::duration<double>(t - icmp_refill_at).count();
        icmp_tokens = std::min(rate, icmp_tokens + elapsed * rate);
        icmp_refill_at = t;
    }
    if (icmp_tokens < 1.0) {
        ++stats.icmp.out_rate_limited;
        return false;
    }
    icmp_tokens -= 1.0;
    return true;
}

}  // namespace tapstack
