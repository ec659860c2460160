#pragma once
// The comparison (private to apps/replay/src): every frame of a flow, recorded or replayed, is
// summarised into normalised fields; then each flow's two lists are aligned and compared.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <tapstack/replay/replay.hpp>
#include "frame.hpp"

namespace tapstack::tap::detail {

/// A flow seen from the host: (kind, peer address, host port, peer port).
struct flow_key {
    flow_kind kind = flow_kind::other;
    ip::address peer_ip;  // IPv4 mapped or IPv6
    std::uint16_t host_port = 0;
    std::uint16_t peer_port = 0;
    friend auto operator<=>(const flow_key&, const flow_key&) = default;
};

/// What the comparison knows of one frame: normalised values only, so a million frames fit.
struct frame_summary {
    std::int64_t index = 0;  // record number (recorded) or emission number (replayed)
    std::int64_t t_us = 0;
    flow_kind kind = flow_kind::other;
    link::mac_address eth_dst;
    bool ipv4 = false;
    bool ipv6 = false;
    std::uint8_t ttl = 0, dscp = 0;  // IPv6: hop limit, traffic class
    bool df = false;
    ip::address ip6_src;  // IPv6: the host's source address (global or link-local)
    ip::address nd_target;  // NDP NS/NA/redirect: the target address
    std::uint8_t nd_flags = 0;  // NDP NA: R, S, O (RFC 4861 §4.4), top bits
    std::uint8_t flags = 0;  // TCP flags, ICMP type, ARP operation
    std::uint8_t code = 0;  // ICMP code
    std::uint32_t seq = 0;  // TCP: relative to our ISN; ICMP: identifier; ARP: sender IP
    std::uint32_t ack = 0;  // TCP: relative to the peer's ISN; ICMP: sequence; ARP: target IP
    std::uint16_t window = 0;
    std::uint64_t option_layout = 0;  // option kinds in order (NOP/EOL left out), 8 bits each
    std::uint16_t mss = 0;
    std::uint8_t wscale = 0xff;
    bool sack_permitted = false;
    bool has_ts = false;
    std::uint32_t tsval = 0;  // relative to the connection's first TSval
    std::uint32_t tsecr = 0;  // the peer's TSval: the same in both spaces
    std::uint8_t sack_count = 0;
    std::uint32_t sack_left = 0, sack_right = 0;  // first block, relative to the peer's ISN
    std::uint16_t sport = 0, dport = 0;
    link::mac_address arp_sha, arp_tha;
    std::uint32_t payload_length = 0;
    std::uint64_t payload_hash = 0;
};

/// One side's view of a TCP connection's sequence space.
struct tcp_space {
    std::optional<std::uint32_t> isn;
    std::optional<std::uint32_t> ts0;
};

struct flow_state {
    flow_key key;
    tcp_space recorded, replayed;
    std::optional<std::uint32_t> peer_isn;
    std::vector<frame_summary> recorded_frames, replayed_frames;
};

class flow_table {
public:
    flow_state& get(const flow_key& k) {
        auto [it, inserted] = index_.try_emplace(k, flows_.size());
        if (inserted) {
            flows_.push_back(std::make_unique<flow_state>());
            flows_.back()->key = k;
        }
        return *flows_[it->second];
    }
    flow_state* find(const flow_key& k) {
        auto it = index_.find(k);
        return it == index_.end() ? nullptr : flows_[it->second].get();
    }
    std::vector<std::unique_ptr<flow_state>>& all() { return flows_; }

private:
    std::map<flow_key, std::size_t> index_;
    std::vector<std::unique_ptr<flow_state>> flows_;
};

/// The key of a frame the host sent (`from_host`) or received.
flow_key key_of(const parsed_frame& p, bool from_host);

struct tcp_option_positions {
    std::size_t ts = 0;  // offset of the TS option's kind byte, 0: none
    std::size_t sack = 0;
    std::size_t sack_blocks = 0;
};

/// Walks TCP options (RFC 9293 §3.1): kind, then a length byte >= 2 that must fit; unknown Fills `s` (if given) and the positions.
tcp_option_positions walk_options(bytes f, std::size_t opt_off, std::size_t opt_len, frame_summary* s);

/// The summary of frame `f` (parsed as `p`) in `flow`; `space` is the sending side's sequence
/// space (learned from its SYN and first TSval).
frame_summary summarize(bytes f, const parsed_frame& p, std::int64_t index, std::int64_t t_us, flow_state& flow,
                        tcp_space& space);

/// Aligns a flow's recorded and replayed frames and counts what matched.
replay_flow_report compare_flow(const flow_state& f, const replay_tolerance& tol, std::size_t max_details);

/// "tcp 10.0.0.1:7 <-> 10.0.0.2:40000" (host first).
std::string flow_name(const flow_key& k, ip::address_v4 host, const std::optional<ip::address_v6>& host6);

}  // namespace tapstack::tap::detail
