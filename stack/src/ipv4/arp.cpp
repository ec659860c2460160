// ARP (RFC 826) with the cache rules of RFC 1122 2.3.2: entries expire, a bounded number of
// packets wait per unresolved address, requests are retried and then given up.
#include "../stack/stack_impl.hpp"
#include "ipv4.hpp"
#include <tapstack/wire/arp.hpp>

namespace tapstack {

arp_entry* arp_lookup(stack::impl& s, ip::address_v4 a) {
    if (s.v4.arp_last_hit < s.v4.arp_entries.size()) {
        auto& e = s.v4.arp_entries[s.v4.arp_last_hit];
        if (e.in_use && e.address == a) return &e;
    }
    for (std::size_t i = 0; i < s.v4.arp_entries.size(); ++i) {
        auto& e = s.v4.arp_entries[i];
        if (e.in_use && e.address == a) {
            s.v4.arp_last_hit = static_cast<std::uint16_t>(i);
            return &e;
        }
    }
    return nullptr;
}

namespace {
/// A free slot, else the resolved entry that expires first (never one with packets waiting).
arp_entry* arp_victim(std::vector<arp_entry>& entries) {
    arp_entry* oldest = nullptr;
    for (auto& e : entries) {
        if (!e.in_use) return &e;
        if (e.resolved && (!oldest || e.expires_at < oldest->expires_at)) oldest = &e;
    }
    return oldest;
}
}  // namespace

void arp_learn(stack::impl& s, ip::address_v4 a, const link::mac_address& mac, instant t, bool create) {
    if (a.is_unspecified() || a.is_broadcast() || mac.is_multicast()) return;
    arp_entry* e = arp_lookup(s, a);
    if (e && !e->resolved) --s.v4.arp_unresolved;  // it is about to be resolved
    if (!e) {
        if (!create) return;
        e = arp_victim(s.v4.arp_entries);
        if (!e) {
            ++s.stats.arp.cache_full_drops;
            return;
        }
        *e = arp_entry{};
        e->in_use = true;
        e->address = a;
    }
    e->mac = mac;
    e->resolved = true;
    e->retries = 0;
    e->expires_at = t + s.cfg.arp_entry_lifetime;
    if (e->pending_count == 0) return;
    // Release the frames that waited for this address, oldest first.
    const auto index = static_cast<std::uint16_t>(e - s.v4.arp_entries.data());
    for (auto& p : s.v4.pending) {
        if (!p.in_use || p.entry != index) continue;
        for (std::size_t i = 0; i < mac.bytes.size(); ++i) p.bytes[i] = std::byte{mac.bytes[i]};
        s.emit(bytes{p.bytes.data(), p.length}, t);
        p.in_use = false;
    }
    e->pending_count = 0;
}

void on_arp(stack::impl& s, bytes packet, instant t) {
    auto arp = wire::arp_view::parse(packet);
    if (!arp) {
        ++s.stats.arp.in_errors;
        return;
    }
    const bool request = arp->operation() == static_cast<std::uint16_t>(wire::arp_operation::request);
    const bool reply = arp->operation() == static_cast<std::uint16_t>(wire::arp_operation::reply);
    if (request)
        ++s.stats.arp.in_requests;
    else if (reply)
        ++s.stats.arp.in_replies;
    else {
        ++s.stats.arp.in_errors;
        return;
    }
    // RFC 826 "Packet Reception": update an existing entry whoever it was for; create one only
    // when the packet is for us.
    const bool for_us = arp->target_ip() == s.cfg.ipv4.addr && !s.cfg.ipv4.addr.is_unspecified();
    if (arp->sender_ip() != s.cfg.ipv4.addr) arp_learn(s, arp->sender_ip(), arp->sender_mac(), t, for_us);
    if (!for_us || !request) return;

    wire::arp_packet answer{wire::arp_operation::reply, s.cfg.mac, s.cfg.ipv4.addr, arp->sender_mac(),
                            arp->sender_ip()};
    wire::ethernet_header{arp->sender_mac(), s.cfg.mac, static_cast<std::uint16_t>(wire::ether_type::arp)}.encode(s.tx);
    answer.encode(mutable_bytes{s.tx}.subspan(wire::ethernet_header_size));
    // Pad to the 60-byte Ethernet minimum as a NIC would.
    constexpr std::size_t min_frame = 60;
    std::fill(s.tx.begin() + wire::ethernet_header_size + wire::arp_packet_size, s.tx.begin() + min_frame,
              std::byte{0});
    ++s.stats.arp.out_replies;
    s.emit(bytes{s.tx.data(), min_frame}, t);
}

void arp_send_request(stack::impl& s, ip::address_v4 target, instant t) {
    std::array<std::byte, 60> frame{};
    wire::ethernet_header{link::mac_address::broadcast(), s.cfg.mac, static_cast<std::uint16_t>(wire::ether_type::arp)}
        .encode(frame);
    wire::arp_packet{wire::arp_operation::request, s.cfg.mac, s.cfg.ipv4.addr, link::mac_address{}, target}.encode(
        mutable_bytes{frame}.subspan(wire::ethernet_header_size));
    ++s.stats.arp.out_requests;
    s.emit(frame, t);
}

void arp_poll(stack::impl& s, instant t) {
    if (s.v4.arp_unresolved == 0) return;
    for (auto& e : s.v4.arp_entries) {
        if (!e.in_use || e.resolved || t < e.next_retry_at) continue;
        if (e.retries >= s.cfg.arp_max_retries) {
            // Give up: drop what waited (RFC 1122 2.3.2.1 flooding rule: stop asking).
            ++s.stats.arp.resolution_failures;
            const auto index = static_cast<std::uint16_t>(&e - s.v4.arp_entries.data());
            for (auto& p : s.v4.pending)
                if (p.in_use && p.entry == index) {
                    p.in_use = false;
                    ++s.stats.arp.pending_drops;
                }
            e = arp_entry{};
            --s.v4.arp_unresolved;
            continue;
        }
        ++e.retries;
        e.next_retry_at = t + s.cfg.arp_retry_interval;
        arp_send_request(s, e.address, t);
    }
}

void arp_negative_advice(stack::impl& s, ip::address_v4 dst, instant t) {
    // The next hop, as finish_ipv4 picks it.
    ip::address_v4 next_hop = dst;
    if (!s.cfg.ipv4.contains(dst)) {
        if (!s.cfg.gateway) return;
        next_hop = *s.cfg.gateway;
    }
    arp_entry* e = arp_lookup(s, next_hop);
    if (!e || !e->resolved) return;  // unknown, or a resolution is already under way
    // RFC 1122 2.3.2.1: "Higher-Layer Advice" invalidates the entry, and "Unicast Poll" asks the
    // host point to point. Instead of forgetting the MAC at once (traffic would stall for a
    // round of broadcasts, and the advice may be about a congested path, not a moved host) the
    // entry keeps being used while a unicast request goes s.out, and its lifetime is cut to the
    // time a resolution would take. A reply refreshes it (arp_learn); silence lets it expire,
    // and the next packet broadcasts as for any expired entry.
    const auto tries = std::max<std::uint8_t>(s.cfg.arp_max_retries, 1);
    const instant deadline = t + s.cfg.arp_retry_interval * tries;
    if (e->expires_at <= deadline) return;  // already revalidating (several s.connections advise)
    e->expires_at = deadline;
    ++s.stats.arp.revalidations;
    std::array<std::byte, 60> frame{};
    wire::ethernet_header{e->mac, s.cfg.mac, static_cast<std::uint16_t>(wire::ether_type::arp)}.encode(frame);
    wire::arp_packet{wire::arp_operation::request, s.cfg.mac, s.cfg.ipv4.addr, link::mac_address{}, next_hop}.encode(
        mutable_bytes{frame}.subspan(wire::ethernet_header_size));
    ++s.stats.arp.out_requests;
    s.emit(frame, t);
}

std::optional<instant> arp_deadline(const stack::impl& s) {
    std::optional<instant> next;
    if (s.v4.arp_unresolved == 0) return next;
    for (const auto& e : s.v4.arp_entries)
        if (e.in_use && !e.resolved && (!next || e.next_retry_at < *next)) next = e.next_retry_at;
    return next;
}

}  // namespace tapstack
