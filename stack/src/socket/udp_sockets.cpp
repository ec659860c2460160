// UDP (RFC 768) sockets: bind, send_to, receive_from, and inbound demultiplexing.
#include "../stack/stack_impl.hpp"
#include <tapstack/wire/udp.hpp>

namespace tapstack {
namespace {
constexpr std::uint32_t max_queued_datagrams = 1024;

/// Where a datagram of `len` bytes can go in the ring, or nullopt when it does not fit.
std::optional<std::uint32_t> ring_place(const udp_socket& s, std::uint32_t len) {
    const auto capacity = static_cast<std::uint32_t>(s.ring.size());
    if (s.record_count == 0) return len <= capacity ? std::optional<std::uint32_t>{0} : std::nullopt;
    if (s.record_count == s.records.size()) return std::nullopt;
    const std::uint32_t oldest = s.records[s.record_head].offset;
    if (s.ring_head >= oldest) {
        if (len <= capacity - s.ring_head) return s.ring_head;
        if (len < oldest) return 0;  // strict: head == oldest would read as empty
        return std::nullopt;
    }
    if (len < oldest - s.ring_head) return s.ring_head;
    return std::nullopt;
}
}  // namespace

void stack::impl::on_udp(const wire::ipv4_view& ip, instant t) {
    const bool unicast = ip.destination() == cfg.ipv4.addr;
    if (!on_udp(ip::address{ip.source()}, ip::address{ip.destination()}, ip.payload(), unicast, t) && unicast)
        send_unreachable(*this, ip, wire::icmp_unreachable_code::port, t);
}

bool stack::impl::on_udp(const ip::address& src, const ip::address& dst, bytes datagram, bool unicast, instant) {
    auto udp = wire::udp_view::parse(datagram, src, dst);
    if (!udp) {
        ++stats.udp.in_errors;
        return true;
    }
    const auto port = udp->destination_port();
    udp_socket* match = nullptr;
    std::uint32_t match_slot = 0;
    udp_ports.for_each(port, [&](const port_binding& b) {
        const bool exact = unicast && b.address == dst;
        // A wildcard takes its own family, and an IPv6 wildcard IPv4 too unless v6_only.
        if (exact || (b.address.is_unspecified() && wildcard_takes(b.address, b.v6_only, dst) && !match)) {
            match = slots[b.owner_slot].udp.get();
            match_slot = b.owner_slot;
        }
    });
    if (!match || port == 0) {
        ++stats.udp.no_ports;
        return false;
    }
    const auto payload = udp->payload();
    const auto len = static_cast<std::uint32_t>(payload.size());
    auto at = ring_place(*match, len);
    if (!at) {
        ++stats.udp.rcvbuf_errors;
        return true;
    }
    copy_bytes(match->ring, *at, payload);
    const auto index = (match->record_head + match->record_count) % static_cast<std::uint32_t>(match->records.size());
    match->records[index] = datagram_record{ip::endpoint{src, udp->source_port()}, *at, len};
    ++match->record_count;
    match->ring_head = *at + len;
    ++stats.udp.in_datagrams;
    notify(match_slot, socket_event::readable);
    return true;
}

// ---------------------------------------------------------------- façade

result<socket_handle> stack::udp_open() {
    std::size_t open = 0;
    for (const auto& s : impl_->slots) open += s.kind == socket_kind::udp;
    if (open >= impl_->cfg.max_udp_sockets) return errc::no_buffer_space;
    auto slot = impl_->allocate_slot(socket_kind::udp);
    if (!slot) return slot.error();
    impl_->slots[*slot].udp = std::make_unique<udp_socket>();
    return impl_->handle_of(*slot);
}

errc stack::udp_bind(socket_handle h, const ip::endpoint& local) {
    auto* s = impl_->lookup(h, socket_kind::udp);
    if (!s) return errc::bad_descriptor;
    auto& u = *s->udp;
    if (u.bound) return errc::invalid_argument;
    if (!impl_->is_local_address(local.address)) return errc::address_not_available;
    if (auto e = impl_->check_bindable(local.port); e != errc::success) return e;
    ip::port_number port = local.port;
    if (port == 0) {
        port = impl_->pick_ephemeral_any(impl_->udp_ports);
        if (port == 0) return errc::address_not_available;
    } else if (auto e = impl_->udp_ports.check(local.address, port, false); e != errc::success) {
        return e;
    }
    u.local = ip::endpoint{local.address, port};
    u.binding.address = local.address;
    u.binding.port = port;
    u.binding.owner_slot = h.slot;
    impl_->udp_ports.add(u.binding);
    u.ring.resize(impl_->cfg.udp_receive_queue_bytes);  // once per socket, not per datagram
    u.records.resize(max_queued_datagrams);
    u.bound = true;
    return errc::success;
}

result<std::size_t> stack::udp_send_to(socket_handle h, bytes payload, const ip::endpoint& to, instant now) {
    call_scope scope{*impl_};
    now = impl_->call_instant(now);
    auto* s = impl_->lookup(h, socket_kind::udp);
    if (!s) return errc::bad_descriptor;
    // RFC 768: source port 0 means "no port"; nothing can be sent back to it.
    if (to.port == 0 || to.address.is_unspecified()) return errc::invalid_argument;
    if (!s->udp->bound) {
        const ip::address wildcard =
            to.address.is_v6() ? ip::address{ip::address_v6::any()} : ip::address{ip::address_v4::any()};
        if (auto e = udp_bind(h, ip::endpoint{wildcard, 0}); e != errc::success) return e;
    }
    auto& u = *s->udp;
    if (to.address.is_v6()) return impl_->udp_send_v6(u, payload, to, now);
    const std::size_t size = wire::udp_header_size + payload.size();
    if (size + wire::ipv4_min_header_size > impl_->cfg.mtu) return errc::message_size;
    const ip::address src{impl_->cfg.ipv4.addr};
    const ip::address dst = to.address;
    const bool sent = send_ipv4(*impl_, to.address.to_v4(), static_cast<std::uint8_t>(wire::ip_protocol::udp), size,
                                now, [&](mutable_bytes out) {
                                    copy_bytes(out, wire::udp_header_size, payload);
                                    wire::udp_header{u.local.port, to.port}.encode(out, payload.size(), src, dst);
                                });
    if (!sent) return errc::host_unreachable;
    ++impl_->stats.udp.out_datagrams;
    return payload.size();
}

result<datagram_info> stack::udp_receive_from(socket_handle h, mutable_bytes out) {
    auto* s = impl_->lookup(h, socket_kind::udp);
    if (!s) return errc::bad_descriptor;
    auto& u = *s->udp;
    if (u.record_count == 0) return errc::would_block;
    const auto& r = u.records[u.record_head];
    const std::size_t n = std::min<std::size_t>(out.size(), r.length);
    copy_bytes(out, 0, bytes{u.ring}.subspan(r.offset, n));
    datagram_info info{n, r.length, r.from};
    u.record_head = (u.record_head + 1) % static_cast<std::uint32_t>(u.records.size());
    if (--u.record_count == 0) u.ring_head = 0;
    return info;
}

std::size_t stack::udp_bytes_readable(socket_handle h) const noexcept {
    const auto* s = impl_->lookup(h, socket_kind::udp);
    if (!s || s->udp->record_count == 0) return 0;
    return s->udp->records[s->udp->record_head].length;
}

result<ip::endpoint> stack::udp_local_endpoint(socket_handle h) const {
    const auto* s = impl_->lookup(h, socket_kind::udp);
    if (!s) return errc::bad_descriptor;
    return s->udp->local;
}

void stack::udp_close(socket_handle h) {
    auto* s = impl_->lookup(h, socket_kind::udp);
    if (!s) return;
    impl_->udp_ports.remove(s->udp->binding);
    impl_->free_slot(h.slot);
}

}  // namespace tapstack
