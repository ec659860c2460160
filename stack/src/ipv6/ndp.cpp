// Neighbor Discovery (RFC 4861) and duplicate address detection (RFC 4862 §5.4): the neighbor
// cache and its states, solicitations and advertisements, router advertisements for the
// default route. Every timer runs on the `now` the edge passes in.
#include "../stack/stack_impl.hpp"
#include "ipv6.hpp"

namespace tapstack {
namespace {
constexpr auto icmpv6_protocol = static_cast<std::uint8_t>(wire::ip_protocol::icmpv6);

/// Sends frames that waited for `e` now that its MAC is known (RFC 4861 §7.2.5).
void release_pending(stack::impl& s, neighbor_entry& e, instant t) {
    if (e.pending_count == 0) return;
    const auto index = static_cast<std::uint16_t>(&e - s.v6.neighbors.data());
    for (auto& p : s.v6.pending) {
        if (!p.in_use || p.entry != index) continue;
        for (std::size_t i = 0; i < e.mac.bytes.size(); ++i) p.bytes[i] = std::byte{e.mac.bytes[i]};
        s.emit(bytes{p.bytes.data(), p.length}, t);
        p.in_use = false;
    }
    e.pending_count = 0;
}

void drop_pending(stack::impl& s, neighbor_entry& e) {
    const auto index = static_cast<std::uint16_t>(&e - s.v6.neighbors.data());
    for (auto& p : s.v6.pending)
        if (p.in_use && p.entry == index) {
            p.in_use = false;
            ++s.stats.icmp6.nd_pending_drops;
        }
    e.pending_count = 0;
}

/// RFC 4861 §7.2.3 / §6.3.4: a solicitation or RA carrying the sender's link-layer address.
/// A new entry is STALE; a changed address makes the entry STALE; INCOMPLETE gets resolved.
void learn_from_sender(stack::impl& s, const ip::address_v6& a, const link::mac_address& mac, instant t) {
    if (a.is_unspecified() || a.is_multicast() || mac.is_multicast()) return;
    neighbor_entry* e = nd_lookup(s, a);
    if (!e) {
        for (auto& c : s.v6.neighbors)
            if (!c.in_use) {
                e = &c;
                break;
            }
        if (!e) return;  // full: learning is optional, resolution will ask again
        *e = neighbor_entry{};
        e->in_use = true;
        e->address = a;
        e->mac = mac;
        e->state = nd_state::stale;
        e->last_used = t;
        return;
    }
    if (e->state == nd_state::incomplete || e->mac != mac) {
        const bool was_incomplete = e->state == nd_state::incomplete;
        e->mac = mac;
        e->state = nd_state::stale;
        e->timer_at.reset();
        e->probes = 0;
        if (was_incomplete) release_pending(s, *e, t);
    }
}

void send_advertisement(stack::impl& s, const ip::address_v6& target, const ip::address_v6& to,
                        const std::optional<link::mac_address>& to_mac, bool solicited, instant t) {
    wire::neighbor_advertisement na;
    na.solicited = solicited;
    na.override_flag = true;  // §7.2.4: set for our own addresses (no anycast, no proxy)
    na.target = target;
    na.target_link_layer = s.cfg.mac;
    // §7.2.4: sent from our address; any of our addresses on the interface will do, and the
    // target itself is one.
    const auto payload = begin_ipv6(s, target, to, icmpv6_protocol, na.encoded_size(), wire::ndp_hop_limit);
    na.encode(payload, target, to);
    ++s.stats.icmp6.out_msgs;
    ++s.stats.icmp6.out_neighbor_advertisements;
    if (to_mac && !to.is_multicast()) {
        ++s.stats.ip6.out_requests;
        wire::ethernet_header{*to_mac, s.cfg.mac, static_cast<std::uint16_t>(wire::ether_type::ipv6)}.encode(s.tx);
        s.emit(bytes{s.tx.data(), wire::ethernet_header_size + wire::ipv6_header_size + na.encoded_size()}, t);
        return;
    }
    finish_ipv6(s, to, na.encoded_size(), t);
}

our_address6* our_address(stack::impl& s, const ip::address_v6& a) {
    if (!s.v6.enabled) return nullptr;
    if (a == s.v6.link_local.addr) return &s.v6.link_local;
    if (s.v6.global && a == s.v6.global->addr) return &*s.v6.global;
    return nullptr;
}

void duplicate_found(stack::impl& s, our_address6& a) {
    // RFC 4862 §5.4.5: the address is not used; the edge reports it.
    a.state = stack::address_state::duplicate;
    ++s.stats.icmp6.dad_conflicts;
}

void on_solicitation(stack::impl& s, const wire::ipv6_view& ip, const wire::icmpv6_view& m, instant t) {
    auto ns = wire::neighbor_solicitation::parse(m);
    if (!ns) {
        ++s.stats.icmp6.in_errors;
        return;
    }
    const auto src = ip.source();
    // §7.1.1: from the unspecified address only to a solicited-node group, and without SLLA.
    if (src.is_unspecified() &&
        (ip.destination() != wire::solicited_node_multicast(ns->target) || ns->source_link_layer)) {
        ++s.stats.icmp6.in_errors;
        return;
    }
    our_address6* ours = our_address(s, ns->target);
    if (!ours) return;  // not for us (no proxying)
    if (ours->state == stack::address_state::tentative) {
        // RFC 4862 §5.4.3: a solicitation from :: for our tentative address means another node
        // is doing DAD for it: a duplicate. From anyone else it is silently ignored.
        if (src.is_unspecified()) duplicate_found(s, *ours);
        return;
    }
    if (ours->state != stack::address_state::preferred) return;
    if (!src.is_unspecified() && ns->source_link_layer) learn_from_sender(s, src, *ns->source_link_layer, t);
    if (src.is_unspecified()) {
        // §7.2.4: answer DAD probes at all-nodes, not solicited.
        send_advertisement(s, ns->target, wire::all_nodes_multicast(), std::nullopt, false, t);
        return;
    }
    std::optional<link::mac_address> to_mac = ns->source_link_layer;
    if (!to_mac)
        if (auto* e = nd_lookup(s, src); e && e->state != nd_state::incomplete) to_mac = e->mac;
    send_advertisement(s, ns->target, src, to_mac, true, t);
}

void on_advertisement(stack::impl& s, const wire::ipv6_view& ip, const wire::icmpv6_view& m, instant t) {
    auto na = wire::neighbor_advertisement::parse(m);
    // §7.1.2: "If the IP Destination Address is a multicast address the Solicited flag is zero."
    if (!na || (ip.destination().is_multicast() && na->solicited)) {
        ++s.stats.icmp6.in_errors;
        return;
    }
    if (our_address6* ours = our_address(s, na->target)) {
        // RFC 4862 §5.4.4: an advertisement for a tentative address: it is a duplicate.
        if (ours->state == stack::address_state::tentative) duplicate_found(s, *ours);
        return;
    }
    neighbor_entry* e = nd_lookup(s, na->target);
    if (!e) return;  // §7.2.5: "silently discarded" when there is no entry
    if (e->state == nd_state::incomplete) {
        if (!na->target_link_layer) return;
        e->mac = *na->target_link_layer;
        e->is_router = na->router;
        e->probes = 0;
        if (na->solicited) {
            e->state = nd_state::reachable;
            e->timer_at = t + s.v6.reachable_time;
        } else {
            e->state = nd_state::stale;
            e->timer_at.reset();
        }
        release_pending(s, *e, t);
        return;
    }
    const bool changed = na->target_link_layer && *na->target_link_layer != e->mac;
    if (!na->override_flag && changed) {
        // "If the Override flag is clear and the supplied link-layer address differs ... if
        // the state of the entry is REACHABLE, set it to STALE ... Otherwise ignored."
        if (e->state == nd_state::reachable) {
            e->state = nd_state::stale;
            e->timer_at.reset();
        }
        return;
    }
    if (changed) e->mac = *na->target_link_layer;
    e->is_router = na->router;
    if (na->solicited) {
        e->state = nd_state::reachable;
        e->timer_at = t + s.v6.reachable_time;
        e->probes = 0;
    } else if (changed) {
        e->state = nd_state::stale;
        e->timer_at.reset();
    }
}

void on_router_advertisement(stack::impl& s, const wire::ipv6_view& ip, const wire::icmpv6_view& m, instant t) {
    auto ra = wire::router_advertisement::parse(m);
    // §6.1.2: the source must be link-local.
    if (!ra || !ip.source().is_link_local()) {
        ++s.stats.icmp6.in_errors;
        return;
    }
    ++s.stats.icmp6.in_router_advertisements;
    const auto router = ip.source();
    // §6.3.4: non-zero values replace ours.
    if (ra->cur_hop_limit != 0) s.v6.hop_limit = ra->cur_hop_limit;
    if (ra->reachable_time_ms != 0) s.v6.reachable_time = std::chrono::milliseconds{ra->reachable_time_ms};
    if (ra->retrans_timer_ms != 0) s.v6.retrans_timer = std::chrono::milliseconds{ra->retrans_timer_ms};
    if (ra->source_link_layer) learn_from_sender(s, router, *ra->source_link_layer, t);
    if (auto* e = nd_lookup(s, router)) e->is_router = true;
    if (ra->router_lifetime_s == 0) {
        // "A Lifetime of 0 indicates that the router is not a default router".
        if (s.v6.default_router == router) s.v6.default_router.reset();
        return;
    }
    s.v6.default_router = router;
    s.v6.router_expires_at = t + std::chrono::seconds{ra->router_lifetime_s};
}
}  // namespace

neighbor_entry* nd_lookup(stack::impl& s, const ip::address_v6& a) {
    for (auto& e : s.v6.neighbors)
        if (e.in_use && e.address == a) return &e;
    return nullptr;
}

void on_ndp(stack::impl& s, const wire::ipv6_view& ip, const wire::icmpv6_view& m, instant t) {
    // RFC 4861 §6.1, §7.1: "The IP Hop Limit field has a value of 255", i.e. the packet could
    // not possibly have been forwarded by a router.
    if (ip.hop_limit() != wire::ndp_hop_limit) {
        ++s.stats.icmp6.in_errors;
        return;
    }
    switch (m.type()) {
    case static_cast<std::uint8_t>(wire::icmpv6_type::neighbor_solicitation):
        ++s.stats.icmp6.in_neighbor_solicits;
        on_solicitation(s, ip, m, t);
        return;
    case static_cast<std::uint8_t>(wire::icmpv6_type::neighbor_advertisement):
        ++s.stats.icmp6.in_neighbor_advertisements;
        on_advertisement(s, ip, m, t);
        return;
    case static_cast<std::uint8_t>(wire::icmpv6_type::router_advertisement):
        on_router_advertisement(s, ip, m, t);
        return;
    default: return;  // router solicitations (we are no router), redirects: ignored
    }
}

void nd_send_solicitation(stack::impl& s, const ip::address_v6& target, const ip::address_v6* unicast_to, instant t) {
    // Our own frame buffer: the caller may be in the middle of using s.tx.
    std::array<std::byte, wire::ethernet_header_size + wire::ipv6_header_size + 32> frame{};
    const auto src = ipv6_source_for(s, target);
    wire::neighbor_solicitation ns;
    ns.target = target;
    ip::address_v6 from;  // :: for DAD (RFC 4862 §5.4.2)
    if (src) {
        from = *src;
        ns.source_link_layer = s.cfg.mac;
    } else if (!our_address(s, target)) {
        return;  // no usable address yet
    }
    const ip::address_v6 to = unicast_to ? *unicast_to : wire::solicited_node_multicast(target);
    link::mac_address to_mac = wire::multicast_mac(to);
    if (unicast_to) {
        auto* e = nd_lookup(s, *unicast_to);
        if (!e || e->state == nd_state::incomplete) return;
        to_mac = e->mac;
    }
    const auto size = ns.encoded_size();
    wire::ethernet_header{to_mac, s.cfg.mac, static_cast<std::uint16_t>(wire::ether_type::ipv6)}.encode(frame);
    wire::ipv6_header h;
    h.source = from;
    h.destination = to;
    h.next_header = icmpv6_protocol;
    h.hop_limit = wire::ndp_hop_limit;
    h.encode(mutable_bytes{frame}.subspan(wire::ethernet_header_size), size);
    ns.encode(mutable_bytes{frame}.subspan(wire::ethernet_header_size + wire::ipv6_header_size), from, to);
    ++s.stats.ip6.out_requests;
    ++s.stats.icmp6.out_msgs;
    ++s.stats.icmp6.out_neighbor_solicits;
    s.emit(bytes{frame.data(), wire::ethernet_header_size + wire::ipv6_header_size + size}, t);
}

void dad_start(stack::impl& s, instant t) {
    // RFC 4862 §5.4.2: one solicitation per DupAddrDetectTransmits, RetransTimer apart. (RFC
    // 4862 §5.4.2 also asks for a random delay before the first one to avoid collisions at
    // boot; a single stack starting by itself has none to avoid.)
    for (our_address6* a : {&s.v6.link_local, s.v6.global ? &*s.v6.global : nullptr})
        if (a && a->state == stack::address_state::tentative) a->dad_next = t;
}

namespace {
void dad_poll(stack::impl& s, our_address6& a, instant t) {
    if (a.state != stack::address_state::tentative || t < a.dad_next) return;
    if (a.dad_sent >= s.cfg.dad_transmits) {
        a.state = stack::address_state::preferred;  // §5.4.3: no duplicate heard in time
        return;
    }
    ++a.dad_sent;
    a.dad_next = t + s.v6.retrans_timer;
    nd_send_solicitation(s, a.addr, nullptr, t);
}

void send_router_solicitation(stack::impl& s, instant t) {
    std::array<std::byte, wire::ethernet_header_size + wire::ipv6_header_size + 16> frame{};
    wire::router_solicitation rs;
    rs.source_link_layer = s.cfg.mac;
    const auto from = s.v6.link_local.addr;
    const auto to = wire::all_routers_multicast();
    wire::ethernet_header{wire::multicast_mac(to), s.cfg.mac, static_cast<std::uint16_t>(wire::ether_type::ipv6)}
        .encode(frame);
    wire::ipv6_header h;
    h.source = from;
    h.destination = to;
    h.next_header = icmpv6_protocol;
    h.hop_limit = wire::ndp_hop_limit;
    h.encode(mutable_bytes{frame}.subspan(wire::ethernet_header_size), rs.encoded_size());
    rs.encode(mutable_bytes{frame}.subspan(wire::ethernet_header_size + wire::ipv6_header_size), from, to);
    ++s.stats.ip6.out_requests;
    ++s.stats.icmp6.out_msgs;
    ++s.stats.icmp6.out_router_solicits;
    s.emit(bytes{frame.data(), wire::ethernet_header_size + wire::ipv6_header_size + rs.encoded_size()}, t);
}
}  // namespace

void nd_poll(stack::impl& s, instant t) {
    dad_poll(s, s.v6.link_local, t);
    if (s.v6.global) dad_poll(s, *s.v6.global, t);
    if (!s.v6.rs_sent && s.cfg.ipv6_send_router_solicitation &&
        s.v6.link_local.state == stack::address_state::preferred) {
        s.v6.rs_sent = true;  // one solicitation; periodic advertisements do the rest
        send_router_solicitation(s, t);
    }
    for (auto& e : s.v6.neighbors) {
        if (!e.in_use || !e.timer_at || t < *e.timer_at) continue;
        switch (e.state) {
        case nd_state::incomplete:
            // §7.3.3 / §7.2.2: MAX_MULTICAST_SOLICIT solicitations, then give up.
            if (e.probes >= s.cfg.nd_max_multicast_solicit) {
                ++s.stats.icmp6.nd_resolution_failures;
                drop_pending(s, e);
                e = neighbor_entry{};
                continue;
            }
            ++e.probes;
            e.timer_at = t + s.v6.retrans_timer;
            nd_send_solicitation(s, e.address, nullptr, t);
            break;
        case nd_state::reachable:
            // "When ReachableTime milliseconds have passed since receipt of the last
            // reachability confirmation ... the entry's state is changed to STALE".
            e.state = nd_state::stale;
            e.timer_at.reset();
            break;
        case nd_state::delay:
            // "If the entry is still in the DELAY state when the timer expires, the entry's
            // state changes to PROBE" and a unicast solicitation goes out.
            e.state = nd_state::probe;
            e.probes = 1;
            e.timer_at = t + s.v6.retrans_timer;
            nd_send_solicitation(s, e.address, &e.address, t);
            break;
        case nd_state::probe:
            if (e.probes >= s.cfg.nd_max_unicast_solicit) {
                // §7.3.3: "the entry SHOULD be deleted".
                drop_pending(s, e);
                e = neighbor_entry{};
                continue;
            }
            ++e.probes;
            e.timer_at = t + s.v6.retrans_timer;
            nd_send_solicitation(s, e.address, &e.address, t);
            break;
        case nd_state::stale: e.timer_at.reset(); break;
        }
    }
}

void nd_negative_advice(stack::impl& s, const ip::address_v6& dst, instant t) {
    // The next hop, as finish_ipv6 picks it.
    ip::address_v6 next_hop = dst;
    const bool on_link = dst.is_link_local() ||
        (s.v6.global && s.v6.global->prefix_length > 0 &&
         ip::interface_address_v6{s.v6.global->addr, s.v6.global->prefix_length}.contains(dst));
    if (!on_link) {
        if (!s.v6.default_router) return;
        next_hop = *s.v6.default_router;
    }
    neighbor_entry* e = nd_lookup(s, next_hop);
    if (!e || e->state == nd_state::incomplete || e->state == nd_state::probe) return;  // already asking
    // RFC 4861 §7.3.1 lets upper layers confirm reachability; their doubt (RFC 1122 2.3.2.1
    // higher-layer advice) moves the entry to PROBE: it stays in use while unicast solicitations
    // (MAX_UNICAST_SOLICIT, RetransTimer apart, nd_poll) ask, and is deleted if none is answered.
    e->state = nd_state::probe;
    e->probes = 1;
    e->timer_at = t + s.v6.retrans_timer;
    ++s.stats.icmp6.nd_revalidations;
    nd_send_solicitation(s, e->address, &e->address, t);
}

std::optional<instant> nd_deadline(const stack::impl& s) {
    std::optional<instant> next;
    const auto merge = [&](instant d) {
        if (!next || d < *next) next = d;
    };
    for (const our_address6* a : {&s.v6.link_local, s.v6.global ? &*s.v6.global : nullptr})
        if (a && a->state == stack::address_state::tentative) merge(a->dad_next);
    if (!s.v6.rs_sent && s.cfg.ipv6_send_router_solicitation &&
        s.v6.link_local.state == stack::address_state::preferred)
        merge(s.now);
    for (const auto& e : s.v6.neighbors)
        if (e.in_use && e.timer_at) merge(*e.timer_at);
    return next;
}

}  // namespace tapstack
