#pragma once
// Every drop and every notable event is counted here; apps print it like `netstat -s`.
#include <cstdint>
#include <string>
#include <tapstack/tcp/stats.hpp>

namespace tapstack {

struct link_stats {
    std::uint64_t in_frames = 0;
    std::uint64_t out_frames = 0;
    std::uint64_t in_truncated = 0;  // shorter than an Ethernet header
    std::uint64_t in_not_for_us = 0;  // destination MAC neither ours, broadcast nor multicast we want
    std::uint64_t in_unknown_ethertype = 0;
    std::uint64_t in_checksum_offloaded = 0;  // frames whose TCP checksum the link vouched for (not verified)
    std::uint64_t in_gso_frames = 0;  // TCP super-frames (larger than the MTU) received
    std::uint64_t out_gso_frames = 0;  // TCP super-segments handed to the link to cut (TSO)
};

struct arp_stats {
    std::uint64_t in_requests = 0;
    std::uint64_t in_replies = 0;
    std::uint64_t in_errors = 0;  // malformed or unsupported hardware/protocol
    std::uint64_t out_requests = 0;
    std::uint64_t out_replies = 0;
    std::uint64_t resolution_failures = 0;  // gave up after the retries
    std::uint64_t pending_drops = 0;  // queue for an unresolved address was full
    std::uint64_t cache_full_drops = 0;
    std::uint64_t revalidations = 0;  // entries re-asked on negative advice (TCP R1)
};

struct ip_stats {
    std::uint64_t in_receives = 0;
    std::uint64_t in_hdr_errors = 0;  // version, length or checksum
    std::uint64_t in_addr_errors = 0;  // not addressed to us
    std::uint64_t in_unknown_protos = 0;
    std::uint64_t in_delivers = 0;
    std::uint64_t in_fragments_dropped = 0;  // we do not reassemble IPv4
    std::uint64_t in_martians = 0;  // source is broadcast/multicast/ours
    std::uint64_t out_requests = 0;
    std::uint64_t out_no_routes = 0;
    std::uint64_t out_too_big = 0;
};

struct icmp_stats {
    std::uint64_t in_msgs = 0;
    std::uint64_t in_errors = 0;  // truncated or bad checksum
    std::uint64_t in_echos = 0;
    std::uint64_t in_dest_unreachs = 0;
    std::uint64_t in_time_excds = 0;
    std::uint64_t in_parm_probs = 0;
    // Errors quoting a TCP segment of ours (RFC 9293 MUST-54, RFC 5927):
    std::uint64_t in_tcp_errors = 0;  // delivered to the connection (abort, soft error, PMTU)
    std::uint64_t in_tcp_out_of_window = 0;  // quoted SEQ not in SND.UNA..SND.NXT-1 (Linux OutOfWindowIcmps)
    std::uint64_t in_tcp_no_connection = 0;  // no connection has the quoted 4-tuple
    std::uint64_t in_bad_quotes = 0;  // quote truncated or malformed, or not from our address
    std::uint64_t out_msgs = 0;
    std::uint64_t out_echo_reps = 0;
    std::uint64_t out_dest_unreachs = 0;
    std::uint64_t out_rate_limited = 0;
};

struct udp_stats {
    std::uint64_t in_datagrams = 0;
    std::uint64_t no_ports = 0;
    std::uint64_t in_errors = 0;  // truncated, bad length or checksum
    std::uint64_t rcvbuf_errors = 0;  // socket queue full
    std::uint64_t out_datagrams = 0;
};

struct ipv6_stats {
    std::uint64_t in_receives = 0;
    std::uint64_t in_hdr_errors = 0;  // version, length, truncated extension headers
    std::uint64_t in_addr_errors = 0;  // not addressed to us
    std::uint64_t in_unknown_protos = 0;
    std::uint64_t in_delivers = 0;
    std::uint64_t in_discards = 0;  // option/ext-header rules said drop, too many headers
    std::uint64_t reasm_reqds = 0;  // fragments received
    std::uint64_t reasm_oks = 0;
    std::uint64_t reasm_fails = 0;  // timeouts, overlaps (RFC 5722), no buffer
    std::uint64_t reasm_overlaps = 0;
    std::uint64_t out_requests = 0;
    std::uint64_t out_no_routes = 0;
    std::uint64_t out_too_big = 0;
};

struct icmpv6_stats {
    std::uint64_t in_msgs = 0;
    std::uint64_t in_errors = 0;  // truncated, bad checksum, invalid NDP
    std::uint64_t in_echos = 0;
    std::uint64_t in_dest_unreachs = 0;
    std::uint64_t in_pkt_too_bigs = 0;
    std::uint64_t in_time_excds = 0;
    std::uint64_t in_parm_problems = 0;
    std::uint64_t in_tcp_errors = 0;  // as icmp_stats: delivered to a TCP connection
    std::uint64_t in_tcp_out_of_window = 0;
    std::uint64_t in_tcp_no_connection = 0;
    std::uint64_t in_bad_quotes = 0;
    std::uint64_t in_neighbor_solicits = 0;
    std::uint64_t in_neighbor_advertisements = 0;
    std::uint64_t in_router_advertisements = 0;
    std::uint64_t out_msgs = 0;
    std::uint64_t out_echo_reps = 0;
    std::uint64_t out_dest_unreachs = 0;
    std::uint64_t out_parm_problems = 0;
    std::uint64_t out_time_excds = 0;
    std::uint64_t out_neighbor_solicits = 0;
    std::uint64_t out_neighbor_advertisements = 0;
    std::uint64_t out_router_solicits = 0;
    std::uint64_t out_rate_limited = 0;
    std::uint64_t nd_resolution_failures = 0;
    std::uint64_t nd_pending_drops = 0;
    std::uint64_t nd_cache_full_drops = 0;
    std::uint64_t nd_revalidations = 0;  // neighbors sent to PROBE on negative advice (TCP R1)
    std::uint64_t dad_conflicts = 0;
};

struct stack_stats {
    link_stats link;
    arp_stats arp;
    ip_stats ip;
    icmp_stats icmp;
    udp_stats udp;
    tcp::tcp_stats tcp;
    ipv6_stats ip6;
    icmpv6_stats icmp6;
};

/// A `netstat -s`-style table: one line per non-zero counter, grouped by protocol (all with `all`).
std::string format_stats(const stack_stats& s, bool all = false);

}  // namespace tapstack
