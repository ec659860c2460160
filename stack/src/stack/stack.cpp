// The stack object: Ethernet dispatch (to ARP, IPv4, IPv6), poll(), and the public façade.
#include "stack_impl.hpp"
#include <stdexcept>
#include <tapstack/wire/arp.hpp>

namespace tapstack {

stack_impl::stack_impl(const stack_config& c, link::frame_sink& o)
    : cfg{c},
      out{&o},
      rng{c.seed},
      tx(std::size_t{c.mtu} + wire::ethernet_header_size +
         // TSO: room for a super-segment (the widest IP header and TCP options) when enabled.
         (c.tcp.gso_max_bytes > 0 ? std::size_t{std::min(c.tcp.gso_max_bytes, link::max_gso_payload)} +
                  wire::ipv6_header_size + wire::tcp_min_header_size + wire::tcp_max_options_size
                                  : 0)),
      v4{c},
      port_perturbation(256),  // RFC 6056 §3.3.4: "TABLE_LENGTH"
      tuple_buckets(std::bit_ceil(std::max<std::uint32_t>(c.max_tcp_sockets, 16))),
      connections(tuple_table::bucket_traits(tuple_buckets.data(), tuple_buckets.size()), tuple_hash{&tuple_hash_key}) {
    isn_key[0] = rng.next();
    isn_key[1] = rng.next();
    port_key[0] = rng.next();
    port_key[1] = rng.next();
    v4.next_ip_id = static_cast<std::uint16_t>(rng.next());
    for (auto& p : port_perturbation) p = static_cast<std::uint16_t>(rng.next());
    // Derived from the ISN secret rather than drawn, so the random sequence (and every recorded
    // fixture) stays as it was.
    const std::uint64_t label = 0x7475706c652d6862;  // "tuple-hb"
    tuple_hash_key = siphash24(isn_key, &label, sizeof label);
    icmp_tokens = static_cast<double>(cfg.icmp_error_rate);
    slots.reserve(std::size_t{cfg.max_udp_sockets} + cfg.max_tcp_sockets);
    event_queue.reserve(64);
}

stack_impl::~stack_impl() {
    // Unlink every intrusive hook before the sockets go (safe_link asserts otherwise).
    timers.clear();
    connections.clear();
    time_waits.clear();
    for (auto& s : slots) {
        if (s.tcp) {
            s.tcp->accept_queue.clear();
            tcp_ports.remove(s.tcp->binding);
        }
        if (s.udp) udp_ports.remove(s.udp->binding);
    }
}

call_scope::~call_scope() {
    s_.reap(s_.now);
    s_.flush_events();
}

void stack::impl::receive(bytes frame, instant t) {
    now = t;
    ++stats.link.in_frames;
    auto eth = wire::ethernet_view::parse(frame);
    if (!eth) {
        ++stats.link.in_truncated;
        return;
    }
    const auto dst = eth->destination();
    if (dst != cfg.mac && !dst.is_broadcast() && !ipv6_accepts_mac(*this, dst)) {
        ++stats.link.in_not_for_us;
        return;
    }
    switch (eth->type()) {
    case static_cast<std::uint16_t>(wire::ether_type::arp): on_arp(*this, eth->payload(), t); return;
    case static_cast<std::uint16_t>(wire::ether_type::ipv4): on_ipv4(*this, eth->payload(), t); return;
    case static_cast<std::uint16_t>(wire::ether_type::ipv6): on_ipv6(*this, eth->payload(), t); return;
    default: ++stats.link.in_unknown_ethertype; return;
    }
}

std::optional<instant> stack::impl::poll(instant t) {
    auto deadline = [this] {
        std::optional<instant> next = ipv4_deadline(*this);
        if (auto v6_next = ipv6_deadline(*this); v6_next && (!next || *v6_next < *next)) next = v6_next;
        if (!timers.empty()) {
            const instant tcp_next = timers.begin()->deadline;
            if (!next || tcp_next < *next) next = tcp_next;
        }
        return next;
    };
    // stack_config::deterministic: the clock moves only when a timer is due, so that socket
    // calls after an idle poll still act at the instant of the last event.
    if (cfg.deterministic) {
        const auto next = deadline();
        if (!next || *next > t) return next;
    }
    now = t;
    ipv4_poll(*this, t);
    tcp_poll(t);
    ipv6_poll(*this, t);
    return deadline();
}

// ---------------------------------------------------------------- façade

stack::stack(const stack_config& cfg, link::frame_sink& out) {
    if (auto why = cfg.validate()) throw std::invalid_argument("tapstack::stack_config: " + *why);
    impl_ = std::make_unique<impl>(cfg, out);
}
stack::~stack() = default;

void stack::receive(bytes frame, instant now) {
    call_scope scope{*impl_};
    impl_->receive(frame, now);
}

void stack::receive(bytes frame, instant now, const link::rx_offload& off) {
    call_scope scope{*impl_};
    // Only this call's TCP segment skips verification (tcp_sockets.cpp, on_tcp).
    impl_->rx_l4_checksum_trusted = off.l4_checksum_trusted();
    if (impl_->rx_l4_checksum_trusted) ++impl_->stats.link.in_checksum_offloaded;
    if (off.gso == link::gso_kind::tcpv4 || off.gso == link::gso_kind::tcpv6) ++impl_->stats.link.in_gso_frames;
    impl_->receive(frame, now);
    impl_->rx_l4_checksum_trusted = false;
}

std::size_t stack::impl::gso_ip_payload_limit() const noexcept {
    if (cfg.tcp.gso_max_bytes == 0) return 0;
    return tx.size() - wire::ethernet_header_size - wire::ipv4_min_header_size;
}

std::optional<instant> stack::poll(instant now) {
    std::optional<instant> next;
    {
        call_scope scope{*impl_};
        next = impl_->poll(now);
    }
    // Reaping and event handlers may have changed the timers.
    if (!impl_->timers.empty()) {
        const instant tcp_next = impl_->timers.begin()->deadline;
        if (!next || tcp_next < *next) next = tcp_next;
    }
    return next;
}

const stack_config& stack::config() const noexcept { return impl_->cfg; }
const stack_stats& stack::stats() const noexcept { return impl_->stats; }
void stack::set_output(link::frame_sink& out) noexcept { impl_->out = &out; }

}  // namespace tapstack
