#pragma once
// The replay engine's view of one frame (private to apps/replay/src): which flow kind it is and
// the few fields the engine feeds, splits and compares by. Offsets are into the frame, so the
// summaries and the TCP translation can read and rewrite it in place.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tapstack/base/bytes.hpp>
#include <tapstack/ip/address.hpp>
#include <tapstack/link/mac.hpp>

namespace tapstack::tap::detail {

enum class flow_kind : std::uint8_t { arp, icmp, udp, tcp, other, ndp, mld };

std::string_view kind_name(flow_kind k);

/// The fields of one frame the engine looks at, read through the core's wire views (every
/// length checked once). TCP and UDP checksums are not verified: captures taken on the sending
/// side carry partial (offloaded) ones; the engine recomputes them before feeding a frame.
struct parsed_frame {
    flow_kind kind = flow_kind::other;
    link::mac_address src_mac, dst_mac;
    std::uint16_t ethertype = 0;
    bool ipv4 = false;
    bool ipv6 = false;
    std::uint32_t src_ip = 0, dst_ip = 0;  // IPv4 only
    ip::address src, dst;  // either family
    std::uint8_t ttl = 0, dscp = 0;  // IPv6: hop limit, traffic class
    bool df = false;
    std::size_t ip_off = 0, l4_off = 0, l4_len = 0;
    std::uint16_t sport = 0, dport = 0;
    std::size_t tcp_hdr_len = 0;
    std::uint16_t arp_op = 0;
    std::uint32_t arp_sip = 0, arp_tip = 0;
    link::mac_address arp_sha, arp_tha;
};

/// Never fails: what cannot be parsed stays kind other (compared as a whole frame).
parsed_frame parse_frame(bytes f);

}  // namespace tapstack::tap::detail
