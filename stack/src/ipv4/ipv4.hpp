#pragma once
// IPv4 (RFC 791, RFC 1122 3), ICMP (RFC 792, RFC 1122 3.2.2) and ARP (RFC 826, RFC 1122
// 2.3.2): free functions over the stack, each working on its `v4` state (state.hpp), split
// across input.cpp, output.cpp, icmp.cpp and arp.cpp. IPv6 (../ipv6/ipv6.hpp) is written the
// same way.
#include <cstdint>
#include <optional>
#include <tapstack/base/bytes.hpp>
#include <tapstack/base/time.hpp>
#include <tapstack/wire/icmp.hpp>
#include <tapstack/wire/ipv4.hpp>
#include "state.hpp"

namespace tapstack {

struct stack_impl;  // ../stack/stack_impl.hpp

// --- input.cpp ---
/// One IPv4 packet from the link: address checks, then ICMP, UDP or TCP.
void on_ipv4(stack_impl& s, bytes packet, instant t);
void ipv4_poll(stack_impl& s, instant t);
std::optional<instant> ipv4_deadline(const stack_impl& s);

// --- output.cpp ---
/// Writes Ethernet + IPv4 headers into the stack's tx buffer and returns the payload span;
/// empty when the payload does not fit the MTU.
mutable_bytes begin_ipv4(stack_impl& s, ip::address_v4 dst, std::uint8_t protocol, std::size_t payload_size);
/// Resolves the next hop (on-link, or the gateway) and sends the frame or parks it for ARP.
/// False when unroutable.
bool finish_ipv4(stack_impl& s, ip::address_v4 dst, std::size_t payload_size, instant t);
/// Both: `write_payload(span)` must fill exactly payload_size bytes.
template <class Writer>
bool send_ipv4(stack_impl& s, ip::address_v4 dst, std::uint8_t protocol, std::size_t payload_size, instant t,
               Writer&& write_payload) {
    auto payload = begin_ipv4(s, dst, protocol, payload_size);
    if (payload.empty() && payload_size != 0) return false;
    write_payload(payload);
    return finish_ipv4(s, dst, payload_size, t);
}

// --- icmp.cpp ---
void on_icmp(stack_impl& s, const wire::ipv4_view& ip, instant t);
/// Destination unreachable quoting the offending datagram (RFC 792, RFC 1122 3.2.2).
void send_unreachable(stack_impl& s, const wire::ipv4_view& offending, wire::icmp_unreachable_code code, instant t);

// --- arp.cpp ---
void on_arp(stack_impl& s, bytes packet, instant t);
/// The cache entry for `a`; nullptr when there is none.
arp_entry* arp_lookup(stack_impl& s, ip::address_v4 a);
void arp_learn(stack_impl& s, ip::address_v4 a, const link::mac_address& mac, instant t, bool create);
void arp_send_request(stack_impl& s, ip::address_v4 target, instant t);
void arp_poll(stack_impl& s, instant t);
/// RFC 1122 2.3.2.1 higher-layer advice (TCP's R1, RFC 9293 MUST-20): revalidate the next
/// hop towards `dst` with a unicast request while its entry stays in use.
void arp_negative_advice(stack_impl& s, ip::address_v4 dst, instant t);
std::optional<instant> arp_deadline(const stack_impl& s);

}  // namespace tapstack
