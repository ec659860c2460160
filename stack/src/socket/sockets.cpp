// Socket slots, handles, readiness events and ephemeral ports, shared by UDP and TCP.
#include "../stack/stack_impl.hpp"

namespace tapstack {

result<std::uint32_t> stack::impl::allocate_slot(socket_kind kind) {
    std::uint32_t slot;
    if (!free_slots.empty()) {
        slot = free_slots.back();
        free_slots.pop_back();
    } else {
        slot = static_cast<std::uint32_t>(slots.size());
        slots.emplace_back();
    }
    slots[slot].kind = kind;
    slots[slot].waiter = nullptr;
    slots[slot].pending_events = 0;
    return slot;
}

void stack::impl::free_slot(std::uint32_t slot) {
    auto& s = slots[slot];
    s.kind = socket_kind::free;
    ++s.generation;  // every handle to the old socket is stale now
    s.waiter = nullptr;
    s.pending_events = 0;
    s.udp.reset();
    s.tcp.reset();
    free_slots.push_back(slot);
}

socket_slot* stack::impl::lookup(socket_handle h, socket_kind kind) {
    if (h.slot >= slots.size()) return nullptr;
    auto& s = slots[h.slot];
    return s.kind == kind && s.generation == h.generation ? &s : nullptr;
}

const socket_slot* stack::impl::lookup(socket_handle h, socket_kind kind) const {
    return const_cast<stack::impl*>(this)->lookup(h, kind);
}

void stack::impl::notify(std::uint32_t slot, std::uint8_t events) {
    auto& s = slots[slot];
    if (!s.waiter) return;
    if (s.pending_events == 0) event_queue.push_back(slot);
    s.pending_events |= events;
}

void stack::impl::flush_events() {
    // Waiters may call back into the stack (and queue more events): deliver until quiet, and
    // never re-entrantly.
    if (flushing_events) return;
    if (!memory_waiters.empty()) wake_memory_waiters();
    flushing_events = true;
    for (std::size_t i = 0; i < event_queue.size(); ++i) {
        const auto slot = event_queue[i];
        auto& s = slots[slot];
        const auto events = s.pending_events;
        s.pending_events = 0;
        if (events && s.waiter) s.waiter->on_socket_event(handle_of(slot), events);
    }
    event_queue.clear();
    flushing_events = false;
}

bool stack::impl::is_local_address(const ip::address& a) const {
    if (a.is_v6()) return a.is_unspecified() || ipv6_is_ours(*this, a.to_v6());
    return a.to_v4() == cfg.ipv4.addr || a.to_v4().is_unspecified();
}

errc stack::impl::check_bindable(ip::port_number port) const {
    if (port != 0 && port < 1024 && !cfg.privileged) return errc::access_denied;
    return errc::success;
}

ip::port_number stack::impl::pick_ephemeral_tcp(const ip::address& local, const ip::endpoint& remote) {
    // RFC 6056 §3.3.4, algorithm 4 (double-hash port selection): the offset depends on the
    // destination, so ports are unpredictable across destinations, and the per-bucket counter
    // makes a 4-tuple come back only after the range has been walked.
    const std::uint32_t low = cfg.ephemeral_low;
    const std::uint32_t count = std::uint32_t{cfg.ephemeral_high} - low + 1;
    struct {
        std::array<std::uint8_t, 16> local, remote;
        std::uint16_t port;
    } key{local.key_bytes(), remote.address.key_bytes(), remote.port};
    const std::uint64_t f = siphash24(port_key, &key, sizeof key);
    const std::uint64_t g_key[2] = {port_key[1], port_key[0]};
    auto& counter = port_perturbation[siphash24(g_key, &key, sizeof key) % port_perturbation.size()];
    ip::port_number reuse = 0;  // the first port whose 4-tuple is our own reusable TIME-WAIT
    for (std::uint32_t i = 0; i < count; ++i) {
        const auto port = static_cast<ip::port_number>(low + (f + counter + i) % count);
        if (tcp_ports.has_non_connection(local, port)) continue;
        const ip::four_tuple tuple{{local, port}, remote};
        if (connections.find(tuple) != connections.end()) {
            if (reuse == 0 && reusable_time_wait(tuple)) reuse = port;
            continue;
        }
        // Algorithm 4 steps its counter by one, which makes consecutive connections to one
        // destination take consecutive ports; a random step (algorithm 5's idea, N = 500)
        // keeps them unpredictable while still walking the whole range before a reuse.
        counter = static_cast<std::uint16_t>(counter + i + 1 + rng.below(500));
        return port;
    }
    // Every 4-tuple is taken: one held by our own TIME-WAIT may be reused (tcp_connect releases
    // it); none is address_not_available for the caller.
    return reuse;
}

ip::port_number stack::impl::pick_ephemeral_any(port_table& ports) {
    // bind() to port 0: no destination yet, so a random start and a walk to a port nobody holds.
    const std::uint32_t low = cfg.ephemeral_low;
    const std::uint32_t count = std::uint32_t{cfg.ephemeral_high} - low + 1;
    const std::uint32_t start = rng.below(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        const auto port = static_cast<ip::port_number>(low + (start + i) % count);
        if (ports.empty(port)) return port;
    }
    return 0;
}

}  // namespace tapstack
