#pragma once
// IPv6 (RFC 8200), ICMPv6 (RFC 4443), neighbor discovery (RFC 4861) and address
// autoconfiguration's DAD (RFC 4862): free functions over the stack, each working on its
// `v6` state (state.hpp), split across input.cpp, output.cpp, icmpv6.cpp, ndp.cpp and
// reassembly.cpp. IPv4 (../ipv4/ipv4.hpp) is written the same way.
#include <cstdint>
#include <optional>
#include <tapstack/base/bytes.hpp>
#include <tapstack/base/time.hpp>
#include <tapstack/wire/icmpv6.hpp>
#include <tapstack/wire/ipv6.hpp>
#include "state.hpp"

namespace tapstack {

struct stack_impl;  // ../stack/stack_impl.hpp

// --- input.cpp: input, address checks ---
void ipv6_start(stack_impl& s, instant t);
bool ipv6_accepts_mac(const stack_impl& s, const link::mac_address& dst) noexcept;
void on_ipv6(stack_impl& s, bytes packet, instant t);
/// Ours and usable (not tentative, not duplicate).
bool ipv6_is_ours(const stack_impl& s, const ip::address_v6& a) noexcept;
/// RFC 6724 in miniature: link-local for link-local and link-scope multicast destinations,
/// otherwise the global address when we have one.
std::optional<ip::address_v6> ipv6_source_for(const stack_impl& s, const ip::address_v6& dst) noexcept;
void ipv6_poll(stack_impl& s, instant t);
std::optional<instant> ipv6_deadline(const stack_impl& s);
/// Delivers an upper-layer payload that arrived over IPv6 (also called after reassembly).
void ipv6_deliver(stack_impl& s, const wire::ipv6_view& ip, instant t, bool reassembled);

// --- output.cpp ---
/// Writes Ethernet + IPv6 headers into the stack's tx buffer and returns the payload span;
/// empty when the payload does not fit the MTU.
mutable_bytes begin_ipv6(stack_impl& s, const ip::address_v6& src, const ip::address_v6& dst, std::uint8_t next_header,
                         std::size_t payload_size, std::uint8_t hop_limit = 0);
/// Resolves the next hop (on-link, or the default router) and sends or parks the frame.
bool finish_ipv6(stack_impl& s, const ip::address_v6& dst, std::size_t payload_size, instant t);
template <class Writer>
bool send_ipv6(stack_impl& s, const ip::address_v6& src, const ip::address_v6& dst, std::uint8_t next_header,
               std::size_t payload_size, instant t, Writer&& write_payload, std::uint8_t hop_limit = 0) {
    auto payload = begin_ipv6(s, src, dst, next_header, payload_size, hop_limit);
    if (payload.empty() && payload_size != 0) return false;
    write_payload(payload);
    return finish_ipv6(s, dst, payload_size, t);
}

// --- ndp.cpp ---
void on_ndp(stack_impl& s, const wire::ipv6_view& ip, const wire::icmpv6_view& m, instant t);
neighbor_entry* nd_lookup(stack_impl& s, const ip::address_v6& a);
void nd_send_solicitation(stack_impl& s, const ip::address_v6& target, const ip::address_v6* unicast_to, instant t);
void nd_poll(stack_impl& s, instant t);
/// Upper-layer negative advice (TCP's R1, RFC 9293 MUST-20): the next hop towards `dst` goes to
/// PROBE (RFC 4861 §7.3.3): unicast solicitations while the entry stays in use.
void nd_negative_advice(stack_impl& s, const ip::address_v6& dst, instant t);
std::optional<instant> nd_deadline(const stack_impl& s);
void dad_start(stack_impl& s, instant t);

// --- icmpv6.cpp ---
void on_icmpv6(stack_impl& s, const wire::ipv6_view& ip, bytes message, instant t);
/// An ICMPv6 error about `offending` (RFC 4443 §2.4: never about an error, and about a
/// multicast destination only for packet too big and unrecognized options).
/// `offending` is the packet from its IPv6 header on (at least 40 bytes; quoted up to 1232).
void send_icmpv6_error(stack_impl& s, bytes offending, wire::icmpv6_type type, std::uint8_t code, std::uint32_t rest,
                       instant t, bool allow_multicast = false);

// --- reassembly.cpp ---
/// Adds one fragment; delivers the datagram when complete.
void reassemble6(stack_impl& s, const wire::ipv6_view& ip, const wire::ipv6_fragment& f, bytes data, instant t);
void reassembly6_poll(stack_impl& s, instant t);
std::optional<instant> reassembly6_deadline(const stack_impl& s);

}  // namespace tapstack
