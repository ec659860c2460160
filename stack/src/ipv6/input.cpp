// IPv6 input (RFC 8200): address checks, the extension-header walk, delivery to ICMPv6, UDP
// and TCP; the IPv6 state's set-up, timers and the public façade for it.
#include "../stack/stack_impl.hpp"
#include "ipv6.hpp"
#include <algorithm>

namespace tapstack {

ipv6_state::ipv6_state(const stack_config& cfg) {
    enabled = cfg.ipv6.has_value() || cfg.ipv6_link_local;
    hop_limit = cfg.ipv6_hop_limit;
    reachable_time = cfg.nd_reachable_time;
    retrans_timer = cfg.nd_retrans_timer;
    if (!enabled) return;
    const auto initial = cfg.dad_transmits == 0 ? stack::address_state::preferred : stack::address_state::tentative;
    link_local = our_address6{wire::link_local_from_mac(cfg.mac), 64, initial};
    if (cfg.ipv6) global = our_address6{cfg.ipv6->addr, cfg.ipv6->prefix_length, initial};
    neighbors.resize(cfg.nd_max_entries);
    pending.resize(cfg.nd_max_pending);
    for (auto& p : pending) p.bytes.resize(std::size_t{cfg.mtu} + wire::ethernet_header_size);
    reassembly.resize(cfg.ipv6_reassembly_slots);
    for (auto& r : reassembly) {
        r.buffer.resize(wire::ipv6_header_size + 0xffff);
        r.first.resize(wire::ipv6_minimum_mtu - wire::ipv6_header_size - wire::icmpv6_header_size);
        r.ranges.reserve(cfg.ipv6_max_fragments);
    }
}

void ipv6_start(stack::impl& s, instant t) {
    if (!s.v6.enabled || s.v6.started) return;
    s.v6.started = true;
    dad_start(s, t);
}

bool ipv6_accepts_mac(const stack::impl& s, const link::mac_address& dst) noexcept {
    if (!s.v6.enabled || dst.bytes[0] != 0x33 || dst.bytes[1] != 0x33) return false;
    // The groups we are implicitly in (RFC 4291 §2.8): all-nodes and our solicited-node groups.
    if (dst == wire::multicast_mac(wire::all_nodes_multicast())) return true;
    if (dst == wire::multicast_mac(wire::solicited_node_multicast(s.v6.link_local.addr))) return true;
    return s.v6.global && dst == wire::multicast_mac(wire::solicited_node_multicast(s.v6.global->addr));
}

bool ipv6_is_ours(const stack::impl& s, const ip::address_v6& a) noexcept {
    if (!s.v6.enabled) return false;
    if (a == s.v6.link_local.addr) return s.v6.link_local.state == stack::address_state::preferred;
    return s.v6.global && a == s.v6.global->addr && s.v6.global->state == stack::address_state::preferred;
}

std::optional<ip::address_v6> ipv6_source_for(const stack::impl& s, const ip::address_v6& dst) noexcept {
    if (!s.v6.enabled) return std::nullopt;
    const bool ll_ok = s.v6.link_local.state == stack::address_state::preferred;
    const bool global_ok = s.v6.global && s.v6.global->state == stack::address_state::preferred;
    const bool link_scope = dst.is_link_local() || (dst.is_multicast() && (dst.to_bytes()[1] & 0x0f) <= 2);
    if (link_scope && ll_ok) return s.v6.link_local.addr;
    if (global_ok) return s.v6.global->addr;
    if (ll_ok) return s.v6.link_local.addr;
    return std::nullopt;
}

namespace {
bool is_our_group(const stack::impl& s, const ip::address_v6& a) noexcept {
    if (a == wire::all_nodes_multicast()) return true;
    if (a == wire::solicited_node_multicast(s.v6.link_local.addr)) return true;
    return s.v6.global && a == wire::solicited_node_multicast(s.v6.global->addr);
}
}  // namespace

void on_ipv6(stack::impl& s, bytes packet, instant t) {
    if (!s.v6.enabled) {
        ++s.stats.link.in_unknown_ethertype;
        return;
    }
    ipv6_start(s, t);
    ++s.stats.ip6.in_receives;
    auto ip = wire::ipv6_view::parse(packet);
    if (!ip) {
        ++s.stats.ip6.in_hdr_errors;
        return;
    }
    const auto dst = ip->destination();
    const auto src = ip->source();
    // RFC 8200 §3 / RFC 4291 §2.7: a multicast source is never valid. No forwarding (we are a
    // host), so anything not for our addresses or groups is dropped.
    if (src.is_multicast()) {
        ++s.stats.ip6.in_hdr_errors;
        return;
    }
    if (!ipv6_is_ours(s, dst) && !is_our_group(s, dst)) {
        ++s.stats.ip6.in_addr_errors;
        return;
    }
    ipv6_deliver(s, *ip, t, false);
}

void ipv6_deliver(stack::impl& s, const wire::ipv6_view& ip, instant t, bool reassembled) {
    using outcome = wire::ipv6_walk::outcome;
    const auto walk = wire::walk_extension_headers(ip, s.cfg.ipv6_max_extension_headers);
    const auto dst = ip.destination();
    switch (walk.result) {
    case outcome::truncated: ++s.stats.ip6.in_hdr_errors; return;
    case outcome::discard:
    case outcome::no_next_header: ++s.stats.ip6.in_discards; return;
    case outcome::problem:
    case outcome::problem_unless_multicast:
        ++s.stats.ip6.in_hdr_errors;
        // RFC 8200 §4.2: action 10 answers even a multicast destination, 11 only unicast.
        if (walk.result == outcome::problem || !dst.is_multicast())
            send_icmpv6_error(s, ip.packet(), wire::icmpv6_type::parameter_problem,
                              static_cast<std::uint8_t>(walk.code), walk.pointer, t,
                              walk.code == wire::ipv6_problem::unrecognized_option);
        return;
    case outcome::upper_layer: break;
    }
    if (walk.fragment) {
        const auto& f = *walk.fragment;
        // RFC 6946: an "atomic fragment" (offset 0, M clear) is processed in isolation.
        if (f.offset != 0 || f.more_fragments) {
            if (reassembled) {
                ++s.stats.ip6.in_discards;  // a fragment inside a fragment
                return;
            }
            reassemble6(s, ip, f, ip.packet().subspan(walk.offset), t);
            return;
        }
    }
    const ip::address src_any{ip.source()}, dst_any{dst};
    const bytes data = ip.packet().subspan(walk.offset);
    switch (walk.protocol) {
    case static_cast<std::uint8_t>(wire::ip_protocol::icmpv6):
        ++s.stats.ip6.in_delivers;
        on_icmpv6(s, ip, data, t);
        return;
    case static_cast<std::uint8_t>(wire::ip_protocol::udp): {
        ++s.stats.ip6.in_delivers;
        const bool unicast = !dst.is_multicast();
        if (!s.on_udp(src_any, dst_any, data, unicast, t) && unicast)
            send_icmpv6_error(s, ip.packet(), wire::icmpv6_type::destination_unreachable,
                              static_cast<std::uint8_t>(wire::icmpv6_unreachable_code::port), 0, t);
        return;
    }
    case static_cast<std::uint8_t>(wire::ip_protocol::tcp):
        if (dst.is_multicast()) {
            ++s.stats.ip6.in_addr_errors;  // TCP is never multicast
            return;
        }
        ++s.stats.ip6.in_delivers;
        s.on_tcp(src_any, dst_any, data, t);
        return;
    default:
        // RFC 8200 §4: an unrecognized Next Header gets parameter problem code 1 pointing at it.
        ++s.stats.ip6.in_unknown_protos;
        send_icmpv6_error(s, ip.packet(), wire::icmpv6_type::parameter_problem,
                          static_cast<std::uint8_t>(wire::ipv6_problem::unrecognized_next_header),
                          static_cast<std::uint32_t>(walk.next_header_pointer), t);
        return;
    }
}

void ipv6_poll(stack::impl& s, instant t) {
    if (!s.v6.enabled) return;
    ipv6_start(s, t);
    nd_poll(s, t);
    reassembly6_poll(s, t);
    if (s.v6.default_router && t >= s.v6.router_expires_at) s.v6.default_router.reset();
}

std::optional<instant> ipv6_deadline(const stack::impl& s) {
    if (!s.v6.enabled) return std::nullopt;
    std::optional<instant> next = nd_deadline(s);
    const auto merge = [&](std::optional<instant> d) {
        if (d && (!next || *d < *next)) next = d;
    };
    merge(reassembly6_deadline(s));
    if (s.v6.default_router) merge(s.v6.router_expires_at);
    return next;
}

// ---------------------------------------------------------------- façade

stack::address_state stack::ipv6_address_state(const ip::address_v6& a) const noexcept {
    const auto& v6 = impl_->v6;
    if (!v6.enabled) return address_state::absent;
    if (a == v6.link_local.addr) return v6.link_local.state;
    if (v6.global && a == v6.global->addr) return v6.global->state;
    return address_state::absent;
}

ip::address_v6 stack::ipv6_link_local() const noexcept {
    return impl_->v6.enabled ? impl_->v6.link_local.addr : ip::address_v6{};
}

std::optional<ip::address_v6> stack::ipv6_default_router() const noexcept { return impl_->v6.default_router; }

errc stack::tcp_set_v6_only(socket_handle h, bool on) {
    auto* slot = impl_->lookup(h, socket_kind::tcp);
    if (!slot) return errc::bad_descriptor;
    if (slot->tcp->binding.linked()) return errc::invalid_argument;  // as Linux: only before bind
    slot->tcp->binding.v6_only = on;
    return errc::success;
}

errc stack::udp_set_v6_only(socket_handle h, bool on) {
    auto* slot = impl_->lookup(h, socket_kind::udp);
    if (!slot) return errc::bad_descriptor;
    if (slot->udp->bound) return errc::invalid_argument;
    slot->udp->binding.v6_only = on;
    return errc::success;
}

}  // namespace tapstack
