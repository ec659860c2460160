#pragma once
// The stack's IPv6 state (addresses and DAD, the neighbor cache, the default router, fragment
// reassembly) and the functions over it, split across ipv6*.cpp, ndp.cpp, icmpv6.cpp and
// reassembly6.cpp. They are free functions over stack::impl so the shared impl only holds
// one `ipv6_state v6` member.
#include <optional>
#include <vector>
#include <tapstack/stack.hpp>
#include <tapstack/wire/icmpv6.hpp>
#include <tapstack/wire/ipv6.hpp>

namespace tapstack {

/// RFC 4861 §7.3.2 neighbor cache states.
enum class nd_state : std::uint8_t { incomplete, reachable, stale, delay, probe };

struct neighbor_entry {
    ip::address_v6 address;
    link::mac_address mac;
    nd_state state = nd_state::incomplete;
    bool in_use = false;
    bool is_router = false;
    /// INCOMPLETE/PROBE: next solicitation; REACHABLE: when it turns STALE; DELAY: when to
    /// start probing. STALE has no timer (§7.3.3: it stays until used).
    std::optional<instant> timer_at;
    std::uint8_t probes = 0;
    std::uint8_t pending_count = 0;
    instant last_used{};
};

struct pending_frame6 {
    std::uint16_t entry = 0;
    std::uint16_t length = 0;
    bool in_use = false;
    std::vector<std::byte> bytes;  // mtu + 14, allocated at start-up
};

struct our_address6 {
    ip::address_v6 addr;
    std::uint8_t prefix_length = 64;
    stack::address_state state = stack::address_state::absent;
    std::uint8_t dad_sent = 0;
    instant dad_next{};
};

struct reassembly_slot {
    bool in_use = false;
    ip::address_v6 source, destination;
    std::uint32_t identification = 0;
    instant expires_at{};
    std::uint8_t next_header = 0;  // from the first fragment's fragment header
    bool have_first = false;
    std::uint32_t total = 0;  // fragmentable length, known once the last fragment arrived
    std::uint32_t received = 0;
    std::uint16_t fragment_count = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;  // [begin, end), capacity fixed
    std::vector<std::byte> buffer;  // 40-byte header + 65535, allocated at start-up
    bool discarded = false;  // RFC 5722: overlap seen; later fragments are dropped too
    std::vector<std::byte> first;  // the first fragment as received, quoted on time-out
    std::size_t first_length = 0;
};

struct ipv6_state {
    explicit ipv6_state(const stack_config& cfg);

    bool enabled = false;
    bool started = false;
    bool rs_sent = false;
    our_address6 link_local;
    std::optional<our_address6> global;
    tcp::config tcp;  // cfg.tcp with the MSS for a 40-byte header (RFC 8200 §8.3: mtu - 60)

    std::vector<neighbor_entry> neighbors;
    std::vector<pending_frame6> pending;
    std::optional<ip::address_v6> default_router;
    instant router_expires_at{};
    std::uint8_t hop_limit = 64;
    duration reachable_time{};
    duration retrans_timer{};

    std::vector<reassembly_slot> reassembly;
};

/// A binding on the wildcard of one family: which destinations it takes. An IPv6 wildcard
/// also takes IPv4 unless v6_only (Linux's bindv6only=0); an IPv4 wildcard never takes IPv6.
constexpr bool wildcard_takes(const ip::address& bound, bool v6_only, const ip::address& dst) noexcept {
    if (!bound.is_unspecified()) return bound == dst;
    if (bound.is_v6()) return dst.is_v6() || !v6_only;
    return dst.is_v4();
}

// --- ipv6.cpp: input, address checks ---
void ipv6_start(stack::impl& s, instant t);
bool ipv6_accepts_mac(const stack::impl& s, const link::mac_address& dst) noexcept;
void on_ipv6(stack::impl& s, bytes packet, instant t);
/// Ours and usable (not tentative, not duplicate).
bool ipv6_is_ours(const stack::impl& s, const ip::address_v6& a) noexcept;
/// RFC 6724 in miniature: link-local for link-local and link-scope multicast destinations,
/// otherwise the global address when we have one.
std::optional<ip::address_v6> ipv6_source_for(const stack::impl& s, const ip::address_v6& dst) noexcept;
void ipv6_poll(stack::impl& s, instant t);
std::optional<instant> ipv6_deadline(const stack::impl& s);
/// Delivers an upper-layer payload that arrived over IPv6 (also called after reassembly).
void ipv6_deliver(stack::impl& s, const wire::ipv6_view& ip, instant t, bool reassembled);

// --- ipv6_output.cpp ---
/// Writes Ethernet + IPv6 headers into the stack's tx buffer and returns the payload span;
/// empty when the payload does not fit the MTU.
mutable_bytes begin_ipv6(stack::impl& s, const ip::address_v6& src, const ip::address_v6& dst, std::uint8_t next_header,
                         std::size_t payload_size, std::uint8_t hop_limit = 0);
/// Resolves the next hop (on-link, or the default router) and sends or parks the frame.
bool finish_ipv6(stack::impl& s, const ip::address_v6& dst, std::size_t payload_size, instant t);
template <class Writer>
bool send_ipv6(stack::impl& s, const ip::address_v6& src, const ip::address_v6& dst, std::uint8_t next_header,
               std::size_t payload_size, instant t, Writer&& write_payload, std::uint8_t hop_limit = 0) {
    auto payload = begin_ipv6(s, src, dst, next_header, payload_size, hop_limit);
    if (payload.empty() && payload_size != 0) return false;
    write_payload(payload);
    return finish_ipv6(s, dst, payload_size, t);
}

// --- ndp.cpp ---
void on_ndp(stack::impl& s, const wire::ipv6_view& ip, const wire::icmpv6_view& m, instant t);
neighbor_entry* nd_lookup(stack::impl& s, const ip::address_v6& a);
void nd_send_solicitation(stack::impl& s, const ip::address_v6& target, const ip::address_v6* unicast_to, instant t);
void nd_poll(stack::impl& s, instant t);
/// Upper-layer negative advice (TCP's R1, RFC 9293 MUST-20): the next hop towards `dst` goes to
/// PROBE (RFC 4861 §7.3.3): unicast solicitations while the entry stays in use.
void nd_negative_advice(stack::impl& s, const ip::address_v6& dst, instant t);
std::optional<instant> nd_deadline(const stack::impl& s);
void dad_start(stack::impl& s, instant t);

// --- icmpv6.cpp ---
void on_icmpv6(stack::impl& s, const wire::ipv6_view& ip, bytes message, instant t);
/// An ICMPv6 error about `offending` (RFC 4443 §2.4: never about an error, and about a
/// multicast destination only for packet too big and unrecognized options).
/// `offending` is the packet from its IPv6 header on (at least 40 bytes; quoted up to 1232).
void send_icmpv6_error(stack::impl& s, bytes offending, wire::icmpv6_type type, std::uint8_t code, std::uint32_t rest,
                       instant t, bool allow_multicast = false);

// --- reassembly6.cpp ---
/// Adds one fragment; delivers the datagram when complete.
void reassemble6(stack::impl& s, const wire::ipv6_view& ip, const wire::ipv6_fragment& f, bytes data, instant t);
void reassembly6_poll(stack::impl& s, instant t);
std::optional<instant> reassembly6_deadline(const stack::impl& s);

}  // namespace tapstack
